//! Spreadsheets (XLSX, XLS, ODS) through `calamine`: one page per sheet, headed by the
//! sheet name, one tab-separated line per non-empty row.
//!
//! calamine builds each sheet as a dense grid spanning its used area, so two cells far
//! apart would allocate billions of empty ones. XLSX is therefore read with calamine's
//! streaming cell reader (sparse), and an ODS sheet's area is measured from its XML
//! before calamine expands it. XLS grids are bounded by the format (65,536 x 256).

use std::io::Cursor;

use calamine::{Data, Ods, Reader, Xls, Xlsx};

use super::archive::Archive;
use super::limits::PageWriter;
use super::xml::{self, Xml};
use super::{DocumentKind, ExtractError, Extracted, Limits};

/// Empty columns kept between two filled ones; wider gaps collapse to one separator.
const MAX_GAP: u32 = 16;

pub(crate) fn extract(
    bytes: &[u8],
    kind: DocumentKind,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    let format = kind.label();
    let corrupt = |error: calamine::Error| ExtractError::corrupt(format, error);
    let mut writer = PageWriter::new(limits);
    match kind {
        DocumentKind::Xlsx => {
            Archive::open(bytes, format, limits)?.verify_all()?;
            let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| corrupt(e.into()))?;
            for name in sheet_names(book.sheet_names(), limits)? {
                start_sheet(&mut writer, &name)?;
                let mut cells = book
                    .worksheet_cells_reader(&name)
                    .map_err(|e| corrupt(e.into()))?;
                let mut row = Row::default();
                let mut count = 0u64;
                while let Some(cell) = cells.next_cell().map_err(|e| corrupt(e.into()))? {
                    count += 1;
                    if count > limits.max_cells {
                        return Err(ExtractError::TooManyCells {
                            limit: limits.max_cells,
                        });
                    }
                    let (r, c) = cell.get_position();
                    if row.number != Some(r) {
                        row.flush(&mut writer)?;
                        row.number = Some(r);
                    }
                    row.push(c, cell_text(&Data::from(cell.get_value().clone())));
                }
                row.flush(&mut writer)?;
                writer.end_page()?;
            }
        }
        DocumentKind::Ods => {
            let mut archive = Archive::open(bytes, format, limits)?;
            archive.verify_all()?;
            if let Some(content) = archive.read("content.xml")? {
                check_ods_area(&content, limits)?;
            }
            let mut book: Ods<_> = Ods::new(Cursor::new(bytes)).map_err(|e| corrupt(e.into()))?;
            for name in sheet_names(book.sheet_names(), limits)? {
                let range = book.worksheet_range(&name).map_err(|e| corrupt(e.into()))?;
                write_range(&mut writer, &name, &range)?;
            }
        }
        _ => {
            let mut book: Xls<_> = Xls::new(Cursor::new(bytes)).map_err(|e| corrupt(e.into()))?;
            for name in sheet_names(book.sheet_names(), limits)? {
                let range = book.worksheet_range(&name).map_err(|e| corrupt(e.into()))?;
                write_range(&mut writer, &name, &range)?;
            }
        }
    }
    Ok(Extracted {
        kind,
        pages: writer.finish()?,
        needs_ocr: false,
        title: None,
    })
}

/// The sheet names, refused when there are more sheets than pages allowed.
fn sheet_names(names: Vec<String>, limits: &Limits) -> Result<Vec<String>, ExtractError> {
    if names.len() > limits.max_pages {
        return Err(ExtractError::TooManyPages {
            pages: names.len(),
            limit: limits.max_pages,
        });
    }
    Ok(names)
}

fn start_sheet(writer: &mut PageWriter, name: &str) -> Result<(), ExtractError> {
    writer.push_block(&format!("# {}", name.replace('\n', " ")))?;
    writer.push_str("\n")
}

fn write_range(
    writer: &mut PageWriter,
    name: &str,
    range: &calamine::Range<Data>,
) -> Result<(), ExtractError> {
    start_sheet(writer, name)?;
    for cells in range.rows() {
        let mut row = Row {
            number: Some(0),
            ..Row::default()
        };
        for (c, value) in cells.iter().enumerate() {
            row.push(u32::try_from(c).unwrap_or(u32::MAX), cell_text(value));
        }
        row.flush(writer)?;
    }
    writer.end_page()
}

/// The filled cells of one row, by column.
#[derive(Default)]
struct Row {
    number: Option<u32>,
    cells: Vec<(u32, String)>,
}

impl Row {
    fn push(&mut self, column: u32, text: String) {
        if !text.is_empty() {
            self.cells.push((column, text));
        }
    }

    fn flush(&mut self, writer: &mut PageWriter) -> Result<(), ExtractError> {
        if self.cells.is_empty() {
            return Ok(());
        }
        self.cells.sort_by_key(|(column, _)| *column);
        let mut line = String::new();
        let mut previous: Option<u32> = None;
        for (column, text) in self.cells.drain(..) {
            if let Some(previous) = previous {
                let gap = column.saturating_sub(previous).saturating_sub(1);
                line.push_str(&"\t".repeat(1 + gap.min(MAX_GAP) as usize));
            }
            line.push_str(&text);
            previous = Some(column);
        }
        writer.push_line(&line)
    }
}

fn cell_text(value: &Data) -> String {
    let text = match value {
        Data::DateTime(date) => match date.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN => at.format("%Y-%m-%d").to_string(),
            Some(at) => at.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => date.to_string(),
        },
        Data::Empty => return String::new(),
        other => other.to_string(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Refuses an ODS whose sheets would expand to more than `max_cells`: calamine repeats
/// rows and columns marked `number-*-repeated` across each sheet's used area.
fn check_ods_area(content: &[u8], limits: &Limits) -> Result<(), ExtractError> {
    const MAX_ROWS: u64 = 1_048_576;
    const MAX_COLUMNS: u64 = 16_384;
    let mut total = 0u64;
    let (mut row, mut first, mut last, mut width) = (0u64, None::<u64>, 0u64, 0u64);
    let (mut repeat, mut column, mut row_width) = (1u64, 0u64, 0u64);
    let repeats = |element: &quick_xml::events::BytesStart<'_>, key: &str| {
        xml::attr(element, key, false)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1)
            .max(1)
    };
    xml::for_each(
        content,
        "OpenDocument spreadsheet",
        limits.max_depth,
        |event| {
            match event {
                Xml::Start(element) | Xml::Empty(element) => match xml::name(element) {
                    "table" => (row, first, last, width) = (0, None, 0, 0),
                    "table-row" => {
                        repeat = repeats(element, "number-rows-repeated").min(MAX_ROWS);
                        (column, row_width) = (0, 0);
                    }
                    "table-cell" | "covered-table-cell" => {
                        column =
                            (column + repeats(element, "number-columns-repeated")).min(MAX_COLUMNS);
                        if xml::attr(element, "value-type", false).is_some() {
                            row_width = column;
                        }
                    }
                    _ => {}
                },
                Xml::End("table-row") => {
                    if row_width > 0 {
                        first.get_or_insert(row);
                        last = row + repeat;
                        width = width.max(row_width);
                    }
                    row = (row + repeat).min(MAX_ROWS);
                }
                Xml::End("table") => {
                    let area = last
                        .saturating_sub(first.unwrap_or(last))
                        .saturating_mul(width);
                    total = total.saturating_add(area);
                    if total > limits.max_cells {
                        return Err(ExtractError::TooManyCells {
                            limit: limits.max_cells,
                        });
                    }
                }
                _ => {}
            }
            Ok(())
        },
    )
}
