//! What wraps every call, whichever handler answers it: a span (one trace per request, joined to the caller's
//! `x-taskcluster-trace-id`, which goes back verbatim as `x-for-trace-id` with an `x-for-request-id`), and the verifier
//! hearing of a 5xx (so a client may resend the same signed request).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, web};
use hooks_core::auth::Caller;
use hooks_core::{TaskId, telemetry};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::state::AppState;

/// The middleware (wrap it with `actix_web::middleware::from_fn`).
pub async fn around_call(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let span = tracing::info_span!("request", otel.name = Empty, http.method = %req.method(), http.status = Empty);
    let incoming = req
        .headers()
        .get(TRACE_HEADER)
        .filter(|v| !v.is_empty() && v.len() <= MAX_TRACE_ID)
        .and_then(|v| v.to_str().ok());
    let trace_id = match incoming {
        // Upstream echoes whatever the caller sent (uuids, `foo/123`); only a W3C-shaped id joins our trace.
        Some(id) => {
            telemetry::join_trace(&span, id);
            id.to_owned()
        }
        None => telemetry::trace_id(&span).unwrap_or_else(telemetry::new_trace_id),
    };
    let res = next.call(req).instrument(span.clone()).await?;
    let status = res.status();
    let method = crate::routes::api_method(res.request().method(), res.request().match_pattern().as_deref());
    span.record("otel.name", method);
    span.record("http.status", status.as_u16());
    let mut res = answer(res);
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
/// The longest trace id echoed back; a longer one (or one that isn't visible ASCII) is replaced by a fresh id, so a
/// caller can't make every answer carry a header of its choosing and size.
const MAX_TRACE_ID: usize = 256;

/// Tells the verifier when the call ended in a 5xx.
fn answer(res: ServiceResponse<impl MessageBody + 'static>) -> ServiceResponse<BoxBody> {
    if res.status().is_server_error() {
        let request = res.request();
        if let (Some(caller), Some(st)) =
            (request.extensions().get::<Caller>(), request.app_data::<web::Data<AppState>>())
        {
            st.verifier.request_failed(caller);
        }
    }
    res.map_into_boxed_body()
}
