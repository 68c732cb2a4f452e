//! The offline answerer, the local default: no network and no model. It quotes the
//! passages the RAG step put in the system prompt, with their `[n]` markers, and says it
//! is offline.
//!
//! Contract with the prompt builder: each passage starts on its own line as
//! `[n] <title>` or `[n] <title> (page p)`, followed by its text lines; a blank line or the
//! next marker ends the passage's first paragraph, which is what gets quoted.

use async_trait::async_trait;
use futures_util::stream;

use crate::chunk::estimate_tokens;
use crate::ports::chat::{
    ChatEvent, ChatModel, ChatRequest, ChatStream, FinishReason, ProviderError, Role, Usage,
};

/// How many passages an offline answer quotes.
const MAX_QUOTED: usize = 3;
/// A quote stops at the first sentence end after this many characters...
const QUOTE_MIN_CHARS: usize = 60;
/// ...and is cut at this many.
const QUOTE_MAX_CHARS: usize = 280;
const WORDS_PER_DELTA: usize = 4;

pub const OFFLINE_NOTICE: &str = "I am running offline (no language model is configured)";

/// Answers from the passages in the request, without any model.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineChat;

/// A passage found in the system prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub marker: u32,
    pub title: String,
    pub page: Option<u32>,
    pub text: String,
}

/// The passages of a system prompt, in order (see the module docs for the format).
pub fn passages(system: &str) -> Vec<Passage> {
    let mut found: Vec<Passage> = Vec::new();
    let mut open = false;
    for line in system.lines() {
        if let Some(passage) = marker_line(line) {
            found.push(passage);
            open = true;
            continue;
        }
        let Some(current) = found.last_mut().filter(|_| open) else {
            continue;
        };
        let line = line.trim();
        if line.is_empty() {
            open = current.text.is_empty();
        } else {
            if !current.text.is_empty() {
                current.text.push(' ');
            }
            current.text.push_str(line);
        }
    }
    found
}

/// `[n] Title` or `[n] Title (page p)`.
fn marker_line(line: &str) -> Option<Passage> {
    let rest = line.trim_end().strip_prefix('[')?;
    let (number, title) = rest.split_once("] ")?;
    let marker = number.parse::<u32>().ok()?;
    let title = title.trim();
    let (title, page) = match title
        .strip_suffix(')')
        .and_then(|t| t.rsplit_once(" (page "))
        .and_then(|(t, p)| Some((t, p.trim().parse::<u32>().ok()?)))
    {
        Some((t, page)) => (t.trim(), Some(page)),
        None => (title, None),
    };
    (!title.is_empty()).then(|| Passage {
        marker,
        title: title.to_owned(),
        page,
        text: String::new(),
    })
}

/// The first sentence(s) of `text`, about [`QUOTE_MIN_CHARS`]..[`QUOTE_MAX_CHARS`] long.
fn first_sentences(text: &str) -> String {
    let mut end = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if at >= QUOTE_MAX_CHARS {
            break;
        }
        let next_is_space = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        if matches!(c, '.' | '!' | '?') && next_is_space {
            end = Some(at + c.len_utf8());
            if at >= QUOTE_MIN_CHARS {
                break;
            }
        }
    }
    match end {
        Some(end) => text[..end].to_owned(),
        None if text.chars().count() <= QUOTE_MAX_CHARS => text.to_owned(),
        None => {
            let cut: String = text.chars().take(QUOTE_MAX_CHARS).collect();
            let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
            format!("{}…", cut.trim_end())
        }
    }
}

/// The whole offline answer to `request`.
pub fn answer(request: &ChatRequest) -> String {
    let found = passages(request.system.as_deref().unwrap_or_default());
    let quoted: Vec<&Passage> = found
        .iter()
        .filter(|p| !p.text.is_empty())
        .take(MAX_QUOTED)
        .collect();
    if quoted.is_empty() {
        let question = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.trim())
            .unwrap_or_default();
        return format!(
            "{OFFLINE_NOTICE} and no passages were found for your question, so I cannot \
             answer beyond that. You asked: \"{question}\""
        );
    }
    let mut text = format!("{OFFLINE_NOTICE}, so here are the most relevant passages:\n");
    for passage in quoted {
        let source = match passage.page {
            Some(page) => format!("{}, page {page}", passage.title),
            None => passage.title.clone(),
        };
        text.push_str(&format!(
            "\n- \"{}\" [{}] ({source})",
            first_sentences(&passage.text),
            passage.marker
        ));
    }
    text
}

