//! What goes wrong calling the deployment, in Taskcluster's terms: its error body's code and message.

use serde::Deserialize;

/// A deployment that cannot be called with these settings.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// The root URL is not an http(s) URL with a host.
    #[error("{root_url:?} {problem}")]
    RootUrl {
        /// The root URL given.
        root_url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The access token cannot key Hawk signatures.
    #[error("the access token of {client_id} cannot be used to sign requests")]
    AccessToken {
        /// Whose token it is.
        client_id: String,
    },
    /// The HTTP client could not be built (e.g. no usable TLS configuration).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Why a call to the deployment failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The service answered 4xx: the same call would be refused again.
    #[error("answered {status} {code}: {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Taskcluster error code, e.g. `InsufficientScopes`.
        code: String,
        /// The readable part of the service's message.
        message: String,
    },
    /// No answer, a 5xx, or another unusable answer, after the retries.
    #[error("{message}")]
    Unavailable {
        /// HTTP status, when there was an answer.
        status: Option<u16>,
        /// What happened.
        message: String,
    },
}

/// A Taskcluster error body (`{"code": …, "message": …, "requestInfo": …}`); `requestInfo` is left unread.
#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
}

impl CallError {
    /// A 4xx answer: code and message from the error body, else from `described` (reqwest's words).
    pub(super) fn rejected(status: u16, body: &[u8], described: String) -> Self {
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
        let (code, message) = parsed.map_or((None, None), |b| (b.code, b.message));
        let (message, trailer_code) = match message {
            Some(message) => split_taskcluster_message(&message),
            None => (described, None),
        };
        let code = code.or(trailer_code).unwrap_or_else(|| default_code(status).to_owned());
        Self::Rejected { status, code, message }
    }

    /// Whether the call is tried again: network errors and 5xx answers.
    pub(super) fn is_retried(&self) -> bool {
        matches!(self, Self::Unavailable { status: None, .. })
            || matches!(self, Self::Unavailable { status: Some(s), .. } if *s >= 500)
    }
}

// Taskcluster error messages end with "\n\n---\n\n* method: …\n* errorCode: X\n…"; keep the readable part and the code.
fn split_taskcluster_message(full: &str) -> (String, Option<String>) {
    let (message, trailer) = full.split_once("\n\n---\n\n").unwrap_or((full, ""));
    let code = trailer
        .lines()
        .find_map(|l| l.trim_start_matches("* ").strip_prefix("errorCode:"))
        .map(|c| c.trim().to_owned());
    (message.trim().to_owned(), code)
}

fn default_code(status: u16) -> &'static str {
    match status {
        401 => "AuthenticationFailed",
        403 => "InsufficientScopes",
        404 => "ResourceNotFound",
        409 => "RequestConflict",
        _ => "InputError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taskcluster_messages_are_split_into_text_and_code() {
        let full = "Client ID x does not have sufficient scopes\n\n---\n\n* method:     createTask\n* errorCode:  InsufficientScopes\n* statusCode: 403\n* time:       2026";
        let (message, code) = split_taskcluster_message(full);
        assert_eq!(message, "Client ID x does not have sufficient scopes");
        assert_eq!(code.as_deref(), Some("InsufficientScopes"));
        assert_eq!(split_taskcluster_message("plain"), ("plain".to_owned(), None));
    }

    #[test]
    fn rejections_take_code_and_message_from_the_error_body() {
        let body = br#"{"code": "InputError", "message": "bad task\n\n---\n\n* errorCode:  Other", "requestInfo": {}}"#;
        let err = CallError::rejected(400, body, "reqwest's words".into());
        assert_eq!(err, CallError::Rejected { status: 400, code: "InputError".into(), message: "bad task".into() });
        // Not a Taskcluster body: reqwest's description, and the status's usual code.
        let err = CallError::rejected(403, b"<html>", "HTTP status client error (403 Forbidden)".into());
        assert_eq!(
            err,
            CallError::Rejected {
                status: 403,
                code: "InsufficientScopes".into(),
                message: "HTTP status client error (403 Forbidden)".into()
            }
        );
    }

    #[test]
    fn only_network_errors_and_5xx_are_retried() {
        let unavailable = |status| CallError::Unavailable { status, message: String::new() };
        assert!(unavailable(None).is_retried());
        assert!(unavailable(Some(503)).is_retried());
        assert!(!unavailable(Some(302)).is_retried());
        assert!(!CallError::rejected(409, b"", String::new()).is_retried());
    }
}
