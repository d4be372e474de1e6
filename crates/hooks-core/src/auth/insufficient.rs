//! The 403 `InsufficientScopes` error and its message, worded exactly as taskcluster-lib-api words it.

use std::fmt;

use super::Caller;
use super::scopes::{ScopeExpression, unsatisfied};

/// A caller lacks the scopes an endpoint requires: the API answers 403 `InsufficientScopes` with this `Display`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InsufficientScopes {
    /// The authenticated clientId, or `None` when the request carried no credentials.
    pub client_id: Option<String>,
    /// The expression the endpoint requires, parameters substituted.
    pub required: ScopeExpression,
    /// What the caller's scopes leave unsatisfied (`removeGivenScopes`); `None` only if nothing is missing.
    pub unsatisfied: Option<ScopeExpression>,
}

impl InsufficientScopes {
    /// The error for `caller` failing `required`.
    pub fn new(caller: &Caller, required: &ScopeExpression) -> Self {
        Self {
            client_id: caller.client_id().map(str::to_owned),
            required: required.clone(),
            unsatisfied: unsatisfied(caller.scopes(), required),
        }
    }
}

impl fmt::Display for InsufficientScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let required = &self.required;
        match &self.client_id {
            Some(client_id) => {
                // The framework renders a missing value as JSON `null`; it can't happen when the check failed.
                let missing = self.unsatisfied.as_ref().map_or_else(|| "null".to_owned(), ToString::to_string);
                write!(
                    f,
                    "Client ID {client_id} does not have sufficient scopes and is missing the following scopes:\n\n\
                     ```\n{missing}\n```\n\n\
                     This request requires the client to satisfy the following scope expression:\n\n\
                     ```\n{required}\n```"
                )
            }
            None => write!(
                f,
                "This request requires Taskcluster credentials that satisfy the following scope expression:\n\n\
                 ```\n{required}\n```"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Authenticated, Scheme};
    use serde_json::json;

    fn client(scopes: &[&str]) -> Caller {
        Caller::Client(Authenticated::new(
            "tester",
            scopes.iter().map(|s| s.to_string()).collect(),
            None,
            Scheme::Header,
        ))
    }

    fn create_hook_scopes() -> ScopeExpression {
        ScopeExpression::from_json(
            &json!({"AllOf": ["hooks:modify-hook:<hookGroupId>/<hookId>", "assume:hook-id:<hookGroupId>/<hookId>"]}),
        )
        .unwrap()
        .render(&[("hookGroupId", "g"), ("hookId", "h")])
    }

    #[test]
    fn message_with_credentials_lists_the_missing_scopes_then_the_expression() {
        let caller = client(&["hooks:modify-hook:g/*"]);
        let err = caller.authorize(&create_hook_scopes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Client ID tester does not have sufficient scopes and is missing the following scopes:\n\
             \n\
             ```\n\
             assume:hook-id:g/h\n\
             ```\n\
             \n\
             This request requires the client to satisfy the following scope expression:\n\
             \n\
             ```\n\
             {\n  \"AllOf\": [\n    \"hooks:modify-hook:g/h\",\n    \"assume:hook-id:g/h\"\n  ]\n}\n\
             ```"
        );
    }

    #[test]
    fn message_with_several_missing_scopes_shows_them_as_all_of() {
        let err = client(&[]).authorize(&create_hook_scopes()).unwrap_err();
        let expected_missing =
            "```\n{\n  \"AllOf\": [\n    \"hooks:modify-hook:g/h\",\n    \"assume:hook-id:g/h\"\n  ]\n}\n```";
        assert!(err.to_string().contains(&format!("missing the following scopes:\n\n{expected_missing}\n\n")), "{err}");
    }

    #[test]
    fn message_without_credentials_names_only_the_expression() {
        let required = ScopeExpression::scope("hooks:list-hooks:").unwrap();
        let err = Caller::Anonymous.authorize(&required).unwrap_err();
        assert_eq!(
            err.to_string(),
            "This request requires Taskcluster credentials that satisfy the following scope expression:\n\
             \n\
             ```\n\
             hooks:list-hooks:\n\
             ```"
        );
        assert_eq!(err.client_id, None);
        assert_eq!(err.unsatisfied, Some(required));
    }

    #[test]
    fn authorize_passes_when_the_scopes_suffice() {
        assert!(client(&["hooks:*", "assume:hook-id:*"]).authorize(&create_hook_scopes()).is_ok());
        assert!(
            client(&["hooks:list-hooks:*"]).authorize(&ScopeExpression::scope("hooks:list-hooks:").unwrap()).is_ok()
        );
        // no credentials means no scopes at all, not even for an empty-prefix scope
        assert!(Caller::Anonymous.authorize(&ScopeExpression::scope("").unwrap()).is_err());
        assert!(Caller::Anonymous.authorize(&ScopeExpression::AllOf(vec![])).is_ok());
    }
}
