//! The one error type of the API: every failure is rendered as Taskcluster's error body
//! `{"code", "message", "requestInfo": {"method", "params", "payload", "time"}}` with the upstream status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Value, json};

/// Taskcluster's error codes, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the body is not JSON, or not with the right content type.
    MalformedPayload,
    /// 400: a URL parameter or query-string parameter is invalid.
    InvalidRequestArguments,
    /// 400: the body does not match the endpoint's schema.
    InputValidationError,
    /// 400: the body is well-formed but unusable.
    InputError,
    /// 401: the credentials are wrong.
    AuthenticationFailed,
    /// 403: the credentials lack scopes.
    InsufficientScopes,
    /// 404.
    ResourceNotFound,
    /// 409: a different resource already exists.
    RequestConflict,
    /// 413: the body is over the limit.
    InputTooLarge,
    /// 500.
    InternalServerError,
}

impl ErrorCode {
    /// The code as Taskcluster writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedPayload => "MalformedPayload",
            Self::InvalidRequestArguments => "InvalidRequestArguments",
            Self::InputValidationError => "InputValidationError",
            Self::InputError => "InputError",
            Self::AuthenticationFailed => "AuthenticationFailed",
            Self::InsufficientScopes => "InsufficientScopes",
            Self::ResourceNotFound => "ResourceNotFound",
            Self::RequestConflict => "RequestConflict",
            Self::InputTooLarge => "InputTooLarge",
            Self::InternalServerError => "InternalServerError",
        }
    }

    /// The HTTP status Taskcluster answers with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedPayload | Self::InvalidRequestArguments | Self::InputValidationError | Self::InputError => {
                StatusCode::BAD_REQUEST
            }
            Self::AuthenticationFailed => StatusCode::UNAUTHORIZED,
            Self::InsufficientScopes => StatusCode::FORBIDDEN,
            Self::ResourceNotFound => StatusCode::NOT_FOUND,
            Self::RequestConflict => StatusCode::CONFLICT,
            Self::InputTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What the request was, echoed in every error body so a client can tell which call failed.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// The API method's name (`createHook`).
    pub method: &'static str,
    /// The decoded URL parameters.
    pub params: Value,
    /// The request body (`{}` when empty or unparseable).
    pub payload: Value,
}

/// A failed API call.
#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// The Taskcluster error code.
    pub code: ErrorCode,
    /// What is wrong, for the caller.
    pub message: String,
    /// The call it answers.
    pub info: Box<RequestInfo>,
    /// Whether Hawk authentication failed, so the answer carries `www-authenticate: hawk` (a wrong trigger token
    /// is an AuthenticationFailed without it, as upstream).
    pub hawk_challenge: bool,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let time = hooks_core::time::to_json(chrono::Utc::now());
        let (code, status) = (self.code.as_str(), self.code.status().as_u16());
        let message = format!(
            "{}\n\n---\n\n* method:     {}\n* errorCode:  {code}\n* statusCode: {status}\n* time:       {time}",
            self.message, self.info.method
        );
        let mut response = HttpResponse::build(self.code.status());
        if self.hawk_challenge {
            response.insert_header(("www-authenticate", "hawk"));
        }
        response.json(json!({
            "code": code,
            "message": message,
            "requestInfo": {"method": self.info.method, "params": self.info.params, "payload": self.info.payload, "time": time},
        }))
    }
}
