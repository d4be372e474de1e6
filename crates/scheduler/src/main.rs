//! `hooks-scheduler`.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = scheduler::Settings::parse();
    settings.common.log.init();
    scheduler::run(settings).await
}
