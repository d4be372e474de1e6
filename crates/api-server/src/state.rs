//! What every request handler shares.

use std::sync::Arc;
use std::time::Instant;

use hooks_core::metrics::Metrics;
use hooks_core::pulse::HookChangePublisher;
use hooks_core::sink::TaskStates;
use hooks_core::storage::{HookFinder, Pool, PooledConnection};
use hooks_core::{CallFires, ExchangeDenylist, Firer, Health, Keyring, WebhookDeliveries};

use hooks_core::auth::Verifier;

use crate::auth::EndpointScopes;
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::schemas::InputSchemas;

/// Shared by every request handler.
pub struct AppState {
    /// When the process started, for `ping`'s uptime.
    pub started: Instant,
    /// The database.
    pub pool: Pool,
    /// Keys for secrets at rest.
    pub keyring: Arc<Keyring>,
    /// Reads hooks for concurrent requests in shared queries.
    pub hooks: HookFinder,
    /// Renders and creates tasks for triggerHook and webhooks.
    pub firer: Firer,
    /// Records those fires.
    pub call_fires: CallFires,
    /// Fires webhook deliveries once per delivery id.
    pub deliveries: WebhookDeliveries,
    /// The deployment's root URL, when one is configured (where webhook senders deliver).
    pub root_url: Option<String>,
    /// The states of fired tasks, for listLastFires.
    pub task_states: TaskStates,
    /// Exchanges hooks may not bind to.
    pub denylist: ExchangeDenylist,
    /// Verifies Hawk credentials.
    pub verifier: Arc<dyn Verifier>,
    /// Each endpoint's scopes.
    pub scopes: EndpointScopes,
    /// Announces hook changes on the hook-changed exchanges.
    pub changes: HookChangePublisher,
    /// Whether to believe X-Forwarded-Proto/-Port (behind a trusted load balancer).
    pub trust_proxy: bool,
    /// The endpoints' input schemas, compiled.
    pub schemas: InputSchemas,
    /// What `__heartbeat__` checks.
    pub health: Health,
    /// This server's metrics (one server per process, so the process's).
    pub metrics: Metrics,
}

impl AppState {
    /// A database connection, or a 500 for this call.
    pub async fn conn(&self, call: &Call) -> Result<PooledConnection, ApiError> {
        self.pool.get().await.map_err(|e| internal(call, &e))
    }
}

/// A 500 whose details go to the log (with an incident id the caller can quote), not to the caller.
pub fn internal(call: &Call, error: &dyn std::fmt::Display) -> ApiError {
    let incident = slugid_like();
    tracing::error!(incident, method = call.method(), error = %error, "internal error");
    call.error(ErrorCode::InternalServerError, format!("Internal Server Error, incidentId {incident}."))
}

fn slugid_like() -> String {
    hooks_core::TaskId::generate().to_string()
}
