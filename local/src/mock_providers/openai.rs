//! The OpenAI chat completions API as the mock speaks it: streaming chunks (role chunk,
//! deltas, finish chunk, the `include_usage` chunk, `data: [DONE]`) or one JSON object;
//! errors in OpenAI's `{"error": {...}}` shape.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Call, Fault, Frame, Mock, RecordedRequest, error, recorded_headers};

pub(super) async fn openai(
    State(mock): State<Mock>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    answer(
        &mock,
        "openai",
        "/v1/chat/completions".to_owned(),
        query,
        model,
        &headers,
        key,
        body,
    )
}

pub(super) async fn azure(
    State(mock): State<Mock>,
    Path(deployment): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let path = format!("/openai/deployments/{deployment}/chat/completions");
    if !query
        .as_deref()
        .unwrap_or_default()
        .contains("api-version=")
    {
        return error(
            StatusCode::NOT_FOUND,
            &[],
            json!({ "error": { "code": "404", "message": "Resource not found" } }),
        );
    }
    let key = headers
        .get("api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    answer(&mock, "azure", path, query, deployment, &headers, key, body)
}

#[allow(clippy::too_many_arguments)]
fn answer(
    mock: &Mock,
    api: &'static str,
    path: String,
    query: Option<String>,
    model: String,
    headers: &HeaderMap,
    key: Option<String>,
    body: Value,
) -> Response {
    let user_text = last_user_text(&body);
    let call = mock.take_call(RecordedRequest {
        api,
        path,
        query,
        model: model.clone(),
        headers: recorded_headers(headers),
        body: body.clone(),
    });
    if !call.authorized(key.as_deref()) {
        return error(
            StatusCode::UNAUTHORIZED,
            &[],
            json!({ "error": {
                "message": "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error", "param": null, "code": "invalid_api_key" } }),
        );
    }
    match &call.fault {
        Some(Fault::RateLimited { retry_after }) => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                &[("retry-after", retry_after.clone())],
                json!({ "error": {
                    "message": format!("Rate limit reached for {model} on requests per min (RPM). Please try again later."),
                    "type": "requests", "param": null, "code": "rate_limit_exceeded" } }),
            );
        }
        Some(Fault::ServerError) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &[],
                json!({ "error": {
                    "message": "The server had an error while processing your request. Sorry about that!",
                    "type": "server_error", "param": null, "code": null } }),
            );
        }
        _ => {}
    }
    if body["stream"] == true {
        let include_usage = body["stream_options"]["include_usage"] == true;
        super::sse(frames(&call, &model, &user_text, include_usage))
    } else {
        whole(&call, &model, &user_text).into_response()
    }
}

/// The text of the last user message (a string, or text parts).
fn last_user_text(body: &Value) -> String {
    let Some(message) = body["messages"]
        .as_array()
        .and_then(|all| all.iter().rev().find(|m| m["role"] == "user"))
    else {
        return String::new();
    };
    match &message["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn usage(call: &Call) -> Value {
    let u = call.script.usage;
    json!({
        "prompt_tokens": u.input,
        "completion_tokens": u.output,
        "total_tokens": u.input + u.output,
        "prompt_tokens_details": { "cached_tokens": u.cached, "audio_tokens": 0 },
        "completion_tokens_details": {
            "reasoning_tokens": u.reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
        }
    })
}

fn frames(call: &Call, model: &str, user_text: &str, include_usage: bool) -> Vec<Frame> {
    let created = chrono::Utc::now().timestamp();
    let id = format!("chatcmpl-mock{created}");
    let chunk = |delta: Value, finish: Value| {
        let mut chunk = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_mock",
            "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }],
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        Frame::data(chunk.to_string())
    };
    let pause = std::time::Duration::from_millis(call.script.delta_delay_ms);
    let mut frames = vec![chunk(
        json!({ "role": "assistant", "content": "", "refusal": null }),
        Value::Null,
    )];
    frames[0].delay = call.first_delay();
    for piece in super::split_deltas(call.script.reasoning.as_deref().unwrap_or_default()) {
        frames.push(chunk(json!({ "reasoning_content": piece }), Value::Null));
    }
    for (n, piece) in call.deltas(user_text).into_iter().enumerate() {
        if call.cut_after() == Some(n) {
            frames.push(Frame {
                delay: pause,
                data: None,
            });
            return frames;
        }
        let mut frame = chunk(json!({ "content": piece }), Value::Null);
        frame.delay = pause;
        frames.push(frame);
    }
    if call.cut_after().is_some() {
        frames.push(Frame {
            delay: pause,
            data: None,
        });
        return frames;
    }
    frames.push(chunk(json!({}), json!(call.script.finish_reason)));
    if include_usage {
        frames.push(Frame::data(
            json!({
                "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_mock", "choices": [], "usage": usage(call),
            })
            .to_string(),
        ));
    }
    frames.push(Frame::data("[DONE]".to_owned()));
    frames
}

fn whole(call: &Call, model: &str, user_text: &str) -> axum::Json<Value> {
    let created = chrono::Utc::now().timestamp();
    let mut message = json!({
        "role": "assistant",
        "content": call.deltas(user_text).concat(),
        "refusal": null,
    });
    if let Some(reasoning) = &call.script.reasoning {
        message["reasoning_content"] = json!(reasoning);
    }
    axum::Json(json!({
        "id": format!("chatcmpl-mock{created}"),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_mock",
        "choices": [{
            "index": 0, "message": message, "logprobs": null,
            "finish_reason": call.script.finish_reason,
        }],
        "usage": usage(call),
    }))
}
