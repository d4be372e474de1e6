//! The hooks v1 HTTP API, wire-compatible with Taskcluster's hooks service.

mod after_call;
mod auth;
mod call;
mod error;
mod routes;
mod settings;
mod startup;
mod state;

pub use settings::Settings;
pub use startup::{Application, run};
