//! Turns a channel of UI chunks into a streamed HTTP response: SSE frames as they come,
//! a heartbeat while the model is quiet, `[DONE]` last.

use std::time::Duration;

use lambda_http::Response;
use lambda_runtime::streaming::{Body, channel};
use shared::chat::ui_stream::{DONE, HEARTBEAT, PROTOCOL_HEADER, UiChunk};
use tokio::sync::mpsc;

/// A quiet stream gets a comment this often, so proxies keep the connection open.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// How one item is written on the wire (UI message stream, OpenAI chunks, events).
pub type Encode<T = UiChunk> = Box<dyn FnMut(T) -> Option<String> + Send>;

/// The streamed response: `headers` (besides the SSE ones), then every chunk `chunks`
/// yields, encoded by `encode`, then `done`.
pub fn response<T: Send + 'static>(
    headers: &[(&str, String)],
    mut chunks: mpsc::Receiver<T>,
    mut encode: Encode<T>,
    done: &'static str,
) -> Result<Response<Body>, lambda_http::Error> {
    let (mut sender, body) = channel();
    tokio::spawn(async move {
        loop {
            let frame = match tokio::time::timeout(HEARTBEAT_EVERY, chunks.recv()).await {
                Ok(Some(chunk)) => match encode(chunk) {
                    Some(frame) => frame,
                    None => continue,
                },
                Ok(None) => break,
                Err(_) => HEARTBEAT.to_owned(),
            };
            if sender.send_data(frame.into()).await.is_err() {
                // The client went away; the turn still runs to its end and is stored.
                while chunks.recv().await.is_some() {}
                return;
            }
        }
        let _ = sender.send_data(done.into()).await;
    });
    let mut builder = Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .header("x-accel-buffering", "no");
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    Ok(builder.body(body)?)
}

/// The AI SDK's encoding: every chunk as one `data:` frame.
pub fn ui_message_stream() -> Encode {
    Box::new(|chunk| Some(chunk.frame()))
}

/// The header naming the UI message stream protocol.
pub fn protocol_header() -> (&'static str, String) {
    (PROTOCOL_HEADER.0, PROTOCOL_HEADER.1.to_owned())
}

pub const UI_DONE: &str = DONE;
