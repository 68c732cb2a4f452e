//! A chat turn from checked request to stored answer: sources first, then each speaker
//! (a model, or personas in turn) streamed through the relay, then the question, the
//! answers and their usage stored before the stream closes.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::conversations::{self, Answer, UserTurn};
use super::rag::Retrieved;
use super::relay::{Relayed, relay};
use super::request::ChatTurn;
use super::resilience::Fallback;
use super::ui_stream::UiChunk;
use crate::auth::Caller;
use crate::data_api::{DataApi, Decimal};
use crate::error::AppError;
use crate::models::AiModel;
use crate::ports::chat::{ChatRequest, FinishReason, ReasoningEffort, Usage};

/// One voice in the answer: a model (with its fallbacks), with a persona's name and prompt
/// when it has one.
#[derive(Clone)]
pub struct Speaker {
    pub model: Arc<Fallback>,
    /// The `ai_models` rows of the model and its fallbacks, in the fallback's order (for
    /// prices and the ledger).
    pub models: Vec<AiModel>,
    /// The `ai_models` row asked for.
    pub ai_model_id: Uuid,
    /// The provider's model id (`gpt-4o-mini`).
    pub model_name: String,
    pub persona: Option<Persona>,
    pub system: Option<String>,
    pub max_output_tokens: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Persona {
    pub id: Uuid,
    pub name: String,
    pub system_prompt: String,
    pub model_id: Option<Uuid>,
}

/// The caller's team's active personas among `ids`, in the order asked; any other id is
/// refused (another team's persona reads as absent).
pub async fn personas(
    db: &DataApi,
    caller: &Caller,
    ids: &[Uuid],
) -> Result<Vec<Persona>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<Persona> = db
        .query(
            "SELECT id, name, system_prompt, model_id FROM personas
             WHERE id = ANY(:ids::uuid[]) AND team_id = ANY(:teams::uuid[]) AND active",
            crate::data_api::Params::new()
                .bind(
                    "ids",
                    crate::data_api::TextArray(ids.iter().map(Uuid::to_string).collect()),
                )
                .bind(
                    "teams",
                    crate::data_api::TextArray(caller.teams.iter().map(Uuid::to_string).collect()),
                ),
        )
        .await?;
    ids.iter()
        .map(|id| {
            found
                .iter()
                .find(|p| p.id == *id)
                .cloned()
                .ok_or_else(|| AppError::not_found(format!("No persona {id} in your teams")))
        })
        .collect()
}

/// Records one model call in the usage ledger and returns its cost.
#[async_trait::async_trait]
pub trait Ledger: Send + Sync {
    /// `feature` is `chat`, `compare`, `assistant` or `openai_compat`.
    async fn record(
        &self,
        feature: &'static str,
        caller: &Caller,
        team_id: Uuid,
        speaker: &Speaker,
        relayed: &Relayed,
        request_id: &str,
    ) -> Result<Decimal, AppError>;
}

/// Everything a turn needs once every check has passed.
pub struct PreparedChat {
    pub caller: Caller,
    pub turn: ChatTurn,
    pub conversation_id: Uuid,
    pub team_id: Uuid,
    pub title: String,
    pub retrieved: Retrieved,
    pub speakers: Vec<Speaker>,
    pub request_id: String,
    pub reasoning_effort: Option<ReasoningEffort>,
}

/// Streams the turn to `out` and stores it. Storage runs beside the stream and finishes
/// before `run` returns (the stream closes after), so nothing is lost and the first token
/// never waits for a write.
pub async fn run(
    db: &DataApi,
    ledger: &dyn Ledger,
    chat: PreparedChat,
    out: mpsc::Sender<UiChunk>,
) {
    let message_id = Uuid::new_v4().to_string();
    let _ = out
        .send(UiChunk::Start {
            message_id: message_id.clone(),
            message_metadata: Some(json!({ "conversationId": chat.conversation_id })),
        })
        .await;
    let question_parts = Value::Array(chat.turn.question_message.parts.clone());
    let question = async {
        if chat.turn.body.temporary {
            return Ok(());
        }
        let first = chat.speakers.first();
        conversations::record_question(
            db,
            &chat.caller,
            &UserTurn {
                conversation_id: chat.conversation_id,
                team_id: chat.team_id,
                title: chat.title.clone(),
                model_id: first.map(|s| s.ai_model_id).unwrap_or_default(),
                persona_id: first.and_then(|s| s.persona.as_ref().map(|p| p.id)),
                repository_ids: &chat.turn.body.repository_ids,
                client_message_id: &chat.turn.question_message.id,
                parts: &question_parts,
            },
        )
        .await
    };
    let answers = async {
        for citation in &chat.retrieved.citations {
            let _ = out.send(UiChunk::source(citation)).await;
        }
        let mut answers = Vec::new();
        for (index, speaker) in chat.speakers.iter().enumerate() {
            if let Some(persona) = &speaker.persona {
                let _ = out
                    .send(UiChunk::data(
                        "persona",
                        json!({"personaId": persona.id, "name": persona.name, "modelId": speaker.model_name}),
                    ))
                    .await;
            }
            let _ = out.send(UiChunk::StartStep).await;
            let request = ChatRequest {
                model: speaker.model_name.clone(),
                system: chat.retrieved.system_prompt(speaker.system.as_deref()),
                messages: chat.turn.history.clone(),
                max_output_tokens: speaker.max_output_tokens,
                temperature: None,
                reasoning_effort: chat.reasoning_effort,
            };
            let relayed = relay(
                speaker.model.as_ref(),
                request,
                &format!("{message_id}-{index}"),
                &out,
            )
            .await;
            if let Some(error) = &relayed.error {
                tracing::warn!(model = %speaker.model_name, error = %error, "The model call failed");
                let _ = out
                    .send(UiChunk::Error {
                        error_text: format!("{} could not answer: {error}", speaker.model_name),
                    })
                    .await;
            }
            let _ = out.send(UiChunk::FinishStep).await;
            answers.push(relayed);
        }
        answers
    };
    // The model call first: its request leaves before the question's write is built and
    // signed (one thread serves both), so storing never delays the first token.
    let (answers, stored) = tokio::join!(answers, question);
    let mut total = Usage::default();
    let mut finish = FinishReason::Stop;
    for (index, (speaker, relayed)) in chat.speakers.iter().zip(&answers).enumerate() {
        total.add(relayed.usage);
        if relayed.finish != FinishReason::Stop {
            finish = relayed.finish;
        }
        if let Err(error) = store_answer(
            db,
            ledger,
            &chat,
            &message_id,
            index,
            speaker,
            relayed,
            stored.is_ok(),
        )
        .await
        {
            tracing::error!(error = %error, "The answer could not be stored");
        }
    }
    if let Err(error) = &stored {
        tracing::error!(error = %error, "The question could not be stored");
    }
    let _ = out
        .send(UiChunk::finish(
            finish,
            Some(json!({ "conversationId": chat.conversation_id, "usage": total })),
        ))
        .await;
}

