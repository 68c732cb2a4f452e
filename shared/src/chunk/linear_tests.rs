//! The chunker's work grows linearly with its input, on generated pathological text: the
//! bytes its scans look at are counted, never timed. Each family is generated at three
//! sizes from a seed; at every size the work per byte stays under a fixed bound, and the
//! chunks keep their promises (within the token limit, nothing lost, nothing invented).

use super::*;

/// A small deterministic generator (xorshift64*), so a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A family of pathological text: appends about `size` bytes to `out`.
type Family = fn(&mut Rng, &mut String, usize);

fn repeat(rng: &mut Rng, out: &mut String, size: usize, pieces: &[&str]) {
    while out.len() < size {
        out.push_str(rng.pick(pieces));
    }
}

const FAMILIES: &[(&str, Family)] = &[
    ("no whitespace", |rng, out, size| {
        repeat(rng, out, size, &["a", "b", "Z", "0", "_", "é"]);
    }),
    ("one huge line of words", |rng, out, size| {
        repeat(
            rng,
            out,
            size,
            &["lorem ", "ipsum ", "dolor ", "sit ", "amet "],
        );
    }),
    ("only punctuation", |rng, out, size| {
        repeat(
            rng,
            out,
            size,
            &[".", "!", "?", ",", ";", "…", "\"", ")", "-"],
        );
    }),
    ("sentence ends everywhere", |rng, out, size| {
        repeat(
            rng,
            out,
            size,
            &[". ", "! ", "? ", ".\" ", "a. ", "。", "！"],
        );
    }),
    ("mixed scripts", |rng, out, size| {
        repeat(
            rng,
            out,
            size,
            &[
                "数据库",
                "مرحبا",
                "привет",
                "नमस्ते",
                "שלום",
                "abc",
                "ελληνικά",
                " ",
                "한국어",
            ],
        );
    }),
    ("combining marks", |rng, out, size| {
        out.push('Z');
        repeat(
            rng,
            out,
            size,
            &["\u{0301}", "\u{0336}", "\u{20DD}", "\u{0489}"],
        );
    }),
    ("emoji sequences", |rng, out, size| {
        repeat(
            rng,
            out,
            size,
            &["👨‍👩‍👧‍👦", "🇫🇷", "👍🏽", "🏳️‍🌈", "\u{200D}", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "❤️"],
        );
    }),
    ("right-to-left and bidi controls", |rng, out, size| {
        repeat(
            rng,
            out,
            size,
            &[
                "\u{202E}", "\u{202B}", "שלום", "عربي", "\u{200F}", "\u{2067}", " ", "\u{202C}",
            ],
        );
    }),
    ("control characters", |rng, out, size| {
        repeat(
            rng,
            out,
            size,
            &[
                "\u{1}", "\u{7}", "\u{1B}", "\u{7F}", "\r", "\u{B}", "\u{C}", "x", "\u{85}",
            ],
        );
    }),
    ("newlines and blank lines", |rng, out, size| {
        repeat(
            rng,
            out,
            size,
            &["\n", "\n\n", " \n", "\r\n", "a\n", "\t\n"],
        );
    }),
    ("headings and fences", |rng, out, size| {
        repeat(
            rng,
            out,
            size,
            &[
                "# a\n",
                "######\n",
                "```\n",
                "~~~~\n",
                "x\n===\n",
                "##b\n",
                "- \n---\n",
            ],
        );
    }),
    ("everything at once", |rng, out, size| {
        while out.len() < size {
            let (_, family) = FAMILIES[rng.below(FAMILIES.len() - 1)];
            let piece = out.len() + 1 + rng.below(4096);
            family(rng, out, piece.min(size));
        }
    }),
];

fn generate(family: Family, seed: u64, size: usize) -> String {
    let mut rng = Rng(seed | 1);
    let mut out = String::with_capacity(size + 64);
    family(&mut rng, &mut out, size);
    out
}

fn chunked(text: &str, structure: Structure, config: &ChunkConfig) -> (Vec<Chunk>, u64) {
    let pages = [Page {
        number: 1,
        text: text.to_owned(),
    }];
    chunk_pages_by(&pages, structure, config, &Deadline::none()).unwrap()
}

/// Bytes looked at per byte of input, at most. A scan over the text once to fit, a few
/// times to find boundaries and once more to copy the chunks out stays under it.
const WORK_PER_BYTE: u64 = 12;

#[test]
fn work_grows_linearly_with_the_size_of_pathological_text() {
    for (name, family) in FAMILIES {
        for structure in [Structure::Plain, Structure::Markdown] {
            for seed in [7, 1_234_567] {
                let mut per_byte = Vec::new();
                for size in [16 << 10, 128 << 10, 1 << 20] {
                    let text = generate(*family, seed, size);
                    let (chunks, work) = chunked(&text, structure, &ChunkConfig::default());
                    assert!(
                        work <= WORK_PER_BYTE * text.len() as u64 + 4096,
                        "{name} ({structure:?}, seed {seed}, {} bytes): {work} bytes of work",
                        text.len()
                    );
                    assert!(chunks.iter().all(|c| c.token_count <= 512), "{name}");
                    per_byte.push(work as f64 / text.len() as f64);
                }
                // Sixty-four times the text costs at most a little more per byte.
                assert!(
                    per_byte[2] <= per_byte[0] * 1.25 + 0.5,
                    "{name} ({structure:?}, seed {seed}): work per byte {per_byte:?}"
                );
            }
        }
    }
}

#[test]
fn pathological_text_loses_nothing_and_invents_nothing() {
    let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let config = ChunkConfig {
        max_tokens: 64,
        overlap_tokens: 0,
    };
    for (name, family) in FAMILIES {
        for seed in 1..=5 {
            let text = generate(*family, seed, 24 << 10);
            for structure in [Structure::Plain, Structure::Markdown] {
                let (chunks, _) = chunked(&text, structure, &config);
                let joined: String = chunks.iter().map(|c| c.text.as_str()).collect();
                assert_eq!(strip(&joined), strip(&text), "{name}, seed {seed}");
                for chunk in &chunks {
                    assert!(
                        estimate_tokens(&chunk.text) <= 64,
                        "{name}: {:?}",
                        chunk.text
                    );
                }
            }
            let overlapping = ChunkConfig {
                max_tokens: 64,
                overlap_tokens: 16,
            };
            let (chunks, _) = chunked(&text, Structure::Plain, &overlapping);
            assert!(
                chunks.iter().all(|c| text.contains(&c.text)),
                "{name}, seed {seed}: a chunk is not a passage of the text"
            );
        }
    }
}

#[test]
fn a_five_megabyte_line_of_one_emoji_chunks_in_a_few_passes() {
    let text = "🎉".repeat(5 << 20 >> 2);
    let (chunks, work) = chunked(&text, Structure::Markdown, &ChunkConfig::default());
    assert_eq!(chunks.len(), text.len().div_ceil(512 * 4));
    assert!(work <= 6 * text.len() as u64, "{work}");
    assert_eq!(
        chunks.iter().map(|c| c.text.len()).sum::<usize>(),
        text.len()
    );
}

#[test]
fn a_passed_deadline_stops_chunking_with_a_reason() {
    let pages = [Page {
        number: 1,
        text: "words ".repeat(10_000),
    }];
    let spent = Deadline::after(std::time::Duration::ZERO);
    let error =
        chunk_pages_by(&pages, Structure::Plain, &ChunkConfig::default(), &spent).unwrap_err();
    assert!(matches!(error, ChunkError::OutOfTime(_)));
    assert!(
        error.to_string().contains("split it into smaller files"),
        "{error}"
    );
}
