//! What wraps every call, whichever handler answers it: a span (one trace per request, joined to the caller's
//! `x-taskcluster-trace-id`, which goes back as `x-for-trace-id` with an `x-for-request-id`), the verifier hearing
//! of a 5xx (so a client may resend the same signed request), and the Taskcluster error body for a body refused for
//! its size.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, ResponseError as _, web};
use hooks_core::auth::Caller;
use hooks_core::{TaskId, telemetry};
use serde_json::{Map, Value, json};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::error::{ApiError, ErrorCode, RequestInfo};
use crate::state::AppState;

/// The middleware (wrap it with `actix_web::middleware::from_fn`).
pub async fn around_call(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let span = tracing::info_span!("request", otel.name = Empty, http.method = %req.method(), http.status = Empty);
    let incoming = req.headers().get(TRACE_HEADER).and_then(|v| v.to_str().ok());
    let trace_id = match incoming {
        Some(id) if telemetry::join_trace(&span, id) => id.to_owned(),
        _ => telemetry::trace_id(&span).unwrap_or_else(telemetry::new_trace_id),
    };
    let res = next.call(req).instrument(span.clone()).await?;
    let status = res.status();
    let method = crate::routes::api_method(res.request().method(), res.request().match_pattern().as_deref());
    span.record("otel.name", method);
    span.record("http.status", status.as_u16());
    let mut res = answer(res, method)?;
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        headers.insert(HeaderName::from_static("x-for-trace-id"), value);
    }
    if let Ok(value) = HeaderValue::from_str(TaskId::generate().as_str()) {
        headers.insert(HeaderName::from_static("x-for-request-id"), value);
    }
    Ok(res)
}

/// The trace a request belongs to, as Taskcluster services pass it along.
const TRACE_HEADER: &str = "x-taskcluster-trace-id";

fn answer(
    res: ServiceResponse<impl MessageBody + 'static>,
    method: &'static str,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
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
            info: Box::new(RequestInfo { method, params: Value::Object(params), payload: json!({}) }),
            hawk_challenge: false,
        };
        return Ok(res.into_response(error.error_response()));
    }
    Ok(res.map_into_boxed_body())
}
