//! The hooks service's core: the hook model and its validation, the JSON-e firing pipeline, the task sinks,
//! Postgres storage, Pulse (AMQP) queues and their reconciliation, secrets at rest, Hawk authentication and
//! scopes, and the settings the three daemons share.
//!
//! The daemons (`hooks-api-server`, `hooks-scheduler`, `hooks-pulse-listener`) are thin: they parse their
//! settings, wire these pieces together and run their own loop. Data flows one way: event → daemon (the event's
//! identity and taskId) → [`Firer`] (render, then [`sink::TaskSink`]) → the daemon records the attempt as a
//! last-fire row (see `fire/mod.rs`).

// One module per concept. Most are private, their items re-exported below where the daemons, tests and tools need
// them, so that the compiler reports what nothing uses; the public ones are namespaces whose items read best
// qualified (`storage::find_hook`, `time::to_json`, `auth::Caller`). Here only (not in [workspace.lints], where the
// daemons' private modules would each need the same care): an item the crate doesn't export is `pub(crate)`.
#![warn(unreachable_pub)]

mod ajv;
pub mod auth;
mod backoff;
pub mod changes;
mod config;
mod cron;
mod crypto;
mod deployment;
mod error;
mod fire;
mod health;
mod hook;
pub mod hook_files;
mod ids;
mod interned;
mod js;
pub mod metrics;
mod notify;
mod ops_server;
pub mod pulse;
pub mod render;
mod secret;
pub mod shutdown;
pub mod sink;
mod slot;
mod storable;
pub mod storage;
pub mod telemetry;
mod template_limits;
pub mod time;
mod trigger_schema;
pub mod webhook;

pub use ajv::{AjvError, ajv_errors, errors_text};
pub use backoff::{Backoff, Delays};
pub use config::{CommonArgs, ConfigError, CryptoArgs, DatabaseArgs, PulseArgs, TaskclusterArgs};
pub use cron::{CronError, CronField, FieldProblem, Schedule, ScheduleError, ScheduleZone, UnknownZone};
pub use crypto::{CryptoError, Keyring};
pub use deployment::{CallError, Deployment, DeploymentError, RetryPolicy};
pub use error::ValidationError;
pub use fire::{
    Accepted, Attempt, CallFires, FireContext, FireError, FireOptions, FireOutcome, FiredBy, Firer, Prepared,
    ReadyDelivery, WebhookDeliveries,
};
pub use health::{Health, HealthReport, version};
pub use hook::{
    Binding, ExchangeDenylist, Hook, HookDefinition, HookInput, HookMetadata, MAX_DEFINITION_BYTES, is_email,
};
pub use ids::{HookGroupId, HookId, HookKey, TaskId};
pub use js::is_truthy;
pub use notify::{Notifier, NotifyError};
pub use ops_server::{OpsArgs, OpsServer};
pub use secret::{SecretString, constant_time_eq};
pub use slot::{CatchUp, CatchUpInput, HookCatchUp, MISSED_AFTER, ScheduleSecret, SlotChoice, slot_to_fire};
pub use template_limits::MAX_EXPRESSION_NESTING;
pub use trigger_schema::{MAX_PAYLOAD_BYTES, PayloadError, TriggerSchema};
