//! ConverseStream's response body: each event framed by `aws-smithy-eventstream` with the
//! `:event-type`, `:content-type` and `:message-type` headers the SDK's unmarshaller reads,
//! paced by the scripted faults (a slow first event, a connection cut after N deltas).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};

use super::Fault;
use super::converse::{self, Answer, Event};

/// Lets the deltas already written reach the client before the connection is cut.
const FLUSH_BEFORE_CUT: Duration = Duration::from_millis(50);

/// One event as an event-stream frame.
pub fn frame(event: &Event) -> Result<Bytes, aws_smithy_eventstream::error::Error> {
    let message = Message::new(event.payload.to_string().into_bytes())
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String(event.kind.into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("event".into()),
        ));
    let mut buffer = Vec::new();
    aws_smithy_eventstream::frame::write_message_to(&message, &mut buffer)?;
    Ok(Bytes::from(buffer))
}

struct Pacing {
    events: VecDeque<Event>,
    answer: Answer,
    started: Instant,
    first_delay: Duration,
    cut_after: Option<usize>,
    deltas_sent: usize,
    metadata_sent: bool,
}

/// The streaming response for `answer`, shaped by `fault`.
pub fn respond(answer: Answer, fault: Option<Fault>, started: Instant) -> Response {
    let (first_delay, cut_after) = match fault {
        Some(Fault::SlowFirstToken { delay_ms }) => (Duration::from_millis(delay_ms), None),
        Some(Fault::Disconnect { after_deltas }) => (Duration::ZERO, Some(after_deltas)),
        _ => (Duration::ZERO, None),
    };
    let pacing = Pacing {
        events: converse::events(&answer).into(),
        answer,
        started,
        first_delay,
        cut_after,
        deltas_sent: 0,
        metadata_sent: false,
    };
    let body = futures_util::stream::unfold(pacing, |mut p| async move {
        let event = match p.events.pop_front() {
            Some(event) => event,
            None if !p.metadata_sent => {
                p.metadata_sent = true;
                converse::metadata(&p.answer, p.started.elapsed().as_millis() as u64)
            }
            None => return None,
        };
        if event.is_delta() {
            if p.deltas_sent == 0 && !p.first_delay.is_zero() {
                tokio::time::sleep(p.first_delay).await;
            }
            if p.cut_after == Some(p.deltas_sent) {
                tokio::time::sleep(FLUSH_BEFORE_CUT).await;
                p.events.clear();
                p.metadata_sent = true;
                let cut =
                    std::io::Error::new(std::io::ErrorKind::ConnectionReset, "scripted disconnect");
                return Some((Err(cut), p));
            }
            p.deltas_sent += 1;
        }
        let framed = frame(&event).map_err(std::io::Error::other);
        Some((framed, p))
    });
    (
        [
            (
                "content-type",
                "application/vnd.amazon.eventstream".to_owned(),
            ),
            ("x-amzn-requestid", uuid::Uuid::new_v4().to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_decode_with_the_sdk_reader_and_keep_their_headers() {
        let event = Event {
            kind: "contentBlockDelta",
            payload: serde_json::json!({ "contentBlockIndex": 0, "delta": { "text": "Hi" } }),
        };
        let bytes = frame(&event).map_err(|e| e.to_string()).unwrap();
        let message = aws_smithy_eventstream::frame::read_message_from(bytes)
            .map_err(|e| e.to_string())
            .unwrap();
        let header = |name: &str| {
            message
                .headers()
                .iter()
                .find(|h| h.name().as_str() == name)
                .and_then(|h| h.value().as_string().ok())
                .map(|s| s.as_str().to_owned())
        };
        assert_eq!(header(":event-type").as_deref(), Some("contentBlockDelta"));
        assert_eq!(header(":message-type").as_deref(), Some("event"));
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(message.payload()).ok(),
            Some(event.payload)
        );
    }
}
