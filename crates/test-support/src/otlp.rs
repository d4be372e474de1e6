//! A local OTLP/HTTP collector: keeps the raw bodies of the trace exports it receives (`POST /v1/traces`).

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};

/// A running collector; stops with the test process.
pub struct Collector {
    port: u16,
    exports: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Collector {
    /// Starts on a random port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the collector");
        let port = listener.local_addr().expect("the collector's port").port();
        let exports = Arc::new(Mutex::new(Vec::new()));
        let kept = exports.clone();
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let kept = kept.clone();
                    App::new().app_data(web::PayloadConfig::new(16 * 1024 * 1024)).route(
                        "/v1/traces",
                        web::post().to(move |body: web::Bytes| {
                            kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(body.to_vec());
                            async { HttpResponse::Ok().finish() }
                        }),
                    )
                })
                .workers(1)
                .disable_signals()
                .listen(listener)
                .expect("serve the collector")
                .run();
                let _ = server.await;
            });
        });
        Self { port, exports }
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether some export so far contains `bytes` (exports are protobuf: a trace id appears as its 16 raw bytes,
    /// a span name as its UTF-8 text).
    pub fn received(&self, bytes: &[u8]) -> bool {
        let exports = self.exports.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        exports.iter().any(|e| e.windows(bytes.len()).any(|w| w == bytes))
    }
}
