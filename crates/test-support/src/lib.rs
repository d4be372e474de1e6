//! Test helpers shared by the workspace's tests: a fresh migrated database per test, and a local server that
//! plays Taskcluster's queue, auth and notify, and the real broker's URL and clean-up.

#![expect(clippy::expect_used, reason = "test helpers fail loudly, saying what broke")]

pub mod broker;
pub mod db;
pub mod docs;
pub mod fake_taskcluster;
pub mod logs;
pub mod otlp;

pub use broker::{BrokerCleanup, eventually};
pub use db::TestDb;
pub use fake_taskcluster::{ClientSpec, CreateTaskRequest, CreatedTask, FakeTaskcluster};
