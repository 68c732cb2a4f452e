//! Word (.docx) text: paragraphs, headings from their styles as `#` lines, list items,
//! tables as rows, and pages split where Word broke them (manual breaks and the breaks
//! Word recorded when it last laid the document out).

use std::collections::HashMap;

use super::archive::Archive;
use super::limits::PageWriter;
use super::xml::{self, Blocks, Xml};
use super::{DocumentKind, ExtractError, Extracted, Limits};

const FORMAT: &str = "Word";

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let mut archive = Archive::open(bytes, FORMAT, limits)?;
    let document = archive
        .read("word/document.xml")?
        .ok_or_else(|| ExtractError::corrupt(FORMAT, "it has no word/document.xml"))?;
    let styles = match archive.read("word/styles.xml")? {
        Some(xml) => heading_styles(&xml, limits)?,
        None => HashMap::new(),
    };
    let core_title = match archive.read("docProps/core.xml")? {
        Some(xml) => core_title(&xml, FORMAT, limits)?,
        None => None,
    };
    let mut writer = PageWriter::new(limits);
    let mut blocks = Blocks::new(&mut writer);
    let mut in_run = false;
    let mut in_text = false;
    xml::for_each(&document, FORMAT, limits.max_depth, |event| {
        match event {
            Xml::Start(element) | Xml::Empty(element) => {
                let empty = matches!(event, Xml::Empty(_));
                match xml::name(element) {
                    "p" if !empty => blocks.start_paragraph(),
                    "pStyle" => {
                        let id = xml::attr(element, "val", false).unwrap_or_default();
                        if let Some(level) = styles.get(&id).copied().or_else(|| level_from_id(&id))
                        {
                            blocks.set_heading(level);
                        }
                    }
                    "outlineLvl" => {
                        let level =
                            xml::attr(element, "val", false).and_then(|v| v.parse::<usize>().ok());
                        if let Some(level) = level.filter(|l| *l < 9) {
                            blocks.set_heading(level + 1);
                        }
                    }
                    "numPr" => blocks.set_list(),
                    "pageBreakBefore" if is_on(element) => blocks.page_break(false)?,
                    "r" if !empty => in_run = true,
                    "t" if !empty => in_text = true,
                    "tab" if in_run => blocks.text("\t"),
                    "br" if in_run => match xml::attr(element, "type", false).as_deref() {
                        Some("page") => blocks.page_break(false)?,
                        _ => blocks.text("\n"),
                    },
                    "cr" if in_run => blocks.text("\n"),
                    "lastRenderedPageBreak" => blocks.page_break(true)?,
                    "tbl" if !empty => blocks.start_table(),
                    "tr" if !empty => blocks.start_row(),
                    "tc" if !empty => blocks.start_cell(),
                    _ => {}
                }
            }
            Xml::End(name) => match name {
                "p" => blocks.end_paragraph()?,
                "r" => in_run = false,
                "t" => in_text = false,
                "tc" => blocks.end_cell(),
                "tr" => blocks.end_row()?,
                "tbl" => blocks.end_table()?,
                _ => {}
            },
            Xml::Text(text) if in_text => blocks.text(text),
            Xml::Text(_) => {}
        }
        Ok(())
    })?;
    let title = core_title.or_else(|| blocks.first_heading.take());
    Ok(Extracted {
        kind: DocumentKind::Docx,
        pages: writer.finish()?,
        needs_ocr: false,
        title,
    })
}

/// Heading level per paragraph style id, from `word/styles.xml`: styles named
/// "heading N" or "Title", styles with an outline level, and styles based on those.
fn heading_styles(xml: &[u8], limits: &Limits) -> Result<HashMap<String, usize>, ExtractError> {
    let mut levels = HashMap::new();
    let mut based_on: HashMap<String, String> = HashMap::new();
    let mut current: Option<String> = None;
    xml::for_each(xml, FORMAT, limits.max_depth, |event| {
        match event {
            Xml::Start(element) | Xml::Empty(element) => match xml::name(element) {
                "style" => current = xml::attr(element, "styleId", false),
                "name" => {
                    let name = xml::attr(element, "val", false)
                        .unwrap_or_default()
                        .to_lowercase();
                    let level = if name == "title" {
                        Some(1)
                    } else {
                        name.strip_prefix("heading ")
                            .and_then(|n| n.trim().parse().ok())
                    };
                    if let (Some(id), Some(level)) = (&current, level) {
                        levels.insert(id.clone(), level);
                    }
                }
                "outlineLvl" => {
                    let level =
                        xml::attr(element, "val", false).and_then(|v| v.parse::<usize>().ok());
                    if let (Some(id), Some(level)) = (&current, level.filter(|l| *l < 9)) {
                        levels.entry(id.clone()).or_insert(level + 1);
                    }
                }
                "basedOn" => {
                    if let (Some(id), Some(parent)) = (&current, xml::attr(element, "val", false)) {
                        based_on.insert(id.clone(), parent);
                    }
                }
                _ => {}
            },
            Xml::End("style") => current = None,
            _ => {}
        }
        Ok(())
    })?;
    for (id, parent) in &based_on {
        let mut ancestor = Some(parent);
        for _ in 0..10 {
            let Some(name) = ancestor else { break };
            if let Some(level) = levels.get(name).copied() {
                levels.entry(id.clone()).or_insert(level);
                break;
            }
            ancestor = based_on.get(name);
        }
    }
    Ok(levels)
}

/// `Heading2` -> 2, for documents without a styles part.
fn level_from_id(id: &str) -> Option<usize> {
    let lower = id.to_ascii_lowercase();
    if lower == "title" {
        return Some(1);
    }
    lower
        .strip_prefix("heading")?
        .parse()
        .ok()
        .filter(|l| (1..=9).contains(l))
}

fn is_on(element: &quick_xml::events::BytesStart<'_>) -> bool {
    !matches!(
        xml::attr(element, "val", false).as_deref(),
        Some("0" | "false" | "off")
    )
}

/// `dc:title` from an Office `docProps/core.xml`.
pub(crate) fn core_title(
    xml: &[u8],
    format: &'static str,
    limits: &Limits,
) -> Result<Option<String>, ExtractError> {
    let mut in_title = false;
    let mut title = String::new();
    xml::for_each(xml, format, limits.max_depth, |event| {
        match event {
            Xml::Start(element) => in_title = xml::name(element) == "title",
            Xml::End(_) => in_title = false,
            Xml::Text(text) if in_title => title.push_str(text),
            _ => {}
        }
        Ok(())
    })?;
    let title = super::limits::clean(title.trim());
    Ok((!title.is_empty()).then_some(title))
}
