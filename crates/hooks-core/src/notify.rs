//! Telling a hook's owner that its scheduled fire failed: an email through Taskcluster's notify service, or a
//! log line when no deployment is configured.

use serde_json::json;
use taskcluster::{ClientBuilder, Credentials, Notify};

use crate::SecretString;

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
#[error("sending email through notify failed: {0}")]
pub struct NotifyError(String);

/// Where failure notices go.
pub enum Notifier {
    /// Taskcluster's notify service, with `authorizedScopes: ["notify:email:*"]`.
    Taskcluster(Box<Notify>),
    /// The log, for the embedded set-up.
    Log,
}

impl Notifier {
    /// A notifier for the deployment at `root_url` with the service's credentials.
    pub fn taskcluster(root_url: &str, client_id: &str, access_token: &SecretString) -> Result<Self, NotifyError> {
        let builder = ClientBuilder::new(root_url)
            .credentials(Credentials::new(client_id, access_token.expose()))
            .authorized_scopes(["notify:email:*"]);
        Notify::new(builder).map(|n| Self::Taskcluster(Box::new(n))).map_err(|e| NotifyError(e.to_string()))
    }

    /// Sends one email.
    pub async fn email(&self, address: &str, subject: &str, content: &str) -> Result<(), NotifyError> {
        match self {
            Self::Taskcluster(notify) => notify
                .email(&json!({"address": address, "subject": subject, "content": content}))
                .await
                .map(|_| ())
                .map_err(|e| NotifyError(format!("{e:#}"))),
            Self::Log => {
                tracing::warn!(
                    address,
                    subject,
                    content,
                    "failure email (logged: no Taskcluster deployment configured)"
                );
                Ok(())
            }
        }
    }
}
