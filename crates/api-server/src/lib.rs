//! The hooks v1 HTTP API, wire-compatible with Taskcluster's hooks service.

mod auth;
mod call;
mod error;
mod metrics;
mod routes;
mod settings;
mod startup;
mod state;

pub use settings::Settings;
pub use startup::{Application, run};
