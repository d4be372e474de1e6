//! Authentication (Hawk, as Taskcluster speaks it) and authorization (scope expressions) for the API server.
//!
//! A request arrives as a [`Request`]; a [`Verifier`] turns it into a [`Caller`] or an [`AuthError`]:
//!
//! - [`StaticClients`] verifies Hawk locally against clients from `HOOKS_STATIC_CLIENTS`, with the logic of
//!   Taskcluster's auth service (`signaturevalidator.js`): header or bewit, temporary credentials (certificates) and
//!   `authorizedScopes`.
//! - [`RemoteAuth`] asks the deployment's auth service (`POST /api/auth/v1/authenticate-hawk`), as every
//!   Taskcluster service does.
//!
//! Both then do what taskcluster-lib-api does after the signature check: verify the payload hash the header signed
//! against the raw body. Both also refuse a replayed Hawk header (same clientId, nonce and timestamp), which
//! Taskcluster itself does not; see [`Verifier::request_failed`] for the one retry that must stay possible.
//!
//! [`Caller::authorize`] checks a [`ScopeExpression`] (rendered from the endpoint's template with
//! [`ScopeExpression::render`]) and yields the [`InsufficientScopes`] error whose `Display` is the 403 message.
//!
//! Messages of [`AuthError::Failed`] are the ones Taskcluster gives ("Unauthorized: Bad mac"); none carries a token.

mod certificate;
mod hawk;
mod insufficient;
mod remote;
mod replay;
mod scopes;
mod settings;
mod static_clients;

use chrono::{DateTime, Utc};

pub(crate) use self::hawk::TIMESTAMP_SKEW;
pub use self::hawk::host_and_port;
pub use insufficient::InsufficientScopes;
pub use remote::RemoteAuth;
pub use scopes::{Scope, ScopeExpression, is_valid_scope, satisfies, satisfies_scope, scope_match, unsatisfied};
pub use settings::{AuthArgs, AuthMode};
pub use static_clients::{StaticClient, StaticClients};

/// What a verifier needs to know about an incoming request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method as received (`GET`, `post`, ...).
    pub method: &'a str,
    /// The request target exactly as received, path and query, still percent-encoded (Express' `originalUrl`).
    pub path_and_query: &'a str,
    /// The host name the client addressed, without the port (see [`host_and_port`]).
    pub host: &'a str,
    /// The port the client addressed (see [`host_and_port`]).
    pub port: u16,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The raw request body, for the payload hash.
    pub body: &'a [u8],
    /// The `Content-Type` header, if any, for the payload hash.
    pub content_type: Option<&'a str>,
    /// The client's IP address, passed on to the auth service in remote mode.
    pub source_ip: Option<&'a str>,
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The request carried no credentials; it holds no scopes at all.
    Anonymous,
    /// The request was signed with valid credentials.
    Client(Authenticated),
}

impl Caller {
    /// The caller's effective scopes (none for an anonymous caller).
    pub fn scopes(&self) -> &[String] {
        match self {
            Caller::Anonymous => &[],
            Caller::Client(client) => &client.scopes,
        }
    }

    /// The authenticated clientId, if any.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Caller::Anonymous => None,
            Caller::Client(client) => Some(&client.client_id),
        }
    }

    /// Checks that the caller satisfies `required`; the error's `Display` is the 403 `InsufficientScopes` message.
    pub fn authorize(&self, required: &ScopeExpression) -> Result<(), InsufficientScopes> {
        if satisfies(self.scopes(), required) { Ok(()) } else { Err(InsufficientScopes::new(self, required)) }
    }
}

/// How an authenticated request carried its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// A Hawk `Authorization` header.
    Header,
    /// A `bewit` query parameter (a signed URL).
    Bewit,
}

/// A caller whose credentials were verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The clientId the request was signed as (for named temporary credentials, the temporary clientId).
    pub client_id: String,
    /// The effective scopes: the client's (or its certificate's), narrowed by `authorizedScopes` if given.
    pub scopes: Vec<String>,
    /// When the credentials expire, if they do (temporary credentials, clients of the auth service).
    pub expires: Option<DateTime<Utc>>,
    /// Header or bewit.
    pub scheme: Scheme,
    /// The replay-cache entry this request made, so a failed request can release it.
    replay: Option<replay::ReplayKey>,
}

