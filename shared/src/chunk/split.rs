//! The splitter: cuts text into pieces of at most `max` estimated tokens, at the strongest
//! boundary the room allows, in time linear in the text whatever it holds.
//!
//! Boundaries, strongest first: a Markdown heading (h1 over h6), a paragraph break, a line
//! break, a sentence end, a space, and last any character (backing off a few characters
//! so that a combining mark or an emoji sequence stays whole).
//!
//! Each piece is found in one window: from where the piece starts, as far as `max`
//! tokens reach ([`tokens::fit`]). The cut is the last boundary of the strongest kind in
//! the window past the previous cut. A piece that follows a weak cut (inside a paragraph:
//! a sentence, a space, a character) repeats up to `overlap` tokens of the text before it,
//! from a word start, so no sentence loses its context; a piece that follows a paragraph
//! or a heading starts clean.
//!
//! Why linear: each window is scanned a bounded number of times (once to fit, at most once
//! per kind of boundary), and a window whose strongest boundary comes early leaves the
//! next window without a boundary of that kind, so at most one window in seven advances by
//! less than its overlap. The scans count the bytes they look at into `work`: the tests
//! check the count, not the clock.

use super::headings::Headings;
use super::tokens::fit;
use crate::extract::Deadline;

/// How strong a boundary is; stronger wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Strength {
    Char,
    Word,
    Sentence,
    Line,
    Paragraph,
    /// A heading: 1 for h6, up to 6 for h1.
    Heading(u8),
}

impl Strength {
    /// Whether the text on either side belongs to the same passage (so the next piece
    /// repeats a little of it).
    fn is_inside_a_paragraph(self) -> bool {
        self < Strength::Line
    }
}

/// A piece of the text: `start..end` in bytes, before trimming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Piece {
    pub start: usize,
    pub end: usize,
}

/// Characters the scan backs off over so that a character cut does not split what reads
/// as one symbol.
const GRAPHEME_BACKOFF: usize = 32;

pub(super) struct Splitter<'a> {
    text: &'a str,
    headings: &'a Headings,
    max: usize,
    overlap: usize,
    /// Bytes looked at so far.
    pub work: u64,
}

impl<'a> Splitter<'a> {
    pub fn new(text: &'a str, headings: &'a Headings, max: usize, overlap: usize) -> Self {
        debug_assert!(overlap < max);
        Self {
            text,
            headings,
            max,
            overlap,
            work: 0,
        }
    }

    /// Every piece, in order; stops with [`OutOfTime`](crate::extract::OutOfTime) when
    /// the deadline passes.
    pub fn pieces(&mut self, deadline: &Deadline) -> Result<Vec<Piece>, crate::extract::OutOfTime> {
        let len = self.text.len();
        let mut pieces = Vec::new();
        let mut segment = self.skip_space(0);
        let mut previous: Option<(usize, Strength)> = None;
        while segment < len {
            deadline.check()?;
            let start = match previous {
                Some((from, strength)) if strength.is_inside_a_paragraph() && self.overlap > 0 => {
                    self.overlap_start(from, segment)
                }
                _ => segment,
            };
            let limit = fit(self.text, start, self.max);
            self.work += (limit - start) as u64;
            if limit >= len {
                pieces.push(Piece { start, end: len });
                break;
            }
            let (cut, strength) = self.cut(segment, limit);
            pieces.push(Piece { start, end: cut });
            previous = Some((segment, strength));
            segment = self.skip_space(cut);
        }
        Ok(pieces)
    }

    /// The last boundary of the strongest kind in `after+1..=limit`: the piece ends
    /// there, and the boundary's own spaces go with neither piece.
    fn cut(&mut self, after: usize, limit: usize) -> (usize, Strength) {
        let bytes = self.text.as_bytes();
        let lo = after + 1;
        let region = &bytes[lo..(limit + 1).min(bytes.len())];
        let headings = self.headings.within(lo..lo + region.len());
        self.work += headings.len() as u64;
        if let Some(best) = headings.iter().map(|h| h.level).min()
            && let Some(heading) = headings.iter().rev().find(|h| h.level == best)
        {
            return (heading.start, Strength::Heading(7 - best));
        }
        // Paragraphs and lines in one backward pass over the newlines: a paragraph break
        // is a newline followed by a blank line.
        self.work += region.len() as u64;
        let mut line = None;
        let mut later: Option<usize> = None;
        for newline in memchr::memrchr_iter(b'\n', region) {
            line.get_or_insert(newline);
            if let Some(later) = later {
                let between = &region[newline + 1..later];
                self.work += between.len() as u64;
                if between.iter().all(u8::is_ascii_whitespace) {
                    return (lo + newline, Strength::Paragraph);
                }
            }
            later = Some(newline);
        }
        if let Some(line) = line {
            return (lo + line, Strength::Line);
        }
        if let Some(end) = self.sentence_end(lo, region.len()) {
            return (lo + end, Strength::Sentence);
        }
        if let Some(space) = memchr::memrchr3(b' ', b'\t', b'\x0B', region) {
            return (lo + space, Strength::Word);
        }
        (self.char_cut(after, limit), Strength::Char)
    }

