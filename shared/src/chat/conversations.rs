//! Conversations and their messages: created on the first message, owned by one user in
//! one team, listed, read, renamed, archived and deleted only by their owner.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Caller;
use crate::data_api::{DataApi, Decimal, Params, TextArray};
use crate::error::AppError;
use crate::ports::chat::Usage;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Conversation {
    pub id: Uuid,
    pub team_id: Uuid,
    pub title: Option<String>,
    pub model_id: Option<Uuid>,
    pub repository_ids: Vec<Uuid>,
    pub message_count: i32,
    pub total_input_tokens: i64,
    pub total_output_tokens: i64,
    pub total_cached_tokens: i64,
    pub total_reasoning_tokens: i64,
    pub total_cost: Decimal,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Message {
    pub id: Uuid,
    pub client_message_id: Option<String>,
    pub role: String,
    pub parts: Value,
    pub model_id: Option<Uuid>,
    pub persona_id: Option<Uuid>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub cached_tokens: Option<i32>,
    pub reasoning_tokens: Option<i32>,
    pub cost: Option<Decimal>,
    pub finish_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, team_id, title, model_id, repository_ids, message_count, total_input_tokens,
    total_output_tokens, total_cached_tokens, total_reasoning_tokens, total_cost, archived_at, created_at, updated_at";

/// The caller's own conversation, or not found (another user's reads as absent).
pub async fn require_own(
    db: &DataApi,
    caller: &Caller,
    id: Uuid,
) -> Result<Conversation, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM conversations WHERE id = :id AND user_id = :user_id AND team_id = ANY(:teams::uuid[])"
    );
    db.query_opt(&sql, own(caller, id))
        .await?
        .ok_or_else(|| AppError::not_found("No such conversation"))
}

fn own(caller: &Caller, id: Uuid) -> Params {
    Params::new()
        .bind("id", id)
        .bind("user_id", caller.user_id)
        .bind(
            "teams",
            TextArray(caller.teams.iter().map(Uuid::to_string).collect()),
        )
}

/// The caller's conversations, newest first; archived ones only when asked.
pub async fn list(
    db: &DataApi,
    caller: &Caller,
    archived: bool,
) -> Result<Vec<Conversation>, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM conversations
         WHERE user_id = :user_id AND team_id = ANY(:teams::uuid[]) AND (archived_at IS NOT NULL) = :archived
         ORDER BY updated_at DESC, id LIMIT 200"
    );
    Ok(db
        .query(&sql, own(caller, Uuid::nil()).bind("archived", archived))
        .await?)
}

/// A conversation's messages in order, for its owner.
pub async fn messages(db: &DataApi, caller: &Caller, id: Uuid) -> Result<Vec<Message>, AppError> {
    let rows = db
        .query(
            "SELECT m.id, m.client_message_id, m.role, m.parts, m.model_id, m.persona_id, m.input_tokens,
                    m.output_tokens, m.cached_tokens, m.reasoning_tokens, m.cost, m.finish_reason, m.created_at
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE c.id = :id AND c.user_id = :user_id AND c.team_id = ANY(:teams::uuid[])
             ORDER BY m.created_at, m.id",
            own(caller, id),
        )
        .await?;
    if rows.is_empty() {
        // Tell an empty conversation from someone else's.
        require_own(db, caller, id).await?;
    }
    Ok(rows)
}

/// What can change about a conversation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub title: Option<String>,
    pub archived: Option<bool>,
}

pub async fn update(
    db: &DataApi,
    caller: &Caller,
    id: Uuid,
    change: &Change,
) -> Result<Conversation, AppError> {
    if let Some(title) = &change.title
        && (title.trim().is_empty() || title.chars().count() > 200)
    {
        return Err(AppError::validation("A title is 1 to 200 characters"));
    }
    let sql = format!(
        "UPDATE conversations SET title = coalesce(:title, title),
            archived_at = CASE WHEN :archived IS NULL THEN archived_at
                               WHEN :archived THEN coalesce(archived_at, now()) ELSE NULL END,
            updated_at = now()
         WHERE id = :id AND user_id = :user_id AND team_id = ANY(:teams::uuid[])
         RETURNING {COLUMNS}"
    );
    db.query_opt(
        &sql,
        own(caller, id)
            .bind("title", change.title.as_deref().map(str::trim))
            .bind("archived", change.archived),
    )
    .await?
    .ok_or_else(|| AppError::not_found("No such conversation"))
}

pub async fn delete(db: &DataApi, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    let done = db
        .execute(
            "DELETE FROM conversations WHERE id = :id AND user_id = :user_id AND team_id = ANY(:teams::uuid[])",
            own(caller, id),
        )
        .await?;
    if done.rows_updated == 0 {
        return Err(AppError::not_found("No such conversation"));
    }
    Ok(())
}

