//! The notify service's `email`: authenticated, `notify:email:<address>` required, recorded.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::framework::{ApiError, error_response, parse_body, require_json_content_type};
use super::request::authenticate_request;
use super::scopes::authorize;
use super::{FakeTaskcluster, Shared};

impl FakeTaskcluster {
    /// Bodies of the notify `email` requests that succeeded, in arrival order.
    pub fn emails(&self) -> Vec<Value> {
        self.shared.records().emails.clone()
    }

    /// The next `n` notify email calls (after authentication) answer `status` with a Taskcluster error body of `code`.
    pub fn fail_notify(&self, n: usize, status: u16, code: &str) {
        let mut records = self.shared.records();
        records.notify_failures.extend(std::iter::repeat_n((status, code.to_string()), n));
    }
}

/// `email`: authenticated and checked before the records are locked.
pub(super) async fn email(req: HttpRequest, body: web::Bytes, data: web::Data<Shared>) -> HttpResponse {
    let parsed = parse_body(&body);
    let payload = parsed.as_ref().cloned().unwrap_or_else(|_| json!({}));
    match parsed.and_then(|email| handle_email(&data, &req, &body, email)) {
        Ok(()) => HttpResponse::Ok().json(json!({})),
        Err(err) => error_response("email", json!({}), &payload, &err),
    }
}

fn handle_email(data: &Shared, req: &HttpRequest, body: &[u8], email: Value) -> Result<(), ApiError> {
    require_json_content_type(req)?;
    let caller = authenticate_request(&data.directory(), req, body)?;
    let mut records = data.records();
    if let Some((status, code)) = records.notify_failures.pop_front() {
        return Err(ApiError {
            status,
            message: format!("Injected {code} failure from the fake Taskcluster notify service"),
            code,
        });
    }
    let address = email
        .get("address")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::new(
                "InputValidationError",
                "\nSchema Validation Failed!\nRejecting Schema: notify/v1/email-request.json#\nErrors:\n  * data must have required property 'address'",
            )
        })?;
    authorize(&caller, &json!(format!("notify:email:{address}")))?;
    records.emails.push(email);
    Ok(())
}
