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
            let mut frame = match tokio::time::timeout(HEARTBEAT_EVERY, chunks.recv()).await {
                Ok(Some(chunk)) => encode(chunk).unwrap_or_default(),
                Ok(None) => break,
                Err(_) => HEARTBEAT.to_owned(),
            };
            // Chunks already waiting go out in the same write (`text-start` with the first
            // delta, a delta with the step's end): one hop through the runtime and the
            // gateway per burst instead of one per chunk.
            while let Ok(chunk) = chunks.try_recv() {
                if let Some(more) = encode(chunk) {
                    frame.push_str(&more);
                }
            }
            if frame.is_empty() {
                continue;
            }
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

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn frames(mut body: Body) -> Vec<String> {
        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            frames.push(String::from_utf8(data.to_vec()).unwrap());
        }
        frames
    }

    #[tokio::test]
    async fn chunks_that_wait_together_leave_in_one_write_in_order() {
        let (out, chunks) = mpsc::channel(8);
        for text in ["a", "skip", "b", "c"] {
            out.send(text.to_owned()).await.unwrap();
        }
        drop(out);
        let encode: Encode<String> = Box::new(|c| (c != "skip").then(|| format!("data: {c}\n\n")));
        let body = response(&[], chunks, encode, "data: [DONE]\n\n")
            .unwrap()
            .into_body();
        assert_eq!(
            frames(body).await,
            ["data: a\n\ndata: b\n\ndata: c\n\n", "data: [DONE]\n\n"]
        );
    }

    #[tokio::test]
    async fn a_chunk_that_comes_later_is_not_held_back() {
        let (out, chunks) = mpsc::channel(8);
        let body = response(&[], chunks, Box::new(Some), "[DONE]")
            .unwrap()
            .into_body();
        let reader = tokio::spawn(frames(body));
        out.send("first".to_owned()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        out.send("second".to_owned()).await.unwrap();
        drop(out);
        assert_eq!(reader.await.unwrap(), ["first", "second", "[DONE]"]);
    }
}