impl Authenticated {
    /// An authenticated caller not tied to any replay-cache entry (for tests and callers outside this module).
    pub fn new(
        client_id: impl Into<String>,
        scopes: Vec<String>,
        expires: Option<DateTime<Utc>>,
        scheme: Scheme,
    ) -> Self {
        Self { client_id: client_id.into(), scopes, expires, scheme, replay: None }
    }
}

/// Why a request's credentials were not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The credentials are invalid: answer 401 `AuthenticationFailed` (with `www-authenticate: hawk`) and this
    /// message, which is the one Taskcluster gives.
    #[error("{0}")]
    Failed(String),
    /// The auth service could not be asked or gave an unusable answer: answer 500; the message is for the log.
    #[error("the auth service could not check the request's credentials: {0}")]
    Unavailable(String),
}

impl AuthError {
    /// A failure worded like a Boom 401 from the hawk library: `Unauthorized: <message>`.
    pub(crate) fn unauthorized(message: &str) -> Self {
        Self::Failed(format!("Unauthorized: {message}"))
    }

    /// A failure worded like a Boom 400 from the hawk library: `Bad Request: <message>`.
    pub(crate) fn bad_request(message: &str) -> Self {
        Self::Failed(format!("Bad Request: {message}"))
    }
}

/// Verifies the credentials of incoming requests.
#[async_trait::async_trait]
pub trait Verifier: Send + Sync {
    /// Authenticates `request`: [`Caller::Anonymous`] when it carries no credentials, the client when they are valid.
    async fn authenticate(&self, request: &Request<'_>) -> Result<Caller, AuthError>;

    /// Tells the verifier the server answered this caller's request with a 5xx error.
    ///
    /// Some clients (the official Rust client among them) retry a 5xx by resending the very same signed request;
    /// without this, the replay protection would refuse the retry as a replayed nonce.
    fn request_failed(&self, caller: &Caller);
}

/// How a request presents credentials, decided as taskcluster-lib-api and the auth service decide it.
#[derive(Debug, PartialEq, Eq)]
enum Presented<'a> {
    /// No `Authorization` header and no `bewit` query parameter.
    Nothing,
    /// A non-empty `Authorization` header.
    Header(&'a str),
    /// A `bewit` query parameter.
    Bewit,
}

impl<'a> Presented<'a> {
    fn of(request: &Request<'a>) -> Result<Self, AuthError> {
        let header = request.authorization.filter(|a| !a.is_empty());
        let bewit = hawk::query_has_bewit(request.path_and_query);
        match (header, bewit) {
            (Some(_), true) => Err(AuthError::Failed(
                // Sic: taskcluster-lib-api's message, doubled "and" included.
                "Cannot use two authentication schemes at once this request has both bewit in querystring and and \
                 'authorization' header"
                    .to_owned(),
            )),
            (Some(header), false) => Ok(Presented::Header(header)),
            (None, true) => Ok(Presented::Bewit),
            (None, false) => Ok(Presented::Nothing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(path_and_query: &'a str, authorization: Option<&'a str>) -> Request<'a> {
        Request {
            method: "GET",
            path_and_query,
            host: "h",
            port: 80,
            authorization,
            body: b"",
            content_type: None,
            source_ip: None,
        }
    }

    #[test]
    fn presented_credentials_are_classified_like_taskcluster() {
        assert_eq!(Presented::of(&request("/a", None)), Ok(Presented::Nothing));
        assert_eq!(Presented::of(&request("/a", Some(""))), Ok(Presented::Nothing));
        assert_eq!(Presented::of(&request("/a", Some("Hawk id=\"x\""))), Ok(Presented::Header("Hawk id=\"x\"")));
        assert_eq!(Presented::of(&request("/a?bewit=abc", None)), Ok(Presented::Bewit));
        // an empty bewit is no bewit, as for Express' parsed query
        assert_eq!(Presented::of(&request("/a?bewit=", None)), Ok(Presented::Nothing));
        let both = Presented::of(&request("/a?x=1&bewit=abc", Some("Hawk id=\"x\""))).unwrap_err();
        assert!(both.to_string().starts_with("Cannot use two authentication schemes at once"), "{both}");
    }

    #[test]
    fn anonymous_callers_hold_no_scopes() {
        assert!(Caller::Anonymous.scopes().is_empty());
        assert_eq!(Caller::Anonymous.client_id(), None);
        let c = Caller::Client(Authenticated::new("c", vec!["a".into()], None, Scheme::Bewit));
        assert_eq!((c.client_id(), c.scopes()), (Some("c"), &["a".to_owned()][..]));
    }
}
