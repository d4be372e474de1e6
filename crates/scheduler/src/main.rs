//! `hooks-scheduler`.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = scheduler::Settings::parse();
    let _telemetry = settings.common.log.init("hooks-scheduler");
    scheduler::run(settings).await
}
