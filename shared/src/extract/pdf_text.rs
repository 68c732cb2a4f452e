//! The text of one PDF page: a walk over its content stream (and the form XObjects it
//! draws) that decodes strings with each font's encoding and breaks lines and words
//! where the text position jumps. lopdf's own `extract_text` ignores the positioning
//! operators (`Td`, `Tm`), gluing lines together, and skips form XObjects.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};

/// Deepest chain of form XObjects followed.
const MAX_FORM_DEPTH: usize = 8;
/// Most content-stream operations read per page, bounding pages of vector art and
/// forms reused many times over.
const MAX_OPERATIONS_PER_PAGE: usize = 2_000_000;
/// Most bytes one page's content (or one font's ToUnicode map) may inflate to.
const MAX_STREAM_BYTES: usize = 64 * 1024 * 1024;

/// The text of one page; content that cannot be read yields what was read before it.
/// Fonts decoded once per document, by object id: pages usually share their fonts, and
/// decoding a ToUnicode map again for every page would repeat the same work.
pub(super) type FontCache<'a> = HashMap<ObjectId, Option<Rc<Font<'a>>>>;

pub(super) fn page_text<'a>(
    doc: &'a Document,
    page_id: ObjectId,
    cache: &mut FontCache<'a>,
) -> String {
    let content = doc
        .get_page_content_with_limit(page_id, MAX_STREAM_BYTES)
        .unwrap_or_default();
    let (direct, inherited) = doc
        .get_page_resources(page_id)
        .unwrap_or((None, Vec::new()));
    let dicts: Vec<&Dictionary> = direct
        .into_iter()
        .chain(
            inherited
                .iter()
                .filter_map(|id| doc.get_dictionary(*id).ok()),
        )
        .collect();
    let mut fonts = Fonts::default();
    for dict in &dicts {
        fonts.add_from(doc, dict, cache);
    }
    let xobjects = dicts
        .iter()
        .find_map(|dict| dict_entry(doc, dict, b"XObject"));
    let mut walker = Walker {
        doc,
        cache,
        out: String::new(),
        operations: 0,
        path: HashSet::new(),
    };
    walker.walk(&content, &fonts, xobjects, 0);
    walker.out
}

/// A font's decoder and enough metrics to tell where a word ends.
pub(super) struct Font<'a> {
    encoding: Encoding<'a>,
    first_char: i64,
    widths: Vec<f64>,
    two_byte: bool,
}

impl Font<'_> {
    /// Advance of `bytes` in thousandths of an em; unknown widths count as half an em.
    fn advance(&self, bytes: &[u8]) -> f64 {
        if self.two_byte {
            return bytes.len() as f64 * 250.0;
        }
        bytes
            .iter()
            .map(|&b| {
                usize::try_from(i64::from(b) - self.first_char)
                    .ok()
                    .and_then(|i| self.widths.get(i).copied())
                    .filter(|w| *w > 0.0)
                    .unwrap_or(500.0)
            })
            .sum()
    }
}

impl<'a> Font<'a> {
    fn load(doc: &'a Document, font: &'a Dictionary) -> Option<Self> {
        let encoding = font
            .get_font_encoding_with_limit(doc, MAX_STREAM_BYTES)
            .ok()?;
        let number = |key: &[u8]| font.get(key).ok().and_then(|o| as_number(doc, o));
        let widths = match font.get(b"Widths").ok().map(|o| resolve(doc, o)) {
            Some(Object::Array(items)) => items
                .iter()
                .map(|o| as_number(doc, o).unwrap_or(0.0))
                .collect(),
            _ => Vec::new(),
        };
        Some(Self {
            encoding,
            first_char: number(b"FirstChar").unwrap_or(0.0) as i64,
            widths,
            two_byte: font.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Type0"),
        })
    }
}

/// The fonts a content stream can select, by resource name.
#[derive(Default)]
struct Fonts<'a>(BTreeMap<Vec<u8>, Rc<Font<'a>>>);

impl<'a> Fonts<'a> {
    fn add_from(
        &mut self,
        doc: &'a Document,
        resources: &'a Dictionary,
        cache: &mut FontCache<'a>,
    ) {
        let Some(fonts) = dict_entry(doc, resources, b"Font") else {
            return;
        };
        for (name, value) in fonts.iter() {
            if self.0.contains_key(name) {
                continue;
            }
            let font = match value {
                Object::Reference(id) => cache
                    .entry(*id)
                    .or_insert_with(|| {
                        let dict = doc.get_dictionary(*id).ok()?;
                        Font::load(doc, dict).map(Rc::new)
                    })
                    .clone(),
                Object::Dictionary(dict) => Font::load(doc, dict).map(Rc::new),
                _ => None,
            };
            if let Some(font) = font {
                self.0.insert(name.clone(), font);
            }
        }
    }
}

/// A 2-D affine matrix `[a b c d e f]` as PDF writes it.
type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

struct Walker<'a, 'c> {
    doc: &'a Document,
    cache: &'c mut FontCache<'a>,
    out: String,
    operations: usize,
    path: HashSet<ObjectId>,
}

/// Text state within one content stream.
struct TextState<'f, 'a> {
    font: Option<&'f Font<'a>>,
    size: f64,
    leading: f64,
    matrix: Matrix,
    line: Matrix,
    /// Where the last shown text ended, to tell a word gap or a new line.
    last_end: Option<(f64, f64)>,
}

