//! Bounds on what one document may cost, and the page writer that enforces them.

use std::time::{Duration, Instant};

use super::{ExtractError, Page};

/// What one document may cost to extract. Every breach is a typed [`ExtractError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_input_bytes: u64,
    /// Largest total a zip-based document (DOCX, PPTX, XLSX, ODS) may unpack to, counted
    /// both from the sizes the archive declares and from the bytes actually inflated.
    pub max_unpacked_bytes: u64,
    /// Largest unpacked/packed ratio of one archive entry past the first MiB.
    pub max_compression_ratio: u64,
    /// Most files an archive may hold.
    pub max_zip_entries: usize,
    /// Most pages (PDF pages, slides, sheets, page breaks) a document may have.
    pub max_pages: usize,
    /// Most characters of text a document may yield.
    pub max_chars: usize,
    /// Deepest element nesting accepted in XML, HTML and JSON.
    pub max_depth: usize,
    /// Most cells a spreadsheet's used area may span.
    pub max_cells: u64,
    /// When extraction must stop, whatever it has reached (checked as text is written).
    pub deadline: Deadline,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_bytes: 50 * 1024 * 1024,
            max_unpacked_bytes: 256 * 1024 * 1024,
            max_compression_ratio: 200,
            max_zip_entries: 10_000,
            max_pages: 2_000,
            max_chars: 20_000_000,
            max_depth: 512,
            max_cells: 5_000_000,
            deadline: Deadline::none(),
        }
    }
}

/// When one document's work must stop: a budget of time from when the work started. Every
/// stage that loops over a document's text checks it, so a file no limit above catches
/// still ends with a reason long before the function's own timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Option<Instant>,
    budget: Duration,
}

impl Deadline {
    /// No deadline: the other limits alone bound the work.
    pub fn none() -> Self {
        Self {
            at: None,
            budget: Duration::MAX,
        }
    }

    /// `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self {
            at: Instant::now().checked_add(budget),
            budget,
        }
    }

    /// Whether the work may go on.
    pub fn check(&self) -> Result<(), OutOfTime> {
        match self.at {
            Some(at) if Instant::now() >= at => Err(OutOfTime {
                budget: self.budget,
            }),
            _ => Ok(()),
        }
    }
}

/// A document that used up its work budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "reading the document took more than its budget of {} seconds, so it was stopped; split it into smaller files",
    budget.as_secs_f64()
)]
pub struct OutOfTime {
    pub budget: Duration,
}

/// Collects text page by page: removes NUL bytes, normalises line ends, and refuses to
/// grow past the page and character limits.
#[derive(Debug)]
pub(crate) struct PageWriter {
    pages: Vec<Page>,
    current: String,
    chars: usize,
    max_pages: usize,
    max_chars: usize,
    deadline: Deadline,
}

impl PageWriter {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            pages: Vec::new(),
            current: String::new(),
            chars: 0,
            max_pages: limits.max_pages,
            max_chars: limits.max_chars,
            deadline: limits.deadline,
        }
    }

    /// Appends text to the current page.
    pub(crate) fn push_str(&mut self, text: &str) -> Result<(), ExtractError> {
        self.deadline.check()?;
        self.chars += text.chars().count();
        if self.chars > self.max_chars {
            return Err(ExtractError::TooMuchText {
                limit: self.max_chars,
            });
        }
        // NUL, CR, and 0xEF (the first byte of the ligatures U+FB00..U+FB06).
        if memchr::memchr3(0, b'\r', 0xEF, text.as_bytes()).is_some() {
            self.current.push_str(&clean(text));
        } else {
            self.current.push_str(text);
        }
        Ok(())
    }

    /// Appends a paragraph-like block, separated from the previous one by a blank line.
    pub(crate) fn push_block(&mut self, text: &str) -> Result<(), ExtractError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        if !self.current.is_empty() {
            self.current.push_str("\n\n");
        }
        self.push_str(text)
    }

    /// Appends one line (a table row, a spreadsheet row) under the previous one.
    pub(crate) fn push_line(&mut self, text: &str) -> Result<(), ExtractError> {
        if !self.current.is_empty() {
            self.current.push('\n');
        }
        self.push_str(text)
    }

    /// Whether the current page has any text yet.
    pub(crate) fn page_is_blank(&self) -> bool {
        self.current.trim().is_empty()
    }

    /// Closes the current page (even when blank) and starts the next one.
    pub(crate) fn end_page(&mut self) -> Result<(), ExtractError> {
        self.deadline.check()?;
        if self.pages.len() + 1 > self.max_pages {
            return Err(ExtractError::TooManyPages {
                pages: self.pages.len() + 1,
                limit: self.max_pages,
            });
        }
        let mut text = std::mem::take(&mut self.current);
        text.truncate(text.trim_end().len());
        let number = u32::try_from(self.pages.len() + 1).unwrap_or(u32::MAX);
        self.pages.push(Page { number, text });
        Ok(())
    }

    /// Closes the last page and returns them all.
    pub(crate) fn finish(mut self) -> Result<Vec<Page>, ExtractError> {
        if !self.current.is_empty() || self.pages.is_empty() {
            self.end_page()?;
        }
        Ok(self.pages)
    }
}

/// Text without NUL bytes, with `\n` line ends only, and with typographic ligatures
/// (`ﬁ`, `ﬂ`: common in PDFs) spelled out so that search finds the words.
pub(crate) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.replace("\r\n", "\n").chars() {
        match c {
            '\0' => {}
            '\r' => out.push('\n'),
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_strips_nul_bytes_and_carriage_returns() {
        let mut writer = PageWriter::new(&Limits::default());
        writer.push_block("a\0b\r\nc\rd \u{FB01}le").unwrap();
        let pages = writer.finish().unwrap();
        assert_eq!(pages[0].text, "ab\nc\nd file");
    }

    #[test]
    fn the_writer_refuses_text_past_the_character_limit() {
        let limits = Limits {
            max_chars: 5,
            ..Limits::default()
        };
        let mut writer = PageWriter::new(&limits);
        writer.push_str("abc").unwrap();
        let error = writer.push_str("def").unwrap_err();
        assert!(matches!(error, ExtractError::TooMuchText { limit: 5 }));
    }

    #[test]
    fn the_writer_numbers_pages_from_one_and_refuses_past_the_page_limit() {
        let limits = Limits {
            max_pages: 2,
            ..Limits::default()
        };
        let mut writer = PageWriter::new(&limits);
        writer.push_block("one").unwrap();
        writer.end_page().unwrap();
        writer.push_block("two").unwrap();
        writer.end_page().unwrap();
        writer.push_block("three").unwrap();
        assert!(matches!(
            writer.finish(),
            Err(ExtractError::TooManyPages { pages: 3, limit: 2 })
        ));
    }
}
