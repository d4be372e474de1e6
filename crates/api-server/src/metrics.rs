//! Request metrics: `http_requests_total{method,status}` and `http_request_duration_seconds{method}`, labelled by
//! the upstream API method name (`triggerHook`, `hook`, ...) rather than the path, so hook ids (unbounded, and
//! sometimes telling) never become label values. Unmatched routes count as `unknown`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, HttpResponse};

use crate::state::AppState;

/// The API method a route serves, from its pattern (as registered in `routes::configure`) and HTTP method.
pub fn api_method(method: &Method, pattern: Option<&str>) -> &'static str {
    let Some(pattern) = pattern else { return "unknown" };
    let route = pattern.strip_prefix(crate::routes::API_PREFIX).unwrap_or(pattern);
    let get = method == Method::GET || method == Method::HEAD;
    match (route, method.as_str()) {
        ("/ping", _) if get => "ping",
        ("/__heartbeat__", _) if get => "heartbeat",
        ("/__lbheartbeat__", _) if get => "lbheartbeat",
        ("/__version__", _) if get => "version",
        ("/metrics", _) if get && pattern == route => "metrics",
        ("/robots.txt", _) if get && pattern == route => "robots",
        ("/hooks", _) if get => "listHookGroups",
        ("/hooks/{hookGroupId}", _) if get => "listHooks",
        ("/hooks/{hookGroupId}/{hookId}", _) if get => "hook",
        ("/hooks/{hookGroupId}/{hookId}", "PUT") => "createHook",
        ("/hooks/{hookGroupId}/{hookId}", "POST") => "updateHook",
        ("/hooks/{hookGroupId}/{hookId}", "DELETE") => "removeHook",
        ("/hooks/{hookGroupId}/{hookId}/status", _) if get => "getHookStatus",
        ("/hooks/{hookGroupId}/{hookId}/trigger", "POST") => "triggerHook",
        ("/hooks/{hookGroupId}/{hookId}/trigger/{token}", "POST") => "triggerHookWithToken",
        ("/hooks/{hookGroupId}/{hookId}/token", _) if get => "getTriggerToken",
        ("/hooks/{hookGroupId}/{hookId}/token", "POST") => "resetTriggerToken",
        ("/hooks/{hookGroupId}/{hookId}/last-fires", _) if get => "listLastFires",
        _ => "unknown",
    }
}

/// Middleware counting and timing every request.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = api_method(req.method(), req.match_pattern().as_deref());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_named_by_api_method() {
        let name = |m: Method, p: &str| api_method(&m, Some(p));
        assert_eq!(name(Method::POST, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}/trigger"), "triggerHook");
        assert_eq!(name(Method::PUT, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "createHook");
        assert_eq!(name(Method::POST, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "updateHook");
        assert_eq!(name(Method::GET, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "hook");
        assert_eq!(name(Method::GET, "/api/hooks/v1/hooks/{hookGroupId}"), "listHooks");
        assert_eq!(name(Method::GET, "/__heartbeat__"), "heartbeat");
        assert_eq!(name(Method::GET, "/metrics"), "metrics");
        assert_eq!(name(Method::GET, "/api/hooks/v1/metrics"), "unknown");
        assert_eq!(name(Method::PATCH, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "unknown");
        assert_eq!(api_method(&Method::GET, None), "unknown");
    }
}
