//! The routes under `/api/hooks/v1`.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::startup::AppState;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/hooks/v1").route("/ping", web::get().to(ping)));
}

/// `ping`: the process is up.
async fn ping(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"alive": true, "uptime": state.started.elapsed().as_secs_f64()}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, test};
    use std::time::Instant;

    #[actix_web::test]
    async fn ping_answers_alive_with_uptime() {
        let state = web::Data::new(AppState { started: Instant::now() });
        let app = test::init_service(App::new().app_data(state).configure(configure)).await;
        let resp: serde_json::Value =
            test::call_and_read_body_json(&app, test::TestRequest::get().uri("/api/hooks/v1/ping").to_request()).await;
        assert_eq!(resp["alive"], true);
        assert!(resp["uptime"].as_f64().unwrap() >= 0.0);
    }
}
