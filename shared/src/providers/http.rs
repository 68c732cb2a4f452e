//! What the HTTP adapters share: one pooled client, the status -> [`ProviderError`] mapping
//! (with `Retry-After`), and turning a server-sent-events response into a [`ChatStream`]
//! through a provider-specific [`Decoder`].

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{StreamExt, stream};
use reqwest::header::HeaderMap;

use crate::ports::chat::{ChatEvent, ChatStream, ProviderError};

/// How long to wait for the first byte, and at most between two bytes of a stream, when
/// [`crate::ports::chat::ProviderSettings::timeout`] says nothing.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// One client for the process, so warm Lambda invocations reuse its connections.
pub(super) fn client() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default()
        })
        .clone()
}

/// Sends `request`, waiting at most `timeout` for the response headers; a non-success
/// status becomes the matching [`ProviderError`].
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<reqwest::Response, ProviderError> {
    let response = tokio::time::timeout(timeout, request.send())
        .await
        .map_err(|_| ProviderError::Timeout(timeout))?
        .map_err(|e| transport_error(&e, timeout))?;
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Ok(response);
    }
    let retry_after = retry_after(response.headers());
    let body = tokio::time::timeout(timeout, response.text())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Err(status_error(status, retry_after, &body))
}

/// The error a provider's HTTP status means, with its own message when the body has one.
pub(super) fn status_error(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> ProviderError {
    let message = error_message(body).unwrap_or_else(|| format!("HTTP {status}"));
    match status {
        429 => ProviderError::RateLimited {
            retry_after: retry_after.or_else(|| google_retry_delay(body)),
            message,
        },
        401 | 403 => ProviderError::Unauthorized { message },
        408 | 500.. => ProviderError::Unavailable { status, message },
        _ => ProviderError::Rejected { message },
    }
}

/// `error.message` of an OpenAI or Google error body (Google sometimes wraps it in an
/// array), else the start of the body when it is short text.
pub(super) fn error_message(body: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    let error = json
        .get("error")
        .or_else(|| json.get(0).and_then(|first| first.get("error")))?;
    let message = match error {
        serde_json::Value::String(message) => message.clone(),
        other => other.get("message")?.as_str()?.to_owned(),
    };
    Some(message.chars().take(500).collect())
}

/// Google puts the wait in `error.details[].retryDelay` ("30s") instead of a header.
fn google_retry_delay(body: &str) -> Option<Duration> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    json["error"]["details"]
        .as_array()?
        .iter()
        .filter_map(|detail| detail.get("retryDelay")?.as_str())
        .find_map(|delay| delay.strip_suffix('s')?.parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(Duration::from_secs_f64)
}

/// `retry-after-ms` (OpenAI), else `Retry-After` as seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    parse_retry_after(header("retry-after")?, chrono::Utc::now())
}

fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (date.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or_default(),
    )
}

fn transport_error(error: &reqwest::Error, timeout: Duration) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Timeout(timeout)
    } else if error.is_connect() {
        ProviderError::Unavailable {
            status: 0,
            message: format!("cannot connect: {error}"),
        }
    } else {
        ProviderError::Stream {
            message: error.to_string(),
        }
    }
}

/// What a decoder makes of one SSE `data` payload.
pub(super) enum Step {
    Continue(Vec<ChatEvent>),
    /// The provider said the answer is complete (OpenAI's `[DONE]`): stop reading.
    Done(Vec<ChatEvent>),
}

/// A provider's SSE payloads -> [`ChatEvent`]s.
pub(super) trait Decoder: Send + 'static {
    fn data(&mut self, data: &str) -> Result<Step, ProviderError>;
    /// The connection closed: the closing events, or an error if the answer was cut off.
    fn end(&mut self) -> Result<Vec<ChatEvent>, ProviderError>;
}

struct State<D> {
    events: std::pin::Pin<
        Box<
            dyn futures_util::Stream<
                    Item = Result<eventsource_stream::Event, EventStreamError<ProviderError>>,
                > + Send,
        >,
    >,
    decoder: D,
    pending: VecDeque<ChatEvent>,
    over: bool,
}

/// Streams the events `decoder` reads from an SSE `response`. A gap longer than `timeout`
/// between two reads ends the stream with [`ProviderError::Timeout`].
pub(super) fn sse_stream<D: Decoder>(
    response: reqwest::Response,
    decoder: D,
    timeout: Duration,
) -> ChatStream {
    let bytes = stream::unfold(Some(response), move |response| async move {
        let mut response = response?;
        match tokio::time::timeout(timeout, response.chunk()).await {
            Err(_) => Some((Err(ProviderError::Timeout(timeout)), None)),
            Ok(Ok(Some(bytes))) => Some((Ok(bytes), Some(response))),
            Ok(Ok(None)) => None,
            Ok(Err(error)) => Some((
                Err(ProviderError::Stream {
                    message: format!("the connection broke: {error}"),
                }),
                None,
            )),
        }
    });
    let state = State {
        events: Box::pin(bytes.eventsource()),
        decoder,
        pending: VecDeque::new(),
        over: false,
    };
    Box::pin(stream::unfold(state, |mut state| async move {
        loop {
            if let Some(event) = state.pending.pop_front() {
                return Some((Ok(event), state));
            }
            if state.over {
                return None;
            }
            let step = match state.events.next().await {
                Some(Ok(event)) if event.data.is_empty() => continue,
                Some(Ok(event)) => state.decoder.data(&event.data),
                Some(Err(EventStreamError::Transport(error))) => Err(error),
                Some(Err(error)) => Err(ProviderError::Stream {
                    message: format!("unreadable event stream: {error}"),
                }),
                None => state.decoder.end().map(Step::Done),
            };
            match step {
                Ok(Step::Continue(events)) => state.pending.extend(events),
                Ok(Step::Done(events)) => {
                    state.pending.extend(events);
                    state.over = true;
                }
                Err(error) => {
                    state.over = true;
                    return Some((Err(error), state));
                }
            }
        }
    }))
}

/// `data` as JSON, or a stream error naming the provider.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(
    provider: &str,
    data: &str,
) -> Result<T, ProviderError> {
    serde_json::from_str(data).map_err(|e| ProviderError::Stream {
        message: format!("{provider} sent an unreadable event: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "20".parse().unwrap());
        headers.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn statuses_map_to_what_a_caller_can_do_about_them() {
        let openai = r#"{"error":{"message":"Invalid model","type":"invalid_request_error"}}"#;
        assert_eq!(
            status_error(404, None, openai),
            ProviderError::Rejected {
                message: "Invalid model".into()
            }
        );
        assert!(matches!(
            status_error(401, None, ""),
            ProviderError::Unauthorized { .. }
        ));
        assert!(matches!(
            status_error(403, None, ""),
            ProviderError::Unauthorized { .. }
        ));
        assert!(matches!(
            status_error(422, None, ""),
            ProviderError::Rejected { .. }
        ));
        assert_eq!(
            status_error(503, None, "overloaded"),
            ProviderError::Unavailable {
                status: 503,
                message: "HTTP 503".into()
            }
        );
        let google = r#"{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED",
            "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}"#;
        assert_eq!(
            status_error(429, None, google),
            ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(12)),
                message: "Resource exhausted".into()
            }
        );
        let wrapped =
            r#"[{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}}]"#;
        assert_eq!(error_message(wrapped).as_deref(), Some("API key not valid"));
    }
}