/// The title a new conversation gets from its first question.
pub fn title_from(question: &str) -> String {
    let line = question
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("New chat");
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut title = String::new();
    for word in words {
        if title.chars().count() + word.chars().count() > 80 {
            title.push('…');
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    title
}

/// The user's side of a turn: the conversation (created when new) and the question.
#[derive(Debug, Clone)]
pub struct UserTurn<'a> {
    pub conversation_id: Uuid,
    pub team_id: Uuid,
    pub title: String,
    pub model_id: Uuid,
    pub persona_id: Option<Uuid>,
    pub repository_ids: &'a [Uuid],
    pub client_message_id: &'a str,
    pub parts: &'a Value,
}

/// Creates the conversation if it is new and stores the question, in one statement; a
/// question sent again (same client message id) is stored once.
pub async fn record_question(
    db: &DataApi,
    caller: &Caller,
    turn: &UserTurn<'_>,
) -> Result<(), AppError> {
    db.execute(
        "WITH conversation AS (
            INSERT INTO conversations (id, team_id, user_id, title, model_id, persona_id, repository_ids)
            VALUES (:id, :team_id, :user_id, :title, :model_id, :persona_id, :repositories::uuid[])
            ON CONFLICT (id) DO UPDATE SET updated_at = now() WHERE conversations.user_id = :user_id
            RETURNING id
         )
         INSERT INTO messages (conversation_id, client_message_id, role, parts)
         SELECT id, nullif(:client_message_id, ''), 'user', :parts FROM conversation
         ON CONFLICT (conversation_id, client_message_id) DO NOTHING",
        Params::new()
            .bind("id", turn.conversation_id)
            .bind("team_id", turn.team_id)
            .bind("user_id", caller.user_id)
            .bind("title", turn.title.as_str())
            .bind("model_id", turn.model_id)
            .bind("persona_id", turn.persona_id)
            .bind(
                "repositories",
                TextArray(turn.repository_ids.iter().map(Uuid::to_string).collect()),
            )
            .bind("client_message_id", turn.client_message_id)
            .bind("parts", turn.parts),
    )
    .await?;
    Ok(())
}

/// One model's answer as it is stored.
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    pub conversation_id: Uuid,
    pub client_message_id: &'a str,
    pub parts: &'a Value,
    pub model_id: Uuid,
    pub persona_id: Option<Uuid>,
    pub usage: Usage,
    pub cost: Decimal,
    pub finish_reason: &'a str,
    pub request_id: &'a str,
}

/// Stores an answer and adds its usage to the conversation's totals, in one statement.
pub async fn record_answer(db: &DataApi, answer: &Answer<'_>) -> Result<(), AppError> {
    let tokens = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    db.execute(
        "WITH answer AS (
            INSERT INTO messages (conversation_id, client_message_id, role, parts, model_id, persona_id,
                input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost, finish_reason, request_id)
            VALUES (:conversation_id, nullif(:client_message_id, ''), 'assistant', :parts, :model_id, :persona_id,
                :input, :output, :cached, :reasoning, :cost, :finish_reason, :request_id)
            ON CONFLICT (conversation_id, client_message_id) DO NOTHING
            RETURNING conversation_id
         )
         UPDATE conversations c SET
            message_count = (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) + 1,
            total_input_tokens = total_input_tokens + :input,
            total_output_tokens = total_output_tokens + :output,
            total_cached_tokens = total_cached_tokens + :cached,
            total_reasoning_tokens = total_reasoning_tokens + :reasoning,
            total_cost = total_cost + :cost,
            updated_at = now()
         FROM answer WHERE c.id = answer.conversation_id",
        Params::new()
            .bind("conversation_id", answer.conversation_id)
            .bind("client_message_id", answer.client_message_id)
            .bind("parts", answer.parts)
            .bind("model_id", answer.model_id)
            .bind("persona_id", answer.persona_id)
            .bind("input", tokens(answer.usage.input_tokens))
            .bind("output", tokens(answer.usage.output_tokens))
            .bind("cached", tokens(answer.usage.cached_input_tokens))
            .bind("reasoning", tokens(answer.usage.reasoning_tokens))
            .bind("cost", answer.cost.clone())
            .bind("finish_reason", answer.finish_reason)
            .bind("request_id", answer.request_id),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line_and_stay_short() {
        assert_eq!(title_from("\n  What is RRF?\nmore"), "What is RRF?");
        let long = "word ".repeat(50);
        let title = title_from(&long);
        assert!(title.chars().count() <= 81, "{title}");
        assert!(title.ends_with('…'));
        assert_eq!(title_from(""), "New chat");
    }
}
