//! Gemini's `models/{model}:streamGenerateContent?alt=sse` (and `:generateContent`) as the
//! mock speaks it: one `GenerateContentResponse` per chunk, a running `usageMetadata` in
//! each, `finishReason` on the last; errors as `{"error": {code, message, status}}`.
//! `candidatesTokenCount` excludes thoughts (`thoughtsTokenCount`), as Gemini reports.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Call, Fault, Frame, Mock, RecordedRequest, error, recorded_headers, sse};

pub(super) async fn generate(
    State(mock): State<Mock>,
    Path(call): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let Some((model, method)) = call.split_once(':') else {
        return google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Method not found.",
            None,
        );
    };
    let streaming = match method {
        "streamGenerateContent" => true,
        "generateContent" => false,
        _ => {
            return google_error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "Method not found.",
                None,
            );
        }
    };
    let query_key = query.as_deref().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("key="))
            .map(str::to_owned)
    });
    let key = headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query_key);
    let sse_asked = query.as_deref().unwrap_or_default().contains("alt=sse");
    let user_text = last_user_text(&body);
    let call = mock.take_call(RecordedRequest {
        api: "gemini",
        path: format!("/v1beta/models/{call}"),
        query,
        model: model.to_owned(),
        headers: recorded_headers(&headers),
        body,
    });
    if !call.authorized(key.as_deref()) {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            Some(
                json!([{ "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                          "reason": "API_KEY_INVALID", "domain": "googleapis.com" }]),
            ),
        );
    }
    match &call.fault {
        Some(Fault::RateLimited { retry_after }) => {
            let delay = retry_after
                .trim()
                .parse::<f64>()
                .ok()
                .map(|s| format!("{s}s"));
            return google_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
                delay.map(|d| {
                    json!([{ "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": d }])
                }),
            );
        }
        Some(Fault::ServerError) => {
            return google_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
                None,
            );
        }
        _ => {}
    }
    let chunks = chunks(&call, model, &user_text);
    if streaming && sse_asked {
        let pause = std::time::Duration::from_millis(call.script.delta_delay_ms);
        let mut frames: Vec<Frame> = chunks
            .into_iter()
            .map(|chunk| Frame {
                delay: pause,
                data: chunk.map(|c| c.to_string()),
            })
            .collect();
        if let Some(first) = frames.first_mut() {
            first.delay += call.first_delay();
        }
        sse(frames)
    } else if streaming {
        // Without `alt=sse` Gemini streams one JSON array; the mock sends it whole.
        axum::Json(Value::Array(chunks.into_iter().flatten().collect())).into_response()
    } else {
        axum::Json(chunks.into_iter().flatten().last().unwrap_or_default()).into_response()
    }
}

fn google_error(status: StatusCode, name: &str, message: &str, details: Option<Value>) -> Response {
    let mut body =
        json!({ "error": { "code": status.as_u16(), "message": message, "status": name } });
    if let Some(details) = details {
        body["error"]["details"] = details;
    }
    error(status, &[], body)
}

fn last_user_text(body: &Value) -> String {
    body["contents"]
        .as_array()
        .and_then(|all| all.iter().rev().find(|c| c["role"] == "user"))
        .and_then(|content| content["parts"].as_array())
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("")
        })
        .unwrap_or_default()
}

fn finish_reason(openai: &str) -> &'static str {
    match openai {
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        _ => "STOP",
    }
}

/// The response chunks; `None` where the connection drops.
fn chunks(call: &Call, model: &str, user_text: &str) -> Vec<Option<Value>> {
    let u = call.script.usage;
    let running = json!({ "promptTokenCount": u.input, "totalTokenCount": u.input });
    let mut last_usage = json!({
        "promptTokenCount": u.input,
        "candidatesTokenCount": u.output.saturating_sub(u.reasoning),
        "totalTokenCount": u.input + u.output,
        "promptTokensDetails": [{ "modality": "TEXT", "tokenCount": u.input }],
    });
    if u.cached > 0 {
        last_usage["cachedContentTokenCount"] = json!(u.cached);
    }
    if u.reasoning > 0 {
        last_usage["thoughtsTokenCount"] = json!(u.reasoning);
    }
    let response = |parts: Value, finish: Option<&str>, usage: &Value| {
        let mut candidate = json!({ "content": { "parts": parts, "role": "model" }, "index": 0 });
        if let Some(finish) = finish {
            candidate["finishReason"] = json!(finish);
        }
        json!({
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": model,
            "responseId": "mock-response",
        })
    };
    let mut chunks = Vec::new();
    for piece in super::split_deltas(call.script.reasoning.as_deref().unwrap_or_default()) {
        chunks.push(Some(response(
            json!([{ "text": piece, "thought": true }]),
            None,
            &running,
        )));
    }
    let deltas = call.deltas(user_text);
    let count = deltas.len();
    for (n, piece) in deltas.into_iter().enumerate() {
        if call.cut_after() == Some(n) {
            chunks.push(None);
            return chunks;
        }
        let last = n + 1 == count && call.cut_after().is_none();
        let finish = last.then(|| finish_reason(&call.script.finish_reason));
        let usage = if last { &last_usage } else { &running };
        chunks.push(Some(response(json!([{ "text": piece }]), finish, usage)));
    }
    if call.cut_after().is_some() {
        chunks.push(None);
    } else if count == 0 {
        let finish = finish_reason(&call.script.finish_reason);
        chunks.push(Some(response(
            json!([{ "text": "" }]),
            Some(finish),
            &last_usage,
        )));
    }
    chunks
}
