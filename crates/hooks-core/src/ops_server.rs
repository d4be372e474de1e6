//! The operations port of the scheduler and the Pulse listener: `GET /metrics`, `/__heartbeat__`,
//! `/__lbheartbeat__` and `/__version__`, off unless `--metrics-listen` is given.
//!
//! Served with hyper's HTTP/1 server, which is already in every binary (reqwest is built on it): a full web
//! framework (actix-web, as in the api-server) would bring a second runtime and its middleware stack into
//! `hooks-core` for four GET routes.

use std::convert::Infallible;
use std::net::SocketAddr;

use clap::Args;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::health::{self, Health};
use crate::metrics::{self, Metrics};

/// The operations port.
#[derive(Debug, Clone, Args)]
pub struct OpsArgs {
    /// Address to serve /metrics, /__heartbeat__, /__lbheartbeat__ and /__version__ on (e.g. `0.0.0.0:9090`);
    /// unset: not served.
    #[arg(long, env = "HOOKS_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
}

impl OpsArgs {
    /// Starts the server when an address is set.
    pub async fn serve(&self, health: Health, metrics: Metrics) -> anyhow::Result<Option<OpsServer>> {
        let Some(addr) = &self.metrics_listen else {
            return Ok(None);
        };
        let server = OpsServer::start(addr, health, metrics)
            .await
            .map_err(|e| anyhow::anyhow!("--metrics-listen / HOOKS_METRICS_LISTEN {addr:?}: {e}"))?;
        tracing::info!(listen = %server.local_addr(), "operations port (metrics, heartbeat) listening");
        Ok(Some(server))
    }
}

/// A running operations server; it stops when dropped.
#[derive(Debug)]
pub struct OpsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for OpsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OpsServer {
    /// Binds `addr` (port 0: any free port) and serves in the background.
    pub async fn start(addr: &str, health: Health, metrics: Metrics) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(accept(listener, health, metrics));
        Ok(Self { addr, task })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn accept(listener: TcpListener, health: Health, metrics: Metrics) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, usually: wait rather than spin.
                tracing::warn!(error = %e, "operations port: cannot accept");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (health, metrics) = (health.clone(), metrics.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let (health, metrics) = (health.clone(), metrics.clone());
                async move { Ok::<_, Infallible>(respond(req, &health, &metrics).await) }
            });
            if let Err(e) =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await
            {
                tracing::debug!(error = %e, "operations port: connection ended");
            }
        });
    }
}

async fn respond(req: Request<Incoming>, health: &Health, metrics: &Metrics) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "application/json", r#"{"error":"Method not allowed"}"#.into());
    }
    match req.uri().path() {
        "/metrics" => reply(StatusCode::OK, metrics::CONTENT_TYPE, metrics.render()),
        "/__lbheartbeat__" => reply(StatusCode::OK, "application/json", "{}".into()),
        "/__version__" => reply(StatusCode::OK, "application/json", health::version().to_string()),
        "/__heartbeat__" => {
            let report = health.check().await;
            let status = StatusCode::from_u16(report.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            reply(status, "application/json", report.body().to_string())
        }
        _ => reply(StatusCode::NOT_FOUND, "application/json", r#"{"error":"Not found"}"#.into()),
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
