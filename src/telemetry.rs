//! Logging set-up shared by every function (the HTTP ones and the events publisher): JSON lines,
//! with the crates that would log secrets held at `info`.

/// Crates whose debug and trace output carries secrets: `lambda_runtime` and `lambda_http` log
/// the raw event (the `Authorization` header, the body with its passwords), the SDK and its HTTP
/// stack log items (`secretHash`) and requests. They never log below `info`, whatever `RUST_LOG`
/// says.
const SECRET_BEARING_CRATES: [&str; 10] = [
    "lambda_runtime",
    "lambda_http",
    "aws_lambda_events",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_sdk_dynamodb",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
];

/// The log filter: `RUST_LOG` (any filter; `info` when unset or invalid), with the crates that
/// would log secrets capped at `info`.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let mut filter = rust_log
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    for krate in SECRET_BEARING_CRATES {
        if let Ok(directive) = format!("{krate}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Sets up JSON logs once per process; the level comes from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .try_init();
}
