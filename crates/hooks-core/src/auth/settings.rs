//! The api-server's authentication settings: `HOOKS_AUTH` and `HOOKS_STATIC_CLIENTS`.

use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::{RemoteAuth, StaticClients, Verifier};
use crate::config::ConfigError;
use crate::deployment::Deployment;
use crate::{SecretString, ValidationError};

/// Where Hawk signatures are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// Locally, against the clients of `HOOKS_STATIC_CLIENTS`.
    Static,
    /// By the auth service of the deployment at `TASKCLUSTER_ROOT_URL`.
    Remote,
}

/// How the api-server authenticates callers.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// `static`: verify Hawk locally against HOOKS_STATIC_CLIENTS; `remote`: ask the deployment's auth service.
    #[arg(long = "auth", env = "HOOKS_AUTH", value_enum, default_value = "static")]
    pub auth: AuthMode,
    /// JSON list of `{"clientId", "accessToken", "scopes": [...]}` (static mode).
    #[arg(long, env = "HOOKS_STATIC_CLIENTS", hide_env_values = true)]
    pub static_clients: Option<SecretString>,
}

impl AuthArgs {
    /// The verifier these settings describe; `deployment` is `TASKCLUSTER_ROOT_URL`'s, which remote mode needs.
    pub fn verifier(&self, deployment: Option<&Deployment>) -> Result<Arc<dyn Verifier>, ConfigError> {
        match self.auth {
            AuthMode::Static => {
                let clients = match &self.static_clients {
                    Some(json) => StaticClients::from_json(json.expose()),
                    None => StaticClients::new(Vec::new()),
                }
                .map_err(|e| ConfigError::Invalid("HOOKS_STATIC_CLIENTS", describe(e)))?;
                if clients.is_empty() {
                    tracing::warn!("HOOKS_STATIC_CLIENTS lists no clients: only unauthenticated calls will succeed");
                }
                Ok(Arc::new(clients))
            }
            AuthMode::Remote => {
                let deployment = deployment.ok_or(ConfigError::Missing(
                    "TASKCLUSTER_ROOT_URL",
                    "HOOKS_AUTH=remote asks that deployment's auth service to verify callers",
                ))?;
                Ok(Arc::new(RemoteAuth::new(deployment, RemoteAuth::DEFAULT_TIMEOUT)))
            }
        }
    }
}

/// The error without an empty field name in front (the variable's name goes there).
fn describe(e: ValidationError) -> String {
    if e.field.is_empty() { e.problem } else { e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(auth: AuthMode, clients: Option<&str>) -> AuthArgs {
        AuthArgs { auth, static_clients: clients.map(SecretString::new) }
    }

    #[test]
    fn verifier_errors_name_the_variable() {
        let err = args(AuthMode::Static, Some(r#"[{"clientId": "a"}]"#)).verifier(None).err().unwrap();
        assert_eq!(err.to_string(), "HOOKS_STATIC_CLIENTS: [0].accessToken: is required");
        let err = args(AuthMode::Remote, None).verifier(None).err().unwrap();
        assert!(err.to_string().starts_with("TASKCLUSTER_ROOT_URL is not set"), "{err}");
        let err = args(AuthMode::Static, Some("{")).verifier(None).err().unwrap();
        assert!(err.to_string().starts_with("HOOKS_STATIC_CLIENTS: is not valid JSON ("), "{err}");
    }

    #[test]
    fn verifier_builds_both_modes() {
        assert!(args(AuthMode::Static, None).verifier(None).is_ok());
        assert!(args(AuthMode::Static, Some(r#"[{"clientId": "a", "accessToken": "t"}]"#)).verifier(None).is_ok());
        let deployment = Deployment::new("https://tc.example.com", "c", &SecretString::new("t"), 1).unwrap();
        assert!(args(AuthMode::Remote, None).verifier(Some(&deployment)).is_ok());
    }

    #[test]
    fn debug_output_hides_the_static_clients() {
        let a = args(AuthMode::Static, Some(r#"[{"clientId": "a", "accessToken": "sekrit"}]"#));
        assert!(!format!("{a:?}").contains("sekrit"));
    }
}