/// `text` in groups of a few words, spaces kept, so it streams like a model's answer.
fn word_groups(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(char::is_whitespace).collect();
    words
        .chunks(WORDS_PER_DELTA)
        .map(|group| group.concat())
        .collect()
}

#[async_trait]
impl ChatModel for OfflineChat {
    fn provider(&self) -> &str {
        "offline"
    }

    async fn stream(&self, request: ChatRequest) -> Result<ChatStream, ProviderError> {
        let text = answer(&request);
        let prompt_tokens = estimate_tokens(request.system.as_deref().unwrap_or_default())
            + request
                .messages
                .iter()
                .map(|m| estimate_tokens(&m.content))
                .sum::<usize>();
        let usage = Usage {
            input_tokens: prompt_tokens.max(1) as u64,
            output_tokens: estimate_tokens(&text).max(1) as u64,
            ..Usage::default()
        };
        let mut events: Vec<Result<ChatEvent, ProviderError>> = word_groups(&text)
            .into_iter()
            .map(|group| Ok(ChatEvent::TextDelta(group)))
            .collect();
        events.push(Ok(ChatEvent::Usage(usage)));
        events.push(Ok(ChatEvent::Finish(FinishReason::Stop)));
        Ok(Box::pin(stream::iter(events)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::chat::{ChatMessage, complete};

    const PROMPT: &str = "Answer from these passages and cite them as [n].

[1] Employee handbook (page 12)
Staff may work from home two days a week. Requests go to the line manager.
Approval is written.

[2] IT policy
Laptops must be encrypted. USB sticks are not allowed.
[3] Holiday rules (page 2)
Holidays are booked in the HR portal, at least two weeks ahead, and approved by the manager before travel is booked.
[4] Canteen
Lunch is served at noon.

Be concise.";

    #[test]
    fn passages_are_read_with_markers_titles_and_pages() {
        let found = passages(PROMPT);
        assert_eq!(found.len(), 4);
        assert_eq!(found[0].marker, 1);
        assert_eq!(found[0].title, "Employee handbook");
        assert_eq!(found[0].page, Some(12));
        assert_eq!(
            found[0].text,
            "Staff may work from home two days a week. Requests go to the line manager. Approval is written."
        );
        assert_eq!(found[1].title, "IT policy");
        assert_eq!(found[1].page, None);
        assert_eq!(found[3].text, "Lunch is served at noon.");
    }

    #[tokio::test]
    async fn the_offline_answer_quotes_up_to_three_passages_with_their_markers() {
        let request = ChatRequest {
            model: "offline".into(),
            system: Some(PROMPT.into()),
            messages: vec![ChatMessage::user("Can I work from home?")],
            ..ChatRequest::default()
        };
        let mut stream = OfflineChat.stream(request.clone()).await.unwrap();
        let mut deltas = 0;
        while let Some(Ok(ChatEvent::TextDelta(_))) =
            futures_util::StreamExt::next(&mut stream).await
        {
            deltas += 1;
        }
        assert!(deltas > 3);

        let done = complete(&OfflineChat, request).await.unwrap();
        assert!(done.text.starts_with(OFFLINE_NOTICE), "{}", done.text);
        assert!(done.text.contains(
            "\"Staff may work from home two days a week. Requests go to the line manager.\" [1] (Employee handbook, page 12)"
        ), "{}", done.text);
        assert!(done.text.contains("[2] (IT policy)"));
        assert!(done.text.contains("[3] (Holiday rules, page 2)"));
        assert!(!done.text.contains("[4]"));
        assert!(done.usage.input_tokens > 0 && done.usage.output_tokens > 0);
        assert_eq!(done.finish_reason, Some(FinishReason::Stop));
    }

    #[tokio::test]
    async fn without_passages_it_says_it_is_offline_and_echoes_the_question() {
        let request = ChatRequest {
            model: "offline".into(),
            system: Some("You are helpful.".into()),
            messages: vec![ChatMessage::user("What is our refund policy?")],
            ..ChatRequest::default()
        };
        let done = complete(&OfflineChat, request).await.unwrap();
        assert!(done.text.starts_with(OFFLINE_NOTICE));
        assert!(done.text.contains("cannot answer"));
        assert!(done.text.contains("\"What is our refund policy?\""));
    }

    #[test]
    fn long_passages_are_cut_at_a_word() {
        let text = "word ".repeat(100);
        let quote = first_sentences(text.trim());
        assert!(quote.ends_with('…'));
        assert!(quote.chars().count() <= QUOTE_MAX_CHARS + 1);
    }
}
