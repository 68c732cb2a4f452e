//! Builds test documents in memory: PDFs with lopdf, Office files with the zip crate,
//! and zip bombs written by hand so their declared sizes can lie.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{Cursor, Write};

use flate2::{Compress, Compression, FlushCompress};
use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use shared::extract::DocumentKind;

/// A PDF with one page per entry; each line of an entry is a line of Helvetica text.
pub fn pdf(pages: &[&str]) -> Vec<u8> {
    let mut doc = pdf_document(pages);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

pub fn pdf_document(pages: &[&str]) -> Document {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for text in pages {
        let mut operations = Vec::new();
        if !text.is_empty() {
            operations.push(Operation::new("BT", vec![]));
            operations.push(Operation::new("Tf", vec!["F1".into(), 12.into()]));
            operations.push(Operation::new("Td", vec![72.into(), 760.into()]));
            for (i, line) in text.lines().enumerate() {
                if i > 0 {
                    operations.push(Operation::new("Td", vec![0.into(), (-14).into()]));
                }
                operations.push(Operation::new("Tj", vec![Object::string_literal(line)]));
            }
            operations.push(Operation::new("ET", vec![]));
        }
        let content = Content { operations }.encode().unwrap();
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        kids.push(Object::from(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let info_id = doc.add_object(dictionary! { "Title" => Object::string_literal("Test report") });
    doc.trailer.set("Info", info_id);
    doc
}

/// A PDF that opens only with the user password `secret`.
pub fn encrypted_pdf(pages: &[&str]) -> Vec<u8> {
    let mut doc = pdf_document(pages);
    with_file_id(&mut doc);
    let state = lopdf::EncryptionState::try_from(lopdf::EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password: "secret",
        key_length: 128,
        permissions: lopdf::Permissions::all(),
    })
    .unwrap();
    doc.encrypt(&state).unwrap();
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// Gives the document the file identifier encryption keys derive from.
pub fn with_file_id(doc: &mut Document) {
    let id = Object::String(
        b"0123456789abcdef".to_vec(),
        lopdf::StringFormat::Hexadecimal,
    );
    doc.trailer.set("ID", vec![id.clone(), id]);
}

/// A zip archive of text entries, deflated, written with the zip crate.
pub fn zip<N: AsRef<str>>(entries: &[(N, String)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        writer.start_file(name.as_ref(), options).unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

/// A Word paragraph, optionally with a paragraph style.
pub fn para(style: Option<&str>, text: &str) -> String {
    let style = style.map_or(String::new(), |s| {
        format!(r#"<w:pPr><w:pStyle w:val="{s}"/></w:pPr>"#)
    });
    format!(r#"<w:p>{style}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#)
}

pub fn page_break() -> String {
    r#"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"#.to_owned()
}

pub fn word_table(rows: &[&[&str]]) -> String {
    let rows: String = rows
        .iter()
        .map(|cells| {
            let cells: String = cells
                .iter()
                .map(|c| format!("<w:tc>{}</w:tc>", para(None, c)))
                .collect();
            format!("<w:tr>{cells}</w:tr>")
        })
        .collect();
    format!("<w:tbl>{rows}</w:tbl>")
}

/// A .docx whose body is `body` (Word paragraphs), with Word's heading styles: ids
/// `Heading1`, `Heading2` named "heading 1/2", and `Custom3` based on `Heading2`.
pub fn docx(body: &str) -> Vec<u8> {
    zip(&docx_entries(body))
}

pub fn docx_entries(body: &str) -> Vec<(String, String)> {
    let style = |id: &str, name: &str, based: &str| {
        format!(
            r#"<w:style w:type="paragraph" w:styleId="{id}"><w:name w:val="{name}"/>{based}</w:style>"#
        )
    };
    vec![
        ("[Content_Types].xml".to_owned(), CONTENT_TYPES.to_owned()),
        ("word/document.xml".to_owned(), format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}</w:body></w:document>"#)),
        ("word/styles.xml".to_owned(), format!(
            r#"<?xml version="1.0"?><w:styles {W}>{}{}{}</w:styles>"#,
            style("Heading1", "heading 1", ""),
            style("Heading2", "heading 2", ""),
            style("Custom3", "Fancy", r#"<w:basedOn w:val="Heading2"/>"#),
        )),
        ("docProps/core.xml".to_owned(), r#"<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Quarterly report</dc:title></cp:coreProperties>"#.to_owned()),
    ]
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;
const P: &str = r#"xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;

/// A .pptx with one slide per `(title, body)`, stored under file names in reverse
/// order so only the presentation's own slide list gives the right order.
pub fn pptx(slides: &[(&str, &str)]) -> Vec<u8> {
    let n = slides.len();
    let mut entries = vec![("[Content_Types].xml".to_owned(), CONTENT_TYPES.to_owned())];
    let ids: String = (0..n)
        .map(|i| format!(r#"<p:sldId id="{}" r:id="rId{}"/>"#, 256 + i, 10 + i))
        .collect();
    entries.push((
        "ppt/presentation.xml".to_owned(),
        format!(r#"<p:presentation {P}><p:sldIdLst>{ids}</p:sldIdLst></p:presentation>"#),
    ));
    let rels: String = (0..n)
        .map(|i| {
            format!(
                r#"<Relationship Id="rId{}" Type="slide" Target="slides/slide{}.xml"/>"#,
                10 + i,
                n - i
            )
        })
        .collect();
    entries.push(("ppt/_rels/presentation.xml.rels".to_owned(), format!(r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#)));
    for (i, (title, body)) in slides.iter().enumerate() {
        let shape = |kind: &str, text: &str| {
            format!(
                r#"<p:sp><p:nvSpPr><p:cNvPr id="1" name="s"/><p:cNvSpPr/><p:nvPr><p:ph type="{kind}"/></p:nvPr></p:nvSpPr><p:txBody><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:txBody></p:sp>"#
            )
        };
        entries.push((
            format!("ppt/slides/slide{}.xml", n - i),
            format!(
                r#"<p:sld {P}><p:cSld><p:spTree>{}{}</p:spTree></p:cSld></p:sld>"#,
                shape("title", title),
                shape("body", body)
            ),
        ));
    }
    zip(&entries)
}

/// An .xlsx with one sheet per entry; each row is a list of inline strings.
pub fn xlsx(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
    zip(&xlsx_entries(sheets))
}

pub fn xlsx_entries(sheets: &[(&str, &[&[&str]])]) -> Vec<(String, String)> {
    const S: &str = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;
    let list: String = sheets
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            format!(
                r#"<sheet name="{name}" sheetId="{}" r:id="rId{}"/>"#,
                i + 1,
                i + 1
            )
        })
        .collect();
    let rels: String = (0..sheets.len())
        .map(|i| format!(r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{}.xml"/>"#, i + 1, i + 1))
        .collect();
    let mut entries = vec![
        ("[Content_Types].xml".to_owned(), CONTENT_TYPES.to_owned()),
        ("_rels/.rels".to_owned(), r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned()),
        ("xl/workbook.xml".to_owned(), format!(r#"<workbook {S}><sheets>{list}</sheets></workbook>"#)),
        ("xl/_rels/workbook.xml.rels".to_owned(), format!(r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#)),
    ];
    for (i, (_, rows)) in sheets.iter().enumerate() {
        let rows: String = rows
            .iter()
            .enumerate()
            .map(|(r, cells)| {
                let cells: String = cells
                    .iter()
                    .enumerate()
                    .map(|(c, text)| {
                        format!(
                            r#"<c r="{}{}" t="inlineStr"><is><t>{text}</t></is></c>"#,
                            (b'A' + c as u8) as char,
                            r + 1
                        )
                    })
                    .collect();
                format!(r#"<row r="{}">{cells}</row>"#, r + 1)
            })
            .collect();
        entries.push((
            format!("xl/worksheets/sheet{}.xml", i + 1),
            format!(r#"<worksheet {S}><sheetData>{rows}</sheetData></worksheet>"#),
        ));
    }
    entries
}

/// One entry of a hand-written zip: its name, deflated bytes, CRC and the sizes the
/// archive declares (which a bomb may make up).
pub struct RawEntry {
    pub name: String,
    pub deflated: Vec<u8>,
    pub crc: u32,
    pub declared_size: u32,
}

impl RawEntry {
    pub fn text(name: &str, content: &str) -> Self {
        let mut compress = Compress::new(Compression::default(), false);
        let mut deflated = Vec::with_capacity(content.len() + 64);
        compress
            .compress_vec(content.as_bytes(), &mut deflated, FlushCompress::Finish)
            .unwrap();
        Self {
            name: name.to_owned(),
            deflated,
            crc: crc32fast::hash(content.as_bytes()),
            declared_size: content.len() as u32,
        }
    }

    /// `mib` MiB of zeros in a deflate stream of about a KiB per MiB, built by repeating
    /// one fully flushed segment (so a 1 GiB bomb takes milliseconds to make).
    pub fn zeros(name: &str, mib: usize, declared_size: u32) -> Self {
        let mut compress = Compress::new(Compression::best(), false);
        let zeros = vec![0u8; 1 << 20];
        let mut segment = Vec::with_capacity(1 << 16);
        compress
            .compress_vec(&zeros, &mut segment, FlushCompress::Full)
            .unwrap();
        assert_eq!(compress.total_in(), 1 << 20);
        let mut deflated = Vec::with_capacity(segment.len() * mib + 16);
        for _ in 0..mib {
            deflated.extend_from_slice(&segment);
        }
        let mut tail = Vec::with_capacity(64);
        compress
            .compress_vec(&[], &mut tail, FlushCompress::Finish)
            .unwrap();
        deflated.extend_from_slice(&tail);
        Self {
            name: name.to_owned(),
            deflated,
            crc: 0,
            declared_size,
        }
    }
}

/// Writes a zip archive (local headers, central directory, end record) of raw entries.
pub fn raw_zip(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let offset = out.len() as u32;
        let fields = |out: &mut Vec<u8>| {
            out.extend_from_slice(&8u16.to_le_bytes());
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(&entry.crc.to_le_bytes());
            out.extend_from_slice(&(entry.deflated.len() as u32).to_le_bytes());
            out.extend_from_slice(&entry.declared_size.to_le_bytes());
            out.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&[0x50, 0x4B, 0x03, 0x04, 20, 0, 0, 0]);
        fields(&mut out);
        out.extend_from_slice(entry.name.as_bytes());
        out.extend_from_slice(&entry.deflated);
        central.extend_from_slice(&[0x50, 0x4B, 0x01, 0x02, 20, 0, 20, 0, 0, 0]);
        fields(&mut central);
        central.extend_from_slice(&[0; 10]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(entry.name.as_bytes());
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&[0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A DOCX (or, for any other kind, an XLSX) with the parts it needs to be recognised and
/// one entry of a GiB of zeros deflated to a MiB, declaring `declared` bytes.
pub fn zip_bomb(kind: DocumentKind, declared: u32) -> Vec<u8> {
    let (entries, target) = match kind {
        DocumentKind::Docx => (docx_entries(""), "word/document.xml"),
        _ => (
            xlsx_entries(&[("S", &[&["a"]])]),
            "xl/worksheets/sheet1.xml",
        ),
    };
    let mut raw: Vec<RawEntry> = entries
        .iter()
        .filter(|(name, _)| name != target)
        .map(|(name, content)| RawEntry::text(name, content))
        .collect();
    raw.push(RawEntry::zeros(target, 1024, declared));
    raw_zip(&raw)
}
