//! What is served besides the hooks: monitoring (ping, heartbeats, version), the project's JSON schemas, robots.txt.

use actix_web::HttpResponse;
use actix_web::web::{Data, Path};
use serde_json::json;

use super::not_found;
use crate::state::AppState;

/// One of the project's JSON schemas (`/schemas/hooks/v1/<name>.json`), as written; anything else is the 404 of
/// every unmatched path.
pub(super) async fn schema(file: Path<String>) -> HttpResponse {
    match file.strip_suffix(".json").and_then(crate::schemas::find) {
        Some(text) => HttpResponse::Ok().content_type("application/json").body(text),
        None => not_found().await,
    }
}

pub(super) async fn robots() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("User-Agent: *\nDisallow: /\n")
}

/// `ping`: the process is up.
pub(super) async fn ping(st: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"alive": true, "uptime": st.started.elapsed().as_secs_f64()}))
}

pub(super) async fn empty_object() -> HttpResponse {
    HttpResponse::Ok().json(json!({}))
}

/// `version`: Dockerflow's version object.
pub(super) async fn version() -> HttpResponse {
    HttpResponse::Ok().json(hooks_core::version())
}

/// `heartbeat`: 200 `{}` while the database answers, else 503 naming what is down.
pub(super) async fn heartbeat(st: Data<AppState>) -> HttpResponse {
    let report = st.health.check().await;
    let status = actix_web::http::StatusCode::from_u16(report.status())
        .unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
    HttpResponse::build(status).json(report.body())
}
