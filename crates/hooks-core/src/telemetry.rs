//! Logs and traces, set up the same way by every daemon.
//!
//! Logs go to stderr as text or JSON (`HOOKS_LOG_FORMAT`), filtered by `RUST_LOG`. Traces are exported with
//! OpenTelemetry over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter reads the other standard
//! `OTEL_*` variables itself) and cost nothing otherwise: every `tracing` span (a request, a slot, a message, and
//! within them render, task creation and database calls) becomes an OpenTelemetry span.

use clap::{Args, ValueEnum};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The variable that switches trace export on.
const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Logging flags.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log line format.
    #[arg(long, env = "HOOKS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Keeps trace export running; flushes what is buffered when dropped (at the end of `main`).
#[must_use = "dropping it stops trace export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("flushing traces failed: {e}");
        }
    }
}

impl LogArgs {
    /// Installs the global subscriber for `service` (e.g. `hooks-api-server`); `RUST_LOG` filters (default `info`).
    pub fn init(&self, service: &'static str) -> Telemetry {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let provider = std::env::var_os(OTLP_ENDPOINT_VAR).filter(|v| !v.is_empty()).and_then(|_| {
            match opentelemetry_otlp::SpanExporter::builder().with_http().build() {
                Ok(exporter) => Some(
                    SdkTracerProvider::builder()
                        .with_batch_exporter(exporter)
                        .with_resource(Resource::builder().with_service_name(service).build())
                        .build(),
                ),
                Err(e) => {
                    eprintln!("{OTLP_ENDPOINT_VAR} is set but the OTLP exporter cannot be built: {e}; not tracing");
                    None
                }
            }
        });
        let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
        let fmt = match self.log_format {
            LogFormat::Text => fmt.with_filter(filter).boxed(),
            LogFormat::Json => fmt.json().with_filter(filter).boxed(),
        };
        // Traces do not depend on the log level: this project's spans, at info and above, whatever RUST_LOG says.
        let ours = Targets::new()
            .with_target("hooks_core", Level::INFO)
            .with_target("api_server", Level::INFO)
            .with_target("scheduler", Level::INFO)
            .with_target("pulse_listener", Level::INFO);
        let traces = provider
            .as_ref()
            .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service)).with_filter(ours).boxed());
        // A second init (tests start several daemons in one process) keeps the first subscriber.
        let _ = tracing_subscriber::registry().with(fmt).with(traces).try_init();
        Telemetry { provider }
    }
}

/// Makes `span` part of the trace `trace_id` (32 hex digits, as W3C and `x-taskcluster-trace-id` carry it), when
/// traces are exported. Returns false when `trace_id` is not a valid trace id.
pub fn join_trace(span: &tracing::Span, trace_id: &str) -> bool {
    let Ok(id) = TraceId::from_hex(trace_id) else { return false };
    if id == TraceId::INVALID || trace_id.len() != 32 {
        return false;
    }
    // The caller's span is not known, only its trace: any valid span id stands for it.
    let remote = SpanContext::new(id, SpanId::from(1), TraceFlags::SAMPLED, true, TraceState::default());
    // Fails only when no OpenTelemetry layer is installed, and then there is nothing to join.
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    true
}

/// The trace id of `span` when traces are exported (32 hex digits), else `None`.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let id = context.span().span_context().trace_id();
    (id != TraceId::INVALID).then(|| id.to_string())
}

/// A fresh random trace id (32 hex digits), for a request that brought none while traces are not exported.
pub fn new_trace_id() -> String {
    let mut bytes = [0u8; 16];
    // A trace id is no secret: should the system's generator fail, the zeros still make a well-formed header.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
