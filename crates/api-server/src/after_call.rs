//! What happens after every call, whichever handler answered it: the verifier hears of a 5xx (so a client may resend
//! the same signed request), and a body refused for its size gets the Taskcluster error body of every other error.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, ResponseError as _, web};
use hooks_core::auth::Caller;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ErrorCode, RequestInfo};
use crate::state::AppState;

/// The middleware (wrap it with `actix_web::middleware::from_fn`).
pub async fn after_call(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let status = res.status();
    if status.is_server_error() {
        let request = res.request();
        if let (Some(caller), Some(st)) =
            (request.extensions().get::<Caller>(), request.app_data::<web::Data<AppState>>())
        {
            st.verifier.request_failed(caller);
        }
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        let request = res.request().clone();
        let params: Map<String, Value> =
            request.match_info().iter().map(|(k, v)| (k.to_owned(), Value::String(v.to_owned()))).collect();
        let error = ApiError {
            code: ErrorCode::InputTooLarge,
            message: format!("The request body is larger than the {} MB allowed.", crate::startup::MAX_BODY >> 20),
            info: Box::new(RequestInfo {
                method: api_method(request.method(), request.match_pattern().as_deref()),
                params: Value::Object(params),
                payload: json!({}),
            }),
        };
        return Ok(res.into_response(error.error_response()));
    }
    Ok(res.map_into_boxed_body())
}

/// The API method a request was routed to, by its route pattern (`unknown` when none matched).
pub fn api_method(method: &Method, pattern: Option<&str>) -> &'static str {
    let Some(path) = pattern.and_then(|p| p.strip_prefix(crate::routes::API_PREFIX)) else {
        return "unknown";
    };
    match (method.as_str(), path) {
        ("GET", "/ping") => "ping",
        ("GET", "/hooks") => "listHookGroups",
        ("GET", "/hooks/{hookGroupId}") => "listHooks",
        ("GET", "/hooks/{hookGroupId}/{hookId}") => "hook",
        ("PUT", "/hooks/{hookGroupId}/{hookId}") => "createHook",
        ("POST", "/hooks/{hookGroupId}/{hookId}") => "updateHook",
        ("DELETE", "/hooks/{hookGroupId}/{hookId}") => "removeHook",
        ("GET", "/hooks/{hookGroupId}/{hookId}/status") => "getHookStatus",
        ("POST", "/hooks/{hookGroupId}/{hookId}/trigger") => "triggerHook",
        ("POST", "/hooks/{hookGroupId}/{hookId}/trigger/{token}") => "triggerHookWithToken",
        ("GET", "/hooks/{hookGroupId}/{hookId}/token") => "getTriggerToken",
        ("POST", "/hooks/{hookGroupId}/{hookId}/token") => "resetTriggerToken",
        ("GET", "/hooks/{hookGroupId}/{hookId}/last-fires") => "listLastFires",
        _ => "unknown",
    }
}
