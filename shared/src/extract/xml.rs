//! Shared pieces of the Office Open XML readers: a depth-bounded XML event loop over
//! `quick-xml`, and the builder that turns paragraphs and tables into text blocks.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::ExtractError;
use super::limits::PageWriter;

/// One XML event, reduced to what the readers need.
pub(crate) enum Xml<'e> {
    Start(&'e BytesStart<'e>),
    Empty(&'e BytesStart<'e>),
    End(&'e str),
    Text(&'e str),
}

/// Streams `xml` to `on_event`, refusing nesting deeper than `max_depth`. Elements
/// named `Fallback` (the duplicate of markup-compatibility content) are skipped.
pub(crate) fn for_each(
    xml: &[u8],
    format: &'static str,
    max_depth: usize,
    mut on_event: impl FnMut(Xml<'_>) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    let xml = String::from_utf8_lossy(xml);
    let mut reader = Reader::from_str(&xml);
    let mut depth = 0usize;
    let mut skip_below: Option<usize> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|error| ExtractError::corrupt(format, error))?;
        match &event {
            Event::Start(start) => {
                depth += 1;
                if depth > max_depth {
                    return Err(ExtractError::TooDeep { limit: max_depth });
                }
                if skip_below.is_none() && start.local_name().as_ref() == "Fallback" {
                    skip_below = Some(depth);
                }
                if skip_below.is_none() {
                    on_event(Xml::Start(start))?;
                }
            }
            Event::End(end) => {
                if skip_below.is_none() {
                    on_event(Xml::End(end.local_name().as_ref()))?;
                }
                if skip_below == Some(depth) {
                    skip_below = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Empty(start) if skip_below.is_none() => on_event(Xml::Empty(start))?,
            Event::Text(text) if skip_below.is_none() => {
                on_event(Xml::Text(&text.xml10_content()))?
            }
            Event::CData(text) if skip_below.is_none() => on_event(Xml::Text(text))?,
            Event::GeneralRef(reference) if skip_below.is_none() => {
                let resolved: Cow<'_, str> = match reference.resolve_char_ref() {
                    Ok(Some(c)) => Cow::Owned(c.to_string()),
                    _ => Cow::Borrowed(
                        quick_xml::escape::resolve_predefined_entity(reference).unwrap_or(""),
                    ),
                };
                on_event(Xml::Text(&resolved))?;
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// The local name of an element (`p` for `w:p`).
pub(crate) fn name<'e>(element: &'e BytesStart<'_>) -> &'e str {
    let name: &str = element.name().0;
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

/// The unescaped value of the attribute with this local name. With `prefixed`, only a
/// namespaced attribute matches (`r:id`, not `id`).
pub(crate) fn attr(element: &BytesStart<'_>, local: &str, prefixed: bool) -> Option<String> {
    element.attributes().flatten().find_map(|attribute| {
        let key = attribute.key.0;
        let (prefix, key_local) = key
            .rsplit_once(':')
            .map_or((None, key), |(p, l)| (Some(p), l));
        (key_local == local && (!prefixed || prefix.is_some()))
            .then(|| {
                attribute
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(Cow::into_owned)
            })
            .flatten()
    })
}

#[derive(Default)]
struct Paragraph {
    text: String,
    heading: Option<usize>,
    list: bool,
}

impl Paragraph {
    fn render(&self) -> String {
        let text = self.text.trim();
        match (self.heading, self.list) {
            _ if text.is_empty() => String::new(),
            (Some(level), _) => format!(
                "{} {}",
                "#".repeat(level.clamp(1, 6)),
                text.replace('\n', " ")
            ),
            (None, true) => format!("- {text}"),
            (None, false) => text.to_owned(),
        }
    }
}

#[derive(Default)]
struct Table {
    rows: usize,
    row: Vec<String>,
    cell: Option<String>,
}

/// Builds blocks from paragraphs (headings as `#` lines, list items as `- ` lines) and
/// tables (one line per row, cells joined by ` | `), with page breaks.
pub(crate) struct Blocks<'w> {
    writer: &'w mut PageWriter,
    paragraphs: Vec<Paragraph>,
    tables: Vec<Table>,
    break_after_row: bool,
    /// The text of the first heading seen, a fallback title.
    pub(crate) first_heading: Option<String>,
}

impl<'w> Blocks<'w> {
    pub(crate) fn new(writer: &'w mut PageWriter) -> Self {
        Self {
            writer,
            paragraphs: Vec::new(),
            tables: Vec::new(),
            break_after_row: false,
            first_heading: None,
        }
    }

    pub(crate) fn start_paragraph(&mut self) {
        self.paragraphs.push(Paragraph::default());
    }

    pub(crate) fn set_heading(&mut self, level: usize) {
        if let Some(paragraph) = self.paragraphs.last_mut() {
            paragraph.heading = Some(level);
        }
    }

    pub(crate) fn set_list(&mut self) {
        if let Some(paragraph) = self.paragraphs.last_mut() {
            paragraph.list = true;
        }
    }

    pub(crate) fn text(&mut self, text: &str) {
        if let Some(paragraph) = self.paragraphs.last_mut() {
            paragraph.text.push_str(text);
        }
    }

    pub(crate) fn end_paragraph(&mut self) -> Result<(), ExtractError> {
        let Some(paragraph) = self.paragraphs.pop() else {
            return Ok(());
        };
        if paragraph.heading.is_some() && self.first_heading.is_none() {
            let text = paragraph.text.trim();
            if !text.is_empty() {
                self.first_heading = Some(text.to_owned());
            }
        }
        self.emit(paragraph.render())
    }

    /// A page break. A `soft` one (where the page happened to end when last laid out)
    /// is dropped when nothing was written since the previous break.
    pub(crate) fn page_break(&mut self, soft: bool) -> Result<(), ExtractError> {
        if !self.tables.is_empty() {
            self.break_after_row = true;
            return Ok(());
        }
        let pending = self.paragraphs.iter().any(|p| !p.text.trim().is_empty());
        if soft && !pending && self.writer.page_is_blank() {
            return Ok(());
        }
        for index in 0..self.paragraphs.len() {
            let text = self.paragraphs[index].render();
            self.writer.push_block(&text)?;
            self.paragraphs[index].text.clear();
        }
        self.writer.end_page()
    }

    pub(crate) fn start_table(&mut self) {
        self.tables.push(Table::default());
    }

    pub(crate) fn start_row(&mut self) {
        if let Some(table) = self.tables.last_mut() {
            table.row.clear();
        }
    }

    pub(crate) fn start_cell(&mut self) {
        if let Some(table) = self.tables.last_mut() {
            table.cell = Some(String::new());
        }
    }

    pub(crate) fn end_cell(&mut self) {
        if let Some(table) = self.tables.last_mut()
            && let Some(cell) = table.cell.take()
        {
            table.row.push(cell.trim().to_owned());
        }
    }

    pub(crate) fn end_row(&mut self) -> Result<(), ExtractError> {
        let depth = self.tables.len();
        let Some(table) = self.tables.last_mut() else {
            return Ok(());
        };
        let row = std::mem::take(&mut table.row);
        if row.iter().all(String::is_empty) {
            return Ok(());
        }
        let line = row.join(" | ");
        if depth > 1 {
            if let Some(cell) = self.tables[depth - 2].cell.as_mut() {
                if !cell.is_empty() {
                    cell.push_str("; ");
                }
                cell.push_str(&line);
            }
            return Ok(());
        }
        let table = &mut self.tables[0];
        if std::mem::take(&mut self.break_after_row) {
            self.writer.end_page()?;
        }
        let first = table.rows == 0 || self.writer.page_is_blank();
        table.rows += 1;
        if first {
            self.writer.push_block(&line)
        } else {
            self.writer.push_line(&line)
        }
    }

    pub(crate) fn end_table(&mut self) -> Result<(), ExtractError> {
        self.tables.pop();
        if self.tables.is_empty() && std::mem::take(&mut self.break_after_row) {
            self.writer.end_page()?;
        }
        Ok(())
    }

    /// Sends finished text to the enclosing table cell, or to the page.
    fn emit(&mut self, text: String) -> Result<(), ExtractError> {
        if text.is_empty() {
            return Ok(());
        }
        match self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
            Some(cell) => {
                if !cell.is_empty() {
                    cell.push_str("; ");
                }
                cell.push_str(&text.replace('\n', " "));
                Ok(())
            }
            None => self.writer.push_block(&text),
        }
    }
}