    /// Where the last sentence in `bytes[lo..lo + len]` ends, measured from `lo`: at the
    /// space after `.`, `!` or `?` (and any closing quotes or brackets), or just after
    /// `。`, `！` or `？`.
    fn sentence_end(&mut self, lo: usize, len: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let region = &bytes[lo..lo + len];
        let mut at = region.len();
        while at > 0 {
            at -= 1;
            self.work += 1;
            match region[at] {
                // The last bytes of 。 (E3 80 82), ！ (EF BC 81) and ？ (EF BC 9F).
                0x82 if at >= 2 && region[at - 2..at] == [0xE3, 0x80] => return Some(at + 1),
                0x81 | 0x9F if at >= 2 && region[at - 2..at] == [0xEF, 0xBC] => {
                    return Some(at + 1);
                }
                b'.' | b'!' | b'?' => {
                    let rest = &region[at + 1..];
                    let closers = rest
                        .iter()
                        .take(3)
                        .take_while(|b| matches!(b, b'"' | b'\'' | b')' | b']'))
                        .count();
                    if rest.get(closers).is_some_and(u8::is_ascii_whitespace) {
                        return Some(at + 1 + closers);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// `limit`, or a little before it where no combining mark, joiner, variation
    /// selector or emoji modifier would be cut from its base.
    fn char_cut(&mut self, after: usize, limit: usize) -> usize {
        let mut at = limit;
        for _ in 0..GRAPHEME_BACKOFF {
            let next = self.text[at..].chars().next();
            let previous = self.text[..at].chars().next_back();
            let (Some(next), Some(previous)) = (next, previous) else {
                return limit;
            };
            if !extends(next) && previous != '\u{200D}' {
                return at;
            }
            let back = at - previous.len_utf8();
            if back <= after {
                break;
            }
            at = back;
            self.work += 1;
        }
        limit
    }

    /// Where a piece starts that repeats up to `overlap` tokens before `segment`, from a
    /// word start, but not before `from` (the previous piece's own new text).
    fn overlap_start(&mut self, from: usize, segment: usize) -> usize {
        let bytes = self.text.as_bytes();
        let (mut ascii, mut other) = (0usize, 0usize);
        let mut at = segment;
        while at > from {
            let byte = bytes[at - 1];
            let (a, o) = (
                ascii + usize::from(byte < 0x80),
                other + usize::from(byte >= 0xC0),
            );
            if a.div_ceil(3) + o > self.overlap {
                break;
            }
            (ascii, other) = (a, o);
            at -= 1;
        }
        self.work += (segment - at) as u64;
        // Start at the first word that begins inside the overlap.
        if at > from && !bytes[at - 1].is_ascii_whitespace() {
            match memchr::memchr3(b' ', b'\n', b'\t', &bytes[at..segment]) {
                Some(space) => at += space + 1,
                None => return segment,
            }
        }
        self.skip_space(at).min(segment)
    }

    fn skip_space(&mut self, from: usize) -> usize {
        let rest = &self.text.as_bytes()[from..];
        let spaces = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        self.work += spaces as u64;
        from + spaces
    }
}

/// Whether `c` belongs with the character before it.
fn extends(c: char) -> bool {
    unicode_normalization::char::is_combining_mark(c)
        || matches!(c,
            '\u{200C}' | '\u{200D}'             // joiners
            | '\u{FE00}'..='\u{FE0F}'           // variation selectors
            | '\u{1F3FB}'..='\u{1F3FF}'         // skin tone modifiers
            | '\u{E0020}'..='\u{E007F}'         // tag characters (flags of regions)
            | '\u{E0100}'..='\u{E01EF}')
}
