//! Telling a hook's owner that its scheduled fire failed: an email through Taskcluster's notify service, or a
//! log line when no deployment is configured.

use reqwest::Method;
use serde_json::json;

use crate::deployment::{CallError, Deployment, RetryPolicy};

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
#[error("sending email through notify failed: {0}")]
pub struct NotifyError(#[from] CallError);

/// Where failure notices go.
pub enum Notifier {
    /// Taskcluster's notify service, with `authorizedScopes: ["notify:email:*"]`.
    Taskcluster(Deployment),
    /// The log, for the embedded set-up.
    Log,
}

impl Notifier {
    /// The notify service of `deployment`, or the log when none is configured.
    pub fn new(deployment: Option<&Deployment>) -> Self {
        deployment.map_or(Self::Log, |d| Self::Taskcluster(d.clone()))
    }

    /// Sends one email.
    pub async fn email(&self, address: &str, subject: &str, content: &str) -> Result<(), NotifyError> {
        match self {
            Self::Taskcluster(deployment) => {
                let email = json!({"address": address, "subject": subject, "content": content});
                let retry = RetryPolicy::default();
                Ok(deployment
                    .send_json(Method::POST, "api/notify/v1/email", &email, &["notify:email:*"], &retry)
                    .await?)
            }
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
