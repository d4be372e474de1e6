//! Who is calling and whether they may: Hawk (header or bewit) through the configured verifier, then the
//! endpoint's scope expression, with the parameters of this call filled in.

use std::collections::HashMap;

use actix_web::{HttpMessage as _, HttpRequest};
use hooks_core::auth::{AuthError, Caller, Request, ScopeExpression, host_and_port};

use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::routes::Scopes;
use crate::state::{AppState, internal};

/// The port a `Host` header without one addresses.
const HTTP_PORT: u16 = 80;

/// Each API method's scope template (from the endpoint table, `routes::declared_scopes`), parsed once at
/// start-up.
pub struct EndpointScopes(HashMap<&'static str, Required>);

/// What a method requires of its caller.
#[derive(Debug)]
enum Required {
    /// Nothing: anyone, credentials or not.
    Nothing,
    /// Valid credentials, whatever their scopes.
    Credentials,
    /// Scopes satisfying this template, its URL parameters filled in per call.
    Scopes(ScopeExpression),
}

impl EndpointScopes {
    /// Parses the endpoint table's templates.
    pub fn new() -> Result<Self, hooks_core::ValidationError> {
        let mut parsed = HashMap::new();
        for (method, scopes) in crate::routes::declared_scopes() {
            let required = match scopes {
                Scopes::Public => Required::Nothing,
                Scopes::Authenticated => Required::Credentials,
                Scopes::One(scope) => Required::Scopes(ScopeExpression::scope(scope)?),
                Scopes::AllOf(scopes) => Required::Scopes(ScopeExpression::all_of(scopes)?),
                Scopes::AnyOf(scopes) => Required::Scopes(ScopeExpression::any_of(scopes)?),
            };
            parsed.insert(method, required);
        }
        Ok(Self(parsed))
    }

    /// What `call` requires, its URL parameters filled in, or an error naming the method when the table doesn't
    /// declare it: a call is never let through for lack of a declaration.
    fn required(&self, call: &Call) -> Result<Required, String> {
        match self.0.get(call.method()) {
            Some(Required::Scopes(template)) => Ok(Required::Scopes(template.render(&call.params()))),
            Some(Required::Nothing) => Ok(Required::Nothing),
            Some(Required::Credentials) => Ok(Required::Credentials),
            None => Err(format!("no scopes are declared for API method {}", call.method())),
        }
    }
}

/// The client id to record for `caller` (upstream's placeholder when there is none).
pub fn client_id(caller: &Caller) -> &str {
    caller.client_id().unwrap_or("unknown-clientId")
}

/// Authenticates the request and checks it satisfies the scopes its endpoint declares.
pub async fn authorize(st: &AppState, req: &HttpRequest, body: &[u8], call: &Call) -> Result<Caller, ApiError> {
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
    match st.scopes.required(call).map_err(|e| internal(call, &e))? {
        Required::Nothing => {}
        Required::Credentials if matches!(caller, Caller::Anonymous) => {
            let message =
                format!("{} requires Hawk credentials (any client's); the request carried none", call.method());
            return Err(ApiError { hawk_challenge: true, ..call.error(ErrorCode::AuthenticationFailed, message) });
        }
        Required::Credentials => {}
        Required::Scopes(required) => {
            caller.authorize(&required).map_err(|e| call.error(ErrorCode::InsufficientScopes, e.to_string()))?;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_declared_once_and_an_undeclared_one_is_not_public() {
        let scopes = EndpointScopes::new().unwrap();
        let declared = |m: &str| scopes.0.get(m).map(|r| matches!(r, Required::Scopes(_)));
        for m in ["listHookGroups", "listHooks", "hook", "getHookStatus", "createHook", "updateHook", "removeHook"] {
            assert_eq!(declared(m), Some(true), "{m}");
        }
        for m in ["triggerHook", "getTriggerToken", "resetTriggerToken", "listLastFires"] {
            assert_eq!(declared(m), Some(true), "{m}");
        }
        assert_eq!(declared("triggerHookWithToken"), Some(false), "the token is its authentication");
        for m in ["renderHook", "hookSchedule"] {
            assert_eq!(declared(m), Some(true), "{m}");
        }
        assert!(matches!(scopes.0.get("renderDefinition"), Some(Required::Credentials)), "any client, not anyone");
        assert_eq!(declared("unknown"), None, "an unmatched call has no declaration, so authorize refuses it");
    }
}
