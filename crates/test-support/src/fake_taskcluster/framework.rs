//! What the Taskcluster API framework (`libraries/api`) does for every service: error bodies, request bodies and
//! content types, ping and not-found answers.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// An error answer: its status, Taskcluster error code and message.
pub(super) struct ApiError {
    pub(super) status: u16,
    pub(super) code: String,
    pub(super) message: String,
}

impl ApiError {
    /// An error with the status the framework gives `code`.
    pub(super) fn new(code: &str, message: impl Into<String>) -> Self {
        let status = match code {
            "MalformedPayload" | "InvalidRequestArguments" | "InputValidationError" | "InputError" => 400,
            "AuthenticationFailed" => 401,
            "InsufficientScopes" => 403,
            "ResourceNotFound" => 404,
            "RequestConflict" => 409,
            "ResourceExpired" => 410,
            "InputTooLarge" => 413,
            _ => 500,
        };
        ApiError { status, code: code.to_string(), message: message.into() }
    }
}

/// Now, as the services write times.
pub(super) fn now_iso() -> String {
    iso(Utc::now())
}

/// A time as the services write it (RFC 3339, milliseconds, `Z`).
pub(super) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The framework's error body for `err` in answer to `method`, with `www-authenticate` on a 401.
pub(super) fn error_response(method: &str, params: Value, payload: &Value, err: &ApiError) -> HttpResponse {
    let time = now_iso();
    let message = format!(
        "{}\n\n---\n\n* method:     {}\n* errorCode:  {}\n* statusCode: {}\n* time:       {}",
        err.message, method, err.code, err.status, time
    );
    let body = json!({
        "code": err.code,
        "message": message,
        "requestInfo": {
            "method": method,
            "params": params,
            "payload": payload,
            "time": time,
        },
    });
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = HttpResponse::build(status);
    if err.status == 401 {
        resp.insert_header(("www-authenticate", "hawk"));
    }
    resp.json(body)
}

/// A request header as text, if present and printable.
pub(super) fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The request's media type, lower-cased, without parameters (empty if none).
pub(super) fn content_type(req: &HttpRequest) -> String {
    header_str(req, "content-type")
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_lowercase())
        .unwrap_or_default()
}

/// The `ping` of every service.
pub(super) async fn ping() -> HttpResponse {
    HttpResponse::Ok().json(json!({"alive": true, "uptime": 1}))
}

/// Any other path.
pub(super) async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "Not found"}))
}

/// Parses a request body like the API framework: empty is `{}`, otherwise an object or array.
pub(super) fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => Ok(v),
        Ok(_) => Err(ApiError::new("MalformedPayload", "Failed to parse JSON: payload must be an object or an array")),
        Err(e) => Err(ApiError::new("MalformedPayload", format!("Failed to parse JSON: {e}"))),
    }
}

/// Refuses a body that is not declared `application/json`, as the framework does.
pub(super) fn require_json_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    if content_type(req) == "application/json" {
        return Ok(());
    }
    Err(ApiError::new(
        "MalformedPayload",
        format!(
            "Payload must be JSON with content-type: application/json got content-type: {}",
            header_str(req, "content-type").unwrap_or("undefined")
        ),
    ))
}
