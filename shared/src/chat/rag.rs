//! Retrieval for chat: the user's question searched in the chosen repositories (access
//! checked by search), the best passages fitted into a token budget, given to the model as
//! numbered sources and streamed back as citations.

use uuid::Uuid;

use super::ui_stream::Citation;
use crate::auth::Caller;
use crate::chunk::estimate_tokens;
use crate::data_api::DataApi;
use crate::error::AppError;
use crate::ports::embed::Embedder;
use crate::search::{self, Hit, Mode};

/// Passages take at most this many tokens of the prompt.
pub const PASSAGE_TOKEN_BUDGET: usize = 3_000;
/// Candidates fetched before the budget is applied.
const CANDIDATES: i64 = 8;

/// The passages a question retrieved, numbered as they appear in the prompt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Retrieved {
    pub citations: Vec<Citation>,
    passages: Vec<String>,
}

impl Retrieved {
    pub fn is_empty(&self) -> bool {
        self.citations.is_empty()
    }

    /// The sources block of the system prompt: `[n] title (page p)` then the passage.
    pub fn prompt_block(&self) -> String {
        let mut block = String::new();
        for (citation, passage) in self.citations.iter().zip(&self.passages) {
            block.push_str(&format!("[{}] {}", citation.number, citation.title));
            if let Some(page) = citation.page {
                block.push_str(&format!(" (page {page})"));
            }
            block.push('\n');
            block.push_str(passage.trim());
            block.push_str("\n\n");
        }
        block
    }

    /// `system` with the sources and how to cite them appended.
    pub fn system_prompt(&self, system: Option<&str>) -> Option<String> {
        if self.is_empty() {
            return system.map(str::to_owned);
        }
        let mut prompt = system.map(|s| format!("{s}\n\n")).unwrap_or_default();
        prompt.push_str(
            "Answer from the sources below when they are relevant, and cite them by number \
             like [1]. If the sources do not contain the answer, say so.\n\nSources:\n\n",
        );
        prompt.push_str(&self.prompt_block());
        Some(prompt)
    }
}

/// Searches `repository_ids` for `question` and keeps the best passages within `budget`
/// tokens. No repositories, no search.
pub async fn retrieve(
    db: &DataApi,
    embedder: &dyn Embedder,
    caller: &Caller,
    repository_ids: &[Uuid],
    question: &str,
    budget: usize,
) -> Result<Retrieved, AppError> {
    if repository_ids.is_empty() {
        return Ok(Retrieved::default());
    }
    // Long questions are searched by their beginning (search takes at most 2000 chars).
    let query: String = question.chars().take(2000).collect();
    let hits = search::search(
        db,
        embedder,
        caller,
        repository_ids,
        &query,
        Mode::Hybrid,
        CANDIDATES,
    )
    .await?;
    Ok(fit(hits, budget))
}

fn media_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("pdf") => "application/pdf",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("pptx") => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("csv") => "text/csv",
        Some("md") => "text/markdown",
        Some("html" | "htm") => "text/html",
        Some("json") => "application/json",
        _ => "text/plain",
    }
}

/// The hits, best first, that fit in `budget` tokens, numbered from 1.
fn fit(hits: Vec<Hit>, budget: usize) -> Retrieved {
    let mut retrieved = Retrieved::default();
    let mut used = 0;
    for hit in hits {
        let passage = if hit.content.is_empty() {
            hit.excerpt.clone()
        } else {
            hit.content.clone()
        };
        let tokens = estimate_tokens(&passage);
        if used + tokens > budget {
            continue;
        }
        used += tokens;
        retrieved.citations.push(Citation {
            number: retrieved.citations.len() + 1,
            item_id: hit.item_id,
            repository_id: hit.repository_id,
            media_type: media_type(&hit.item_name).to_owned(),
            title: hit.item_name,
            page: hit.page_start,
            heading: (!hit.heading_path.is_empty()).then(|| hit.heading_path.join(" > ")),
            excerpt: hit.excerpt,
            score: hit.score,
        });
        retrieved.passages.push(passage);
    }
    retrieved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(name: &str, content: &str, page: Option<i32>) -> Hit {
        Hit {
            chunk_id: Uuid::new_v4(),
            item_id: Uuid::new_v4(),
            item_name: name.into(),
            repository_id: Uuid::new_v4(),
            page_start: page,
            page_end: page,
            heading_path: vec!["Results".into()],
            excerpt: content.chars().take(40).collect(),
            score: 0.03,
            content: content.into(),
        }
    }

    #[test]
    fn passages_are_numbered_in_the_prompt_with_title_and_page() {
        let retrieved = fit(
            vec![
                hit("report.pdf", "Solar output rose by 12 percent.", Some(3)),
                hit("notes.md", "Wind was flat.", None),
            ],
            1000,
        );
        let prompt = retrieved.system_prompt(Some("Be brief.")).unwrap();
        assert!(prompt.starts_with("Be brief."));
        assert!(prompt.contains("[1] report.pdf (page 3)\nSolar output rose by 12 percent."));
        assert!(prompt.contains("[2] notes.md\nWind was flat."));
        assert_eq!(retrieved.citations[0].media_type, "application/pdf");
        assert_eq!(retrieved.citations[1].heading.as_deref(), Some("Results"));
    }

    #[test]
    fn passages_beyond_the_budget_are_left_out() {
        let long = "word ".repeat(2000);
        let retrieved = fit(
            vec![
                hit("a.txt", &long, None),
                hit("b.txt", "short passage", None),
            ],
            100,
        );
        assert_eq!(retrieved.citations.len(), 1);
        assert_eq!(retrieved.citations[0].title, "b.txt");
        assert_eq!(retrieved.citations[0].number, 1);
    }

    #[test]
    fn without_passages_the_system_prompt_is_unchanged() {
        assert_eq!(
            Retrieved::default().system_prompt(Some("x")).as_deref(),
            Some("x")
        );
        assert_eq!(Retrieved::default().system_prompt(None), None);
    }
}
