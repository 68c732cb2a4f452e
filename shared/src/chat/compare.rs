//! Model compare: one prompt, two models answering at once in one stream, each part tagged
//! with its model, usage per side.

use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::relay::relay;
use super::service::{Ledger, Models, Speaker};
use super::ui_stream::UiChunk;
use crate::auth::Caller;
use crate::data_api::DataApi;
use crate::error::AppError;
use crate::ports::chat::{ChatMessage, ChatRequest, FinishReason};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompareBody {
    pub prompt: String,
    pub model_ids: Vec<String>,
    #[serde(default)]
    pub system: Option<String>,
}

pub struct PreparedCompare {
    pub caller: Caller,
    pub team_id: Uuid,
    pub prompt: String,
    pub system: Option<String>,
    pub speakers: Vec<Speaker>,
    pub request_id: String,
}

/// Checks the request and that the caller may use both models.
/// The tool a role must grant to compare models.
pub const COMPARE_TOOL: &str = "model_compare";

pub async fn prepare(
    db: &DataApi,
    models: &dyn Models,
    caller: Caller,
    body: &[u8],
    request_id: String,
) -> Result<PreparedCompare, AppError> {
    // Comparing is a tool of its own (`model_compare`), granted by role.
    crate::auth::require_tool(db, &caller, COMPARE_TOOL).await?;
    let body: CompareBody = serde_json::from_slice(body)
        .map_err(|e| AppError::validation(format!("The compare request is not valid: {e}")))?;
    if body.model_ids.len() != 2 || body.model_ids[0] == body.model_ids[1] {
        return Err(AppError::validation(
            "Compare takes two different models (modelIds)",
        ));
    }
    let prompt = body.prompt.trim().to_owned();
    if prompt.is_empty() || prompt.chars().count() > super::request::MAX_PROMPT_CHARS {
        return Err(AppError::validation(format!(
            "The prompt is 1 to {} characters",
            super::request::MAX_PROMPT_CHARS
        )));
    }
    let mut speakers = Vec::new();
    for model in &body.model_ids {
        speakers.push(models.speaker(&caller, model).await?);
    }
    Ok(PreparedCompare {
        team_id: caller.default_team()?,
        caller,
        prompt,
        system: body.system,
        speakers,
        request_id,
    })
}

/// Streams both answers side by side: every text part's id starts with its side (`a`, `b`)
/// and a `data-model` part names the model of each side; `data-usage` closes each side.
pub async fn run(ledger: &dyn Ledger, compare: PreparedCompare, out: mpsc::Sender<UiChunk>) {
    let _ = out
        .send(UiChunk::Start {
            message_id: Uuid::new_v4().to_string(),
            message_metadata: None,
        })
        .await;
    let sides = compare
        .speakers
        .iter()
        .zip(["a", "b"])
        .map(|(speaker, side)| {
            let out = out.clone();
            let compare = &compare;
            async move {
                let _ = out
                    .send(UiChunk::data(
                        "model",
                        json!({"side": side, "modelId": speaker.model_name}),
                    ))
                    .await;
                let request = ChatRequest {
                    model: speaker.model_name.clone(),
                    system: compare.system.clone().or_else(|| speaker.system.clone()),
                    messages: vec![ChatMessage::user(compare.prompt.clone())],
                    max_output_tokens: speaker.max_output_tokens,
                    temperature: None,
                    reasoning_effort: None,
                };
                let relayed = relay(&speaker.model, request, side, &out).await;
                if let Some(error) = &relayed.error {
                    let _ = out
                        .send(UiChunk::Error {
                            error_text: format!("{} could not answer: {error}", speaker.model_name),
                        })
                        .await;
                }
                let cost = ledger
                    .record(
                        "compare",
                        &compare.caller,
                        compare.team_id,
                        speaker,
                        &relayed,
                        &compare.request_id,
                    )
                    .await;
                let _ = out
                    .send(UiChunk::data(
                        "usage",
                        json!({
                            "side": side,
                            "modelId": speaker.model_name,
                            "usage": relayed.usage,
                            "cost": cost.as_ref().map(|c| c.0.clone()).ok(),
                            "finishReason": relayed.finish.as_str(),
                        }),
                    ))
                    .await;
                relayed.finish
            }
        });
    let finishes = futures_util::future::join_all(sides).await;
    let finish = finishes
        .into_iter()
        .find(|f| *f != FinishReason::Stop)
        .unwrap_or(FinishReason::Stop);
    let _ = out.send(UiChunk::finish(finish, None)).await;
}
