//! `hooks-pulse-listener`.

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = pulse_listener::Settings::parse();
    settings.common.log.init();
    pulse_listener::run(settings).await
}
