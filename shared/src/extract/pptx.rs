//! PowerPoint (.pptx) text: one page per slide in presentation order, the slide title
//! as a `#` heading, text boxes as paragraphs and tables as rows.

use std::collections::HashMap;

use super::archive::Archive;
use super::limits::PageWriter;
use super::xml::{self, Blocks, Xml};
use super::{DocumentKind, ExtractError, Extracted, Limits};

const FORMAT: &str = "PowerPoint";

pub(crate) fn extract(bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let mut archive = Archive::open(bytes, FORMAT, limits)?;
    let slides = slide_order(&mut archive, limits)?;
    if slides.len() > limits.max_pages {
        return Err(ExtractError::TooManyPages {
            pages: slides.len(),
            limit: limits.max_pages,
        });
    }
    let core_title = match archive.read("docProps/core.xml")? {
        Some(xml) => super::docx::core_title(&xml, FORMAT, limits)?,
        None => None,
    };
    let mut writer = PageWriter::new(limits);
    let mut first_title = None;
    for path in &slides {
        let Some(slide) = archive.read(path)? else {
            writer.end_page()?;
            continue;
        };
        let mut blocks = Blocks::new(&mut writer);
        let mut is_title = false;
        let mut in_text = false;
        xml::for_each(&slide, FORMAT, limits.max_depth, |event| {
            match event {
                Xml::Start(element) | Xml::Empty(element) => {
                    let empty = matches!(event, Xml::Empty(_));
                    match xml::name(element) {
                        "sp" if !empty => is_title = false,
                        "ph" => {
                            let kind = xml::attr(element, "type", false);
                            is_title = matches!(kind.as_deref(), Some("title" | "ctrTitle"));
                        }
                        "p" if !empty => {
                            blocks.start_paragraph();
                            if is_title {
                                blocks.set_heading(1);
                            }
                        }
                        "t" if !empty => in_text = true,
                        "br" => blocks.text("\n"),
                        "tbl" if !empty => blocks.start_table(),
                        "tr" if !empty => blocks.start_row(),
                        "tc" if !empty => blocks.start_cell(),
                        _ => {}
                    }
                }
                Xml::End(name) => match name {
                    "sp" => is_title = false,
                    "p" => blocks.end_paragraph()?,
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
        if first_title.is_none() {
            first_title = blocks.first_heading.take();
        }
        writer.end_page()?;
    }
    Ok(Extracted {
        kind: DocumentKind::Pptx,
        pages: writer.finish()?,
        needs_ocr: false,
        title: core_title.or(first_title),
    })
}

/// Slide part names in presentation order (`p:sldIdLst` resolved through the
/// presentation's relationships), or by slide number when those cannot be read.
fn slide_order(archive: &mut Archive<'_>, limits: &Limits) -> Result<Vec<String>, ExtractError> {
    let mut ids = Vec::new();
    if let Some(presentation) = archive.read("ppt/presentation.xml")? {
        xml::for_each(&presentation, FORMAT, limits.max_depth, |event| {
            if let Xml::Start(element) | Xml::Empty(element) = event
                && xml::name(element) == "sldId"
                && let Some(id) = xml::attr(element, "id", true)
            {
                ids.push(id);
            }
            Ok(())
        })?;
    }
    let mut targets = HashMap::new();
    if let Some(rels) = archive.read("ppt/_rels/presentation.xml.rels")? {
        xml::for_each(&rels, FORMAT, limits.max_depth, |event| {
            if let Xml::Start(element) | Xml::Empty(element) = event
                && xml::name(element) == "Relationship"
                && let (Some(id), Some(target)) = (
                    xml::attr(element, "Id", false),
                    xml::attr(element, "Target", false),
                )
            {
                targets.insert(id, resolve(&target));
            }
            Ok(())
        })?;
    }
    let ordered: Vec<String> = ids
        .iter()
        .filter_map(|id| targets.get(id).cloned())
        .collect();
    if !ordered.is_empty() {
        return Ok(ordered);
    }
    let mut numbered: Vec<(u32, String)> = archive
        .names()
        .into_iter()
        .filter_map(|name| {
            let number = name
                .strip_prefix("ppt/slides/slide")?
                .strip_suffix(".xml")?
                .parse()
                .ok()?;
            Some((number, name))
        })
        .collect();
    numbered.sort();
    Ok(numbered.into_iter().map(|(_, name)| name).collect())
}

/// A relationship target, relative to `ppt/`, as an archive entry name.
fn resolve(target: &str) -> String {
    if let Some(absolute) = target.strip_prefix('/') {
        return absolute.to_owned();
    }
    let mut parts: Vec<&str> = vec!["ppt"];
    for part in target.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            part => parts.push(part),
        }
    }
    parts.join("/")
}
