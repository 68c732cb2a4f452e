//! JSON logs for CloudWatch: one object per line, carrying the request id of the invocation.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global JSON subscriber. The Lambda runtime opens a span with `requestId`
/// around every invocation, and the span list puts it on every line logged inside it.
/// The level comes from `AWS_LAMBDA_LOG_LEVEL`, then `RUST_LOG`, then `info`.
pub fn init() {
    // A second call (tests, local runner) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stdout));
}

/// The subscriber `init` installs, writing to `writer`.
pub fn json_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned())
        .to_lowercase();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(level))
        .with_target(false)
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_inside_an_invocation_carry_its_request_id_as_json() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = json_subscriber(move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("Lambda runtime invoke", requestId = "req-42");
            let _guard = span.enter();
            let inner = tracing::info_span!("migrate");
            let _inner = inner.enter();
            tracing::info!(applied = 3, "Migrations applied");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "Migrations applied");
        assert_eq!(line["applied"], 3);
        assert_eq!(line["spans"][0]["requestId"], "req-42");
        assert_eq!(line["level"], "INFO");
    }
}