impl<'a> Walker<'a, '_> {
    fn walk(
        &mut self,
        content: &[u8],
        fonts: &Fonts<'a>,
        xobjects: Option<&'a Dictionary>,
        depth: usize,
    ) {
        let mut state = TextState {
            font: None,
            size: 1.0,
            leading: 0.0,
            matrix: IDENTITY,
            line: IDENTITY,
            last_end: None,
        };
        for operation in Content::decode_iter(content) {
            let Ok(operation) = operation else { break };
            self.operations += 1;
            if self.operations > MAX_OPERATIONS_PER_PAGE {
                break;
            }
            let operands = &operation.operands;
            let num = |i: usize| {
                operands
                    .get(i)
                    .and_then(|o| as_number(self.doc, o))
                    .unwrap_or(0.0)
            };
            match operation.operator.as_str() {
                "BT" => {
                    state.matrix = IDENTITY;
                    state.line = IDENTITY;
                }
                "Tf" => {
                    state.font = operands
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .and_then(|name| fonts.0.get(name))
                        .map(Rc::as_ref);
                    state.size = num(1);
                }
                "TL" => state.leading = num(0),
                "Td" => state.move_line(num(0), num(1)),
                "TD" => {
                    state.leading = -num(1);
                    state.move_line(num(0), num(1));
                }
                "Tm" => {
                    state.line = [num(0), num(1), num(2), num(3), num(4), num(5)];
                    state.matrix = state.line;
                }
                "T*" => state.move_line(0.0, -state.leading),
                "Tj" => self.show(&mut state, operands.first()),
                "'" => {
                    state.move_line(0.0, -state.leading);
                    self.show(&mut state, operands.first());
                }
                "\"" => {
                    state.move_line(0.0, -state.leading);
                    self.show(&mut state, operands.get(2));
                }
                "TJ" => {
                    if let Some(Object::Array(items)) = operands.first() {
                        for item in items {
                            match item {
                                Object::String(..) => self.show(&mut state, Some(item)),
                                other => {
                                    let kern = as_number(self.doc, other).unwrap_or(0.0);
                                    state.advance(-kern);
                                }
                            }
                        }
                    }
                }
                "Do" if depth < MAX_FORM_DEPTH => {
                    let name = operands.first().and_then(|o| o.as_name().ok());
                    if let (Some(name), Some(xobjects)) = (name, xobjects) {
                        self.form(xobjects, name, fonts, depth);
                    }
                }
                _ => {}
            }
        }
    }

    /// Walks a form XObject (a reusable piece of page content) with its own resources.
    fn form(&mut self, xobjects: &'a Dictionary, name: &[u8], fonts: &Fonts<'a>, depth: usize) {
        let Ok(Object::Reference(id)) = xobjects.get(name) else {
            return;
        };
        if !self.path.insert(*id) {
            return;
        }
        if let Ok(Object::Stream(stream)) = self.doc.get_object(*id)
            && stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Form")
            && let Ok(content) = stream.get_plain_content_with_limit(MAX_STREAM_BYTES)
        {
            let resources = dict_entry(self.doc, &stream.dict, b"Resources");
            let mut own = Fonts::default();
            if let Some(resources) = resources {
                own.add_from(self.doc, resources, self.cache);
            }
            let own_xobjects = resources.and_then(|r| dict_entry(self.doc, r, b"XObject"));
            let fonts = if own.0.is_empty() { fonts } else { &own };
            self.break_line();
            self.walk(&content, fonts, own_xobjects.or(Some(xobjects)), depth + 1);
        }
        self.path.remove(id);
    }

    fn show(&mut self, state: &mut TextState<'_, 'a>, operand: Option<&Object>) {
        let (Some(Object::String(bytes, _)), Some(font)) = (operand, state.font) else {
            return;
        };
        let Ok(text) = font.encoding.bytes_to_string(bytes) else {
            return;
        };
        let (x, y) = (state.matrix[4], state.matrix[5]);
        let size = (state.size * state.matrix[0].abs().max(state.matrix[3].abs())).max(0.1);
        if let Some((last_x, last_y)) = state.last_end {
            let dy = (y - last_y).abs();
            if dy > size * 1.7 {
                self.break_paragraph();
            } else if dy > size * 0.5 || x < last_x - size * 4.0 {
                self.break_line();
            } else if (x - last_x).abs() > size * 0.15 {
                self.space();
            }
        } else {
            self.break_line();
        }
        self.out.push_str(&text);
        state.advance(font.advance(bytes));
        state.last_end = Some((state.matrix[4], state.matrix[5]));
    }

    fn space(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with(char::is_whitespace) {
            self.out.push(' ');
        }
    }

    fn break_line(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.truncate(self.out.trim_end_matches(' ').len());
            self.out.push('\n');
        }
    }

    fn break_paragraph(&mut self) {
        self.break_line();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }
}

impl TextState<'_, '_> {
    fn move_line(&mut self, tx: f64, ty: f64) {
        let [a, b, c, d, e, f] = self.line;
        self.line = [a, b, c, d, e + tx * a + ty * c, f + tx * b + ty * d];
        self.matrix = self.line;
    }

    /// Moves the text position by `thousandths` of an em along the baseline.
    fn advance(&mut self, thousandths: f64) {
        let distance = thousandths / 1000.0 * self.size;
        self.matrix[4] += distance * self.matrix[0];
        self.matrix[5] += distance * self.matrix[1];
    }
}

fn resolve<'a>(doc: &'a Document, object: &'a Object) -> &'a Object {
    match object {
        Object::Reference(id) => doc.get_object(*id).unwrap_or(object),
        other => other,
    }
}

fn as_number(doc: &Document, object: &Object) -> Option<f64> {
    match resolve(doc, object) {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

fn dict_entry<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Dictionary> {
    match resolve(doc, dict.get(key).ok()?) {
        Object::Dictionary(dict) => Some(dict),
        _ => None,
    }
}
