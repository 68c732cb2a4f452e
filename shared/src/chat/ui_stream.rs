//! The Vercel AI SDK v5 UI message stream: the SSE frames `useChat` reads
//! (`x-vercel-ai-ui-message-stream: v1`), one JSON chunk per `data:` line, `[DONE]` last.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ports::chat::FinishReason;

/// The header that tells the AI SDK client which protocol the body speaks.
pub const PROTOCOL_HEADER: (&str, &str) = ("x-vercel-ai-ui-message-stream", "v1");

/// A cited passage, sent as a `source-document` part.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Citation {
    /// `[n]` in the answer.
    pub number: usize,
    pub item_id: uuid::Uuid,
    pub repository_id: uuid::Uuid,
    pub title: String,
    pub media_type: String,
    pub page: Option<i32>,
    pub heading: Option<String>,
    pub excerpt: String,
    pub score: f64,
}

/// One chunk of the stream; serialized with its `type` tag as the SDK's schema names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum UiChunk {
    #[serde(rename_all = "camelCase")]
    Start {
        message_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_metadata: Option<Value>,
    },
    StartStep,
    TextStart {
        id: String,
    },
    TextDelta {
        id: String,
        delta: String,
    },
    TextEnd {
        id: String,
    },
    ReasoningStart {
        id: String,
    },
    ReasoningDelta {
        id: String,
        delta: String,
    },
    ReasoningEnd {
        id: String,
    },
    #[serde(rename_all = "camelCase")]
    SourceDocument {
        source_id: String,
        media_type: String,
        title: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
        provider_metadata: Value,
    },
    #[serde(rename_all = "camelCase")]
    SourceUrl {
        source_id: String,
        url: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    MessageMetadata {
        message_metadata: Value,
    },
    FinishStep,
    #[serde(rename_all = "camelCase")]
    Finish {
        finish_reason: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_metadata: Option<Value>,
    },
    #[serde(rename_all = "camelCase")]
    Error {
        error_text: String,
    },
    /// A custom `data-<name>` part (persona or model tags, usage).
    #[serde(untagged)]
    Data {
        #[serde(rename = "type")]
        kind: String,
        data: Value,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        transient: bool,
    },
}

impl UiChunk {
    pub fn data(name: &str, data: Value) -> Self {
        Self::Data {
            kind: format!("data-{name}"),
            data,
            transient: false,
        }
    }

    pub fn finish(reason: FinishReason, metadata: Option<Value>) -> Self {
        Self::Finish {
            finish_reason: reason.as_str(),
            message_metadata: metadata,
        }
    }

    /// The `source-document` part for a citation, with where it came from in
    /// `providerMetadata.studio` (item, repository, page, heading, excerpt, score).
    pub fn source(citation: &Citation) -> Self {
        let mut studio = Map::new();
        studio.insert("number".into(), citation.number.into());
        studio.insert("itemId".into(), citation.item_id.to_string().into());
        studio.insert(
            "repositoryId".into(),
            citation.repository_id.to_string().into(),
        );
        if let Some(page) = citation.page {
            studio.insert("page".into(), page.into());
        }
        if let Some(heading) = &citation.heading {
            studio.insert("heading".into(), heading.clone().into());
        }
        studio.insert("excerpt".into(), citation.excerpt.clone().into());
        studio.insert("score".into(), citation.score.into());
        Self::SourceDocument {
            source_id: format!("{}:{}", citation.item_id, citation.number),
            media_type: citation.media_type.clone(),
            title: citation.title.clone(),
            filename: Some(citation.title.clone()),
            provider_metadata: serde_json::json!({ "studio": studio }),
        }
    }

    /// The SSE frame: `data: {json}\n\n`.
    pub fn frame(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","errorText":"the server could not encode a stream part"}"#.to_owned()
        });
        format!("data: {json}\n\n")
    }
}

/// The last frame of every stream.
pub const DONE: &str = "data: [DONE]\n\n";

/// An SSE comment: keeps an idle connection alive through proxies; clients ignore it.
pub const HEARTBEAT: &str = ": keep-alive\n\n";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_of(chunk: &UiChunk) -> Value {
        let frame = chunk.frame();
        let body = frame
            .strip_prefix("data: ")
            .and_then(|f| f.strip_suffix("\n\n"))
            .unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn chunks_use_the_sdk_type_names_and_camel_case_fields() {
        assert_eq!(
            json_of(&UiChunk::Start {
                message_id: "m1".into(),
                message_metadata: None
            }),
            json!({"type": "start", "messageId": "m1"})
        );
        assert_eq!(
            json_of(&UiChunk::TextDelta {
                id: "t".into(),
                delta: "Hi".into()
            }),
            json!({"type": "text-delta", "id": "t", "delta": "Hi"})
        );
        assert_eq!(json_of(&UiChunk::StartStep), json!({"type": "start-step"}));
        assert_eq!(
            json_of(&UiChunk::finish(FinishReason::ContentFilter, None)),
            json!({"type": "finish", "finishReason": "content-filter"})
        );
        assert_eq!(
            json_of(&UiChunk::Error {
                error_text: "boom".into()
            }),
            json!({"type": "error", "errorText": "boom"})
        );
        assert_eq!(
            json_of(&UiChunk::data("persona", json!({"name": "Ada"}))),
            json!({"type": "data-persona", "data": {"name": "Ada"}})
        );
    }

    #[test]
    fn a_citation_becomes_a_source_document_with_its_page() {
        let citation = Citation {
            number: 2,
            item_id: uuid::Uuid::nil(),
            repository_id: uuid::Uuid::nil(),
            title: "Report.pdf".into(),
            media_type: "application/pdf".into(),
            page: Some(7),
            heading: None,
            excerpt: "Solar output rose".into(),
            score: 0.5,
        };
        let value = json_of(&UiChunk::source(&citation));
        assert_eq!(value["type"], "source-document");
        assert_eq!(value["title"], "Report.pdf");
        assert_eq!(value["mediaType"], "application/pdf");
        assert_eq!(value["providerMetadata"]["studio"]["page"], 7);
        assert_eq!(value["providerMetadata"]["studio"]["number"], 2);
    }
}
