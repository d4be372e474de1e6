//! Roles and scope checks, as the auth service expands roles and the API framework checks scopes (matching
//! itself is hooks-core's, so there is one implementation of Taskcluster's rules).

use std::collections::{BTreeMap, BTreeSet};

use hooks_core::auth::scope_match;
use hooks_core::auth::{Authenticated, InsufficientScopes, Scheme, ScopeExpression};
use serde_json::Value;

use super::framework::ApiError;
use super::request::Caller;

/// Whether the held scope `scope` grants role `role`.
fn grants_role(scope: &str, role: &str) -> bool {
    let assume = format!("assume:{role}");
    if scope_match(scope, &assume) {
        return true;
    }
    // a role whose id ends in `*` is granted to any `assume:` scope matching its prefix
    match assume.strip_suffix('*') {
        Some(prefix) => scope.starts_with(prefix),
        None => false,
    }
}

/// Dedupe, drop scopes covered by another (star) scope, and sort.
fn normalize(scopes: impl IntoIterator<Item = String>) -> Vec<String> {
    let set: BTreeSet<String> = scopes.into_iter().collect();
    let all: Vec<&String> = set.iter().collect();
    set.iter().filter(|s| !all.iter().any(|o| o != s && scope_match(o, s))).cloned().collect()
}

/// Expands `assume:` scopes through the role table until nothing new appears.
pub(super) fn expand_scopes(scopes: &[String], roles: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut seen: BTreeSet<String> = scopes.iter().cloned().collect();
    let mut granted: BTreeSet<&str> = BTreeSet::new();
    loop {
        let mut added = false;
        for (role, role_scopes) in roles {
            if granted.contains(role.as_str()) {
                continue;
            }
            if seen.iter().any(|s| grants_role(s, role)) {
                granted.insert(role);
                for s in role_scopes {
                    added |= seen.insert(s.clone());
                }
            }
        }
        if !added {
            break;
        }
    }
    normalize(seen)
}

/// `scopes` and `assume:anonymous`, expanded.
pub(super) fn with_anonymous(scopes: &[String], roles: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut all = scopes.to_vec();
    all.push("assume:anonymous".to_string());
    expand_scopes(&all, roles)
}

/// Checks `required` (a scope expression in Taskcluster's JSON form) against the caller: 403
/// `InsufficientScopes` with the framework's message when it is not satisfied.
pub(super) fn authorize(caller: &Caller, required: &Value) -> Result<(), ApiError> {
    let expression = ScopeExpression::from_json(required)
        .map_err(|e| ApiError::new("InputValidationError", format!("required scopes are not valid: {e}")))?;
    let caller = match caller {
        Caller::Authenticated { client_id, scopes } => hooks_core::auth::Caller::Client(Authenticated::new(
            client_id.clone(),
            scopes.clone(),
            None,
            Scheme::Header,
        )),
        Caller::Anonymous => hooks_core::auth::Caller::Anonymous,
    };
    caller.authorize(&expression).map_err(|e: InsufficientScopes| ApiError::new("InsufficientScopes", e.to_string()))
}
