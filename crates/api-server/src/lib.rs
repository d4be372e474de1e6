//! The hooks v1 HTTP API, wire-compatible with Taskcluster's hooks service.

mod routes;
mod settings;
mod startup;

pub use settings::Settings;
pub use startup::{Application, run};
