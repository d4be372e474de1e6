//! Who is calling and whether they may: Hawk (header or bewit) through the configured verifier, then the
//! endpoint's scope expression, with the parameters of this call filled in.

use actix_web::{HttpMessage as _, HttpRequest};
use hooks_core::auth::{AuthError, Caller, Request, ScopeExpression, host_and_port};

use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::{AppState, internal};

/// The port a `Host` header without one addresses.
const HTTP_PORT: u16 = 80;

/// Each endpoint's scope template, parsed once at start-up.
pub struct EndpointScopes {
    /// listHookGroups.
    pub list_hook_groups: ScopeExpression,
    /// listHooks.
    pub list_hooks: ScopeExpression,
    /// hook.
    pub hook: ScopeExpression,
    /// getHookStatus.
    pub status: ScopeExpression,
    /// createHook and updateHook: nobody defines a hook more powerful than themselves.
    pub modify: ScopeExpression,
    /// removeHook.
    pub remove: ScopeExpression,
    /// triggerHook.
    pub trigger: ScopeExpression,
    /// getTriggerToken.
    pub get_token: ScopeExpression,
    /// resetTriggerToken.
    pub reset_token: ScopeExpression,
    /// listLastFires.
    pub last_fires: ScopeExpression,
}

impl EndpointScopes {
    /// The templates of the reference's endpoint table.
    pub fn new() -> Result<Self, hooks_core::ValidationError> {
        let one = ScopeExpression::scope;
        Ok(Self {
            list_hook_groups: one("hooks:list-hooks:")?,
            list_hooks: one("hooks:list-hooks:<hookGroupId>")?,
            hook: one("hooks:get:<hookGroupId>:<hookId>")?,
            status: one("hooks:status:<hookGroupId>/<hookId>")?,
            modify: ScopeExpression::all_of(&[
                "hooks:modify-hook:<hookGroupId>/<hookId>",
                "assume:hook-id:<hookGroupId>/<hookId>",
            ])?,
            remove: one("hooks:modify-hook:<hookGroupId>/<hookId>")?,
            trigger: one("hooks:trigger-hook:<hookGroupId>/<hookId>")?,
            get_token: one("hooks:get-trigger-token:<hookGroupId>/<hookId>")?,
            reset_token: one("hooks:reset-trigger-token:<hookGroupId>/<hookId>")?,
            last_fires: one("hooks:list-last-fires:<hookGroupId>/<hookId>")?,
        })
    }
}

/// The client id to record for `caller` (upstream's placeholder when there is none).
pub fn client_id(caller: &Caller) -> &str {
    caller.client_id().unwrap_or("unknown-clientId")
}

/// Authenticates the request and checks it satisfies `required` (already rendered for this call's parameters).
pub async fn authorize(
    st: &AppState,
    req: &HttpRequest,
    body: &[u8],
    call: &Call,
    required: &ScopeExpression,
) -> Result<Caller, ApiError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let forwarded = |name: &str| if st.trust_proxy { header(name) } else { None };
    // A Host header without a port means the scheme's default port, whatever port this server listens on (it is
    // often behind a Service or proxy that maps 80 to it); the server itself speaks plain HTTP.
    let (host, port) =
        host_and_port(header("host"), forwarded("x-forwarded-port"), forwarded("x-forwarded-proto"), HTTP_PORT)
            .map_err(|e| auth_error(call, e))?;
    let source_ip = req.peer_addr().map(|a| a.ip().to_string());
    let request = Request {
        method: req.method().as_str(),
        path_and_query: req.uri().path_and_query().map_or("/", |p| p.as_str()),
        host: &host,
        port,
        authorization: header("authorization"),
        body: call.hashed_body(body),
        content_type: header("content-type"),
        source_ip: source_ip.as_deref(),
    };
    let caller = st.verifier.authenticate(&request).await.map_err(|e| auth_error(call, e))?;
    // Kept for `around_call`, which tells the verifier when this call ends in a 5xx.
    req.extensions_mut().insert(caller.clone());
    caller.authorize(required).map_err(|e| call.error(ErrorCode::InsufficientScopes, e.to_string()))?;
    Ok(caller)
}

fn auth_error(call: &Call, e: AuthError) -> ApiError {
    match e {
        // A Hawk failure, so the answer carries Hawk's challenge.
        AuthError::Failed(message) => {
            ApiError { hawk_challenge: true, ..call.error(ErrorCode::AuthenticationFailed, message) }
        }
        AuthError::Unavailable(message) => internal(call, &message),
    }
}
