//! Request metrics: `http_requests_total{method,status}` and `http_request_duration_seconds{method}`, labelled by
//! the upstream API method name (`triggerHook`, `hook`, ...) rather than the path, so hook ids (unbounded, and
//! sometimes telling) never become label values. Unmatched routes count as `unknown`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, HttpResponse};

use crate::state::AppState;

/// Middleware counting and timing every request.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = crate::routes::api_method(req.method(), req.match_pattern().as_deref());
    let metrics = req.app_data::<Data<AppState>>().map(|st| st.metrics.clone());
    let result = next.call(req).await;
    if let Some(metrics) = metrics {
        let status = match &result {
            Ok(res) => res.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        metrics.http_request(method, status.as_u16(), started.elapsed());
    }
    result
}

/// `GET /metrics`: every metric of the process, unauthenticated (like the Dockerflow routes).
pub async fn serve(st: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type(hooks_core::metrics::CONTENT_TYPE).body(st.metrics.render())
}
