//! `hooks-pulse-listener`.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = pulse_listener::Settings::parse();
    let _telemetry = settings.common.log.init("hooks-pulse-listener");
    pulse_listener::run(settings).await
}