#[allow(clippy::too_many_arguments)]
async fn store_answer(
    db: &DataApi,
    ledger: &dyn Ledger,
    chat: &PreparedChat,
    message_id: &str,
    index: usize,
    speaker: &Speaker,
    relayed: &Relayed,
    conversation_stored: bool,
) -> Result<(), AppError> {
    let cost = ledger
        .record(
            "chat",
            &chat.caller,
            chat.team_id,
            speaker,
            relayed,
            &chat.request_id,
        )
        .await?;
    if !conversation_stored || chat.turn.body.temporary {
        return Ok(());
    }
    let parts = Value::Array(relayed.parts());
    let client_message_id = if chat.speakers.len() > 1 {
        format!("{message_id}-{index}")
    } else {
        message_id.to_owned()
    };
    conversations::record_answer(
        db,
        &Answer {
            conversation_id: chat.conversation_id,
            client_message_id: &client_message_id,
            parts: &parts,
            model_id: speaker
                .models
                .get(relayed.answered_by)
                .map_or(speaker.ai_model_id, |m| m.id),
            persona_id: speaker.persona.as_ref().map(|p| p.id),
            usage: relayed.usage,
            cost,
            finish_reason: relayed.finish.as_str(),
            request_id: &chat.request_id,
        },
    )
    .await
}

/// Where speakers come from: the executor configurator's checked model, built into a
/// callable model with its fallbacks.
#[async_trait::async_trait]
pub trait Models: Send + Sync {
    /// The model `model_ref` (an `ai_models` id or provider model id) for `caller`, or
    /// forbidden when the caller's roles do not allow it.
    async fn speaker(&self, caller: &Caller, model_ref: &str) -> Result<Speaker, AppError>;
}

/// Checks a turn and gathers what it needs: the conversation (the caller's own, or a new
/// one), the speakers (the model, or each persona with its own model), and the passages.
pub async fn prepare(
    db: &DataApi,
    models: &dyn Models,
    embedder: &dyn crate::ports::embed::Embedder,
    caller: Caller,
    turn: ChatTurn,
    request_id: String,
) -> Result<PreparedChat, AppError> {
    let body = &turn.body;
    if body.temporary && body.conversation_id.is_some() {
        return Err(AppError::validation(
            "A temporary chat has no conversation: leave out conversationId",
        ));
    }
    // The model check is in memory (the catalogue is cached): a refused model stops the
    // turn before anything else runs. The rest are independent reads, made at once and
    // judged in order.
    let base = models.speaker(&caller, &body.model_id).await?;
    let conversation = async {
        match body.conversation_id {
            Some(id) => {
                let conversation = conversations::require_own(db, &caller, id).await?;
                Ok::<_, AppError>((id, conversation.team_id))
            }
            None => Ok((Uuid::new_v4(), caller.default_team()?)),
        }
    };
    let speakers = async {
        let mut speakers = Vec::new();
        for persona in personas(db, &caller, &body.persona_ids).await? {
            let mut speaker = match persona.model_id {
                Some(model) => models.speaker(&caller, &model.to_string()).await?,
                None => base.clone(),
            };
            speaker.system = Some(match &speaker.system {
                Some(system) => format!("{system}\n\n{}", persona.system_prompt),
                None => persona.system_prompt.clone(),
            });
            speaker.persona = Some(persona);
            speakers.push(speaker);
        }
        Ok::<_, AppError>(speakers)
    };
    let retrieved = super::rag::retrieve(
        db,
        embedder,
        &caller,
        &body.repository_ids,
        &turn.question,
        super::rag::PASSAGE_TOKEN_BUDGET,
    );
    let (conversation, speakers, retrieved) = tokio::join!(conversation, speakers, retrieved);
    let (conversation_id, team_id) = conversation?;
    let mut speakers = speakers?;
    let retrieved = retrieved?;
    if speakers.is_empty() {
        speakers.push(base);
    }
    Ok(PreparedChat {
        title: conversations::title_from(&turn.question),
        reasoning_effort: body.reasoning_effort,
        caller,
        conversation_id,
        team_id,
        retrieved,
        speakers,
        request_id,
        turn,
    })
}
