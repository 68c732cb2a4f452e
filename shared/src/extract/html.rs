//! HTML main content: the page read with html5ever's tokenizer (spec-compliant, streaming,
//! no recursion) while a bounded stack of open elements tracks structure. Navigation,
//! headers and footers outside the main content, menus, forms, scripts and styles are
//! dropped; `<main>` (or else `<article>`) wins over the rest of the body when it holds
//! most of the text. Headings become `#` lines, list items `- ` lines, table rows lines.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
    states::RawKind,
};

use super::html_text::{Frame, Outputs, block_level, is_void};
use super::limits::PageWriter;
use super::text::{decode, refuse_oversized};
use super::{DocumentKind, ExtractError, Extracted, Limits};

/// Input is fed to the tokenizer in pieces so a breach stops the work early.
const FEED_CHUNK: usize = 64 * 1024;

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    refuse_oversized(bytes, limits)?;
    let text = decode(bytes, declared_charset(bytes));
    let sink = Sink(RefCell::new(State::new(limits.max_depth)));
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    let mut rest: &str = &text;
    while !rest.is_empty() {
        let mut end = rest.len().min(FEED_CHUNK);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        queue.push_back(StrTendril::from_slice(&rest[..end]));
        rest = &rest[end..];
        let _ = tokenizer.feed(&queue);
        if tokenizer.sink.0.borrow().too_deep {
            return Err(ExtractError::TooDeep {
                limit: limits.max_depth,
            });
        }
    }
    tokenizer.end();
    let state = tokenizer.sink.0.into_inner();
    let content = state.outputs.main_content();
    let title = Some(state.title.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|t| !t.is_empty())
        .or_else(|| {
            content
                .lines()
                .find_map(|line| line.strip_prefix("# "))
                .map(str::to_owned)
        });
    let mut writer = PageWriter::new(limits);
    writer.push_block(content)?;
    Ok(Extracted {
        kind: DocumentKind::Html,
        pages: writer.finish()?,
        needs_ocr: false,
        title,
    })
}

/// The encoding a `<meta charset>` (or `http-equiv` content type) near the top declares.
fn declared_charset(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let label: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes())?;
    // A page that names UTF-16 while being read as bytes is UTF-8 (HTML standard).
    Some(
        if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
            encoding_rs::UTF_8
        } else {
            encoding
        },
    )
}

struct Sink(RefCell<State>);

struct State {
    stack: Vec<Frame>,
    outputs: Outputs,
    title: String,
    in_title: bool,
    max_depth: usize,
    too_deep: bool,
}

impl State {
    fn new(max_depth: usize) -> Self {
        Self {
            stack: Vec::new(),
            outputs: Outputs::default(),
            title: String::new(),
            in_title: false,
            max_depth,
            too_deep: false,
        }
    }

    fn top(&self) -> Frame {
        self.stack.last().cloned().unwrap_or_default()
    }

    fn start(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        self.close_implied(name);
        let parent = self.top();
        let frame = Frame::new(&parent, tag);
        match name {
            "title" => self.in_title = self.title.is_empty(),
            "br" => self.outputs.line(&frame),
            "hr" => self.outputs.block(&frame),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = usize::from(name.as_bytes()[1] - b'0');
                self.outputs.heading(&frame, level);
            }
            "li" | "dt" | "dd" => self.outputs.item(&frame, name == "li"),
            "tr" => self.outputs.line(&frame),
            "td" | "th" => self.outputs.cell(&frame),
            _ if block_level(name) => self.outputs.block(&frame),
            _ => {}
        }
        if !is_void(name) && !tag.self_closing {
            if self.stack.len() >= self.max_depth {
                self.too_deep = true;
            } else {
                self.stack.push(frame);
            }
        }
        match name {
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
            "plaintext" => TokenSinkResult::Plaintext,
            _ => TokenSinkResult::Continue,
        }
    }

    fn end(&mut self, tag: &Tag) {
        let name: &str = &tag.name;
        if name == "title" {
            self.in_title = false;
        }
        if name == "br" {
            let frame = self.top();
            self.outputs.line(&frame);
            return;
        }
        if let Some(index) = self.stack.iter().rposition(|f| &*f.name == name) {
            let frame = self.stack[index].clone();
            self.stack.truncate(index);
            if block_level(name) || matches!(name, "li" | "dt" | "dd" | "tr") {
                self.outputs.end_block(&frame);
            }
        }
    }

    /// Closes what a start tag implicitly ends, as browsers do: a block closes an open
    /// paragraph, a list item the previous item, a row the previous row, a cell the
    /// previous cell. Keeps the stack honest for sloppy HTML.
    fn close_implied(&mut self, name: &str) {
        let (target, boundaries): (&[&str], &[&str]) = match name {
            "li" => (&["li"], &["ul", "ol", "table"]),
            "dt" | "dd" => (&["dt", "dd"], &["dl", "table"]),
            "tr" => (&["tr"], &["table"]),
            "td" | "th" => (&["td", "th"], &["tr", "table"]),
            "option" => (&["option"], &["select"]),
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => (
                &["p", "h1", "h2", "h3", "h4", "h5", "h6"],
                &[
                    "table", "td", "th", "button", "div", "section", "article", "main", "li",
                ],
            ),
            _ if block_level(name) => (&["p"], &["table", "td", "th", "button"]),
            _ => return,
        };
        let found = self
            .stack
            .iter()
            .rposition(|f| target.contains(&&*f.name) || boundaries.contains(&&*f.name));
        if let Some(index) = found
            && target.contains(&&*self.stack[index].name)
        {
            let frame = self.stack[index].clone();
            self.stack.truncate(index);
            self.outputs.end_block(&frame);
        }
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut state = self.0.borrow_mut();
        if state.too_deep {
            return TokenSinkResult::Continue;
        }
        match token {
            Token::TagToken(tag) if tag.kind == TagKind::StartTag => return state.start(&tag),
            Token::TagToken(tag) => state.end(&tag),
            Token::CharacterTokens(text) => {
                if state.in_title {
                    state.title.push_str(&text);
                } else {
                    let frame = state.top();
                    state.outputs.text(&frame, &text);
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}
