//! `hooks-api-server`: the hooks v1 HTTP API.

use clap::Parser as _;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = api_server::Settings::parse();
    let _telemetry = settings.common.log.init("hooks-api-server");
    api_server::main(settings).await
}
