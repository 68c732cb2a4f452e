//! The HTML reader's element classes and text buffers: which elements are boilerplate,
//! which break blocks, and how text collapses into Markdown-like lines.

use html5ever::LocalName;
use html5ever::tokenizer::Tag;

/// Elements whose content never reaches the text.
const DROPPED: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed",
    "canvas", "audio", "video", "head", "nav", "aside", "footer", "button", "select", "textarea",
    "dialog", "menu", "datalist",
];
/// ARIA roles of navigation and page furniture.
const DROPPED_ROLES: &[&str] = &[
    "navigation",
    "contentinfo",
    "complementary",
    "menu",
    "menubar",
    "search",
    "dialog",
    "alertdialog",
    "toolbar",
    "tablist",
];
/// Words in a class or id (split at `-` and `_`) that mark navigation and furniture.
const DROPPED_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "menubar",
    "sidebar",
    "footer",
    "breadcrumb",
    "breadcrumbs",
    "cookie",
    "cookies",
    "skiplink",
];
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "html",
    "legend",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "ul",
];
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr",
];

pub(super) fn block_level(name: &str) -> bool {
    BLOCKS.contains(&name)
}

pub(super) fn is_void(name: &str) -> bool {
    VOID.contains(&name)
}

fn attribute<'t>(tag: &'t Tag, name: &str) -> Option<&'t str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

/// Whether an element (and everything in it) is page furniture rather than content.
pub(super) fn is_boilerplate(tag: &Tag, parent: &Frame) -> bool {
    let name: &str = &tag.name;
    if matches!(name, "main" | "article" | "body" | "html") {
        return false;
    }
    let in_content = parent.main || parent.article;
    if DROPPED.contains(&name) || (name == "header" && !in_content) {
        return true;
    }
    if attribute(tag, "hidden").is_some()
        || attribute(tag, "aria-hidden").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return true;
    }
    if let Some(role) = attribute(tag, "role").map(str::to_ascii_lowercase)
        && (DROPPED_ROLES.contains(&role.as_str()) || (role == "banner" && !in_content))
    {
        return true;
    }
    ["class", "id"]
        .iter()
        .filter_map(|a| attribute(tag, a))
        .any(|value| {
            value
                .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
                .any(|word| DROPPED_WORDS.contains(&word.to_ascii_lowercase().as_str()))
        })
}

/// One open element and what it implies for the text inside it.
#[derive(Debug, Clone, Default)]
pub(super) struct Frame {
    pub(super) name: LocalName,
    skip: bool,
    main: bool,
    article: bool,
    pre: bool,
}

impl Frame {
    pub(super) fn new(parent: &Frame, tag: &Tag) -> Self {
        let name: &str = &tag.name;
        let role_main = attribute(tag, "role").is_some_and(|r| r.eq_ignore_ascii_case("main"));
        Self {
            name: tag.name.clone(),
            skip: parent.skip || is_boilerplate(tag, parent),
            main: parent.main || name == "main" || role_main,
            article: parent.article || name == "article",
            pre: parent.pre || matches!(name, "pre" | "listing" | "plaintext"),
        }
    }
}

/// Text being collected, with whitespace collapsed and breaks applied lazily so no
/// buffer starts or ends with blank lines.
#[derive(Debug, Default)]
struct Buffer {
    text: String,
    breaks: u8,
    prefix: Option<String>,
    space: bool,
    line_has_text: bool,
}

impl Buffer {
    fn push(&mut self, text: &str, pre: bool) {
        for c in text.chars() {
            if c.is_whitespace() && !pre {
                self.space = self.line_has_text;
                continue;
            }
            if c == '\n' {
                self.breaks = self.breaks.max(1);
                continue;
            }
            if self.breaks > 0 {
                if !self.text.is_empty() {
                    for _ in 0..self.breaks {
                        self.text.push('\n');
                    }
                }
                self.breaks = 0;
                self.space = false;
                self.line_has_text = false;
            }
            if let Some(prefix) = self.prefix.take() {
                self.text.push_str(&prefix);
                self.space = false;
            }
            if self.space {
                self.text.push(' ');
                self.space = false;
            }
            self.text.push(c);
            self.line_has_text = true;
        }
    }

    fn breaks(&mut self, count: u8) {
        self.breaks = self.breaks.max(count);
        if count > 0 {
            self.prefix = None;
        }
    }
}

/// The body text, and the parts of it inside `<main>` and inside `<article>`.
#[derive(Debug, Default)]
pub(super) struct Outputs {
    body: Buffer,
    main: Buffer,
    article: Buffer,
}

impl Outputs {
    fn each(&mut self, frame: &Frame, mut apply: impl FnMut(&mut Buffer)) {
        if frame.skip {
            return;
        }
        apply(&mut self.body);
        if frame.main {
            apply(&mut self.main);
        }
        if frame.article {
            apply(&mut self.article);
        }
    }

    pub(super) fn text(&mut self, frame: &Frame, text: &str) {
        self.each(frame, |b| b.push(text, frame.pre));
    }

    pub(super) fn block(&mut self, frame: &Frame) {
        self.each(frame, |b| b.breaks(2));
    }

    pub(super) fn line(&mut self, frame: &Frame) {
        self.each(frame, |b| b.breaks(1));
    }

    pub(super) fn heading(&mut self, frame: &Frame, level: usize) {
        self.each(frame, |b| {
            b.breaks(2);
            b.prefix = Some(format!("{} ", "#".repeat(level)));
        });
    }

    pub(super) fn item(&mut self, frame: &Frame, bullet: bool) {
        self.each(frame, |b| {
            b.breaks(1);
            b.prefix = bullet.then(|| "- ".to_owned());
        });
    }

    pub(super) fn cell(&mut self, frame: &Frame) {
        self.each(frame, |b| {
            if b.line_has_text && b.breaks == 0 {
                b.prefix = Some(" | ".to_owned());
            }
        });
    }

    /// After an element closes: a blank line after blocks, a line break after items.
    pub(super) fn end_block(&mut self, frame: &Frame) {
        let count = if matches!(&*frame.name, "li" | "dt" | "dd" | "tr") {
            1
        } else {
            2
        };
        self.each(frame, |b| b.breaks(count));
    }

    /// `<main>` when it holds at least a quarter of the body's text, else the articles
    /// when they do, else the whole body without its furniture.
    pub(super) fn main_content(&self) -> &str {
        let size = |b: &Buffer| b.text.len();
        let body = size(&self.body);
        if size(&self.main) > 0 && size(&self.main) * 4 >= body {
            &self.main.text
        } else if size(&self.article) > 0 && size(&self.article) * 4 >= body {
            &self.article.text
        } else {
            &self.body.text
        }
    }
}
