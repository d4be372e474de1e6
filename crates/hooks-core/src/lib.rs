//! The hooks service's core: the hook model and its validation, the JSON-e firing pipeline, the task sinks,
//! Postgres storage, Pulse (AMQP) queues and their reconciliation, secrets at rest, Hawk authentication and
//! scopes, and the settings the three daemons share.
//!
//! The daemons (`hooks-api-server`, `hooks-scheduler`, `hooks-pulse-listener`) are thin: they parse their
//! settings, wire these pieces together and run their own loop. Data flows one way: event → daemon (the event's
//! identity and taskId) → [`fire::Firer`] (render, then [`sink::TaskSink`]) → the daemon records the attempt as a
//! last-fire row (see [`fire`]).

pub mod auth;
pub mod backoff;
pub mod changes;
pub mod config;
pub mod cron;
pub mod crypto;
pub mod deployment;
pub mod error;
pub mod fire;
pub mod health;
pub mod hook;
pub mod hook_files;
pub mod ids;
pub mod js;
pub mod metrics;
pub mod notify;
pub mod ops_server;
pub mod pulse;
pub mod render;
pub mod secret;
pub mod shutdown;
pub mod sink;
pub mod slot;
pub mod storable;
pub mod storage;
pub mod telemetry;
pub mod template_limits;
pub mod time;
pub mod trigger_schema;

pub use error::ValidationError;
pub use fire::{Attempt, CallFires, FireContext, FireError, FireOptions, FireOutcome, FiredBy, Firer, Prepared};
pub use hook::{Binding, ExchangeDenylist, Hook, HookDefinition, HookInput, HookMetadata};
pub use ids::{HookGroupId, HookId, HookKey, TaskId};
pub use secret::SecretString;
