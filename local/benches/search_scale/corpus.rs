//! The generated corpus: chunk texts whose words follow a Zipf-like law (English stop words
//! first, then made-up words), their ids, the queries, and PostgreSQL binary COPY encoding.

use shared::providers::offline::HashingEmbedder;
use uuid::Uuid;

/// Chunks per repository item (a document of about 100 chunks, 150 KB of text).
pub const CHUNKS_PER_ITEM: u64 = 100;
/// Vocabulary size; word rank r is drawn with weight 1 / (r + 1)^ZIPF_S.
const VOCABULARY: usize = 50_000;
const ZIPF_S: f64 = 1.0;
/// The most frequent ranks are stop words (to_tsvector drops them), as in real prose.
const STOP_WORDS: &[&str] = &[
    "the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was", "with", "be",
    "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
    "an", "had", "they",
];
const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
    "tr",
];
const NUCLEI: &[&str] = &["a", "e", "i", "o", "u"];

pub fn repository_id() -> Uuid {
    Uuid::from_u128(0x5ca1_e000_0000_4000_8000_0000_0000_0001)
}
pub fn team_id() -> Uuid {
    Uuid::from_u128(0x5ca1_e000_0000_4000_8000_0000_0000_0002)
}
pub fn user_id() -> Uuid {
    Uuid::from_u128(0x5ca1_e000_0000_4000_8000_0000_0000_0003)
}
/// Item `j`; the SQL that creates items builds the same ids (see `load::ITEMS_SQL`).
pub fn item_id(j: u64) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8001_0000_0000_0000 | u128::from(j))
}
pub fn chunk_id(i: u64) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8002_0000_0000_0000 | u128::from(i))
}

/// splitmix64: small, fast, reproducible.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The vocabulary with its cumulative Zipf weights.
pub struct Words {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Words {
    pub fn new() -> Self {
        let mut words: Vec<String> = STOP_WORDS.iter().map(|w| (*w).to_owned()).collect();
        let syllable =
            |k: usize| format!("{}{}", ONSETS[k / NUCLEI.len()], NUCLEI[k % NUCLEI.len()]);
        let syllables = ONSETS.len() * NUCLEI.len();
        let mut k = 0usize;
        while words.len() < VOCABULARY {
            // Two to four syllables plus a closing consonant: "bakot", "trizumen".
            let count = 2 + k % 3;
            let mut word = String::new();
            let mut rest = k / 3;
            for _ in 0..count {
                word.push_str(&syllable(rest % syllables));
                rest /= syllables;
            }
            word.push(['n', 't', 'r', 'l'][k % 4]);
            words.push(word);
            k += 1;
        }
        let mut total = 0.0;
        let cumulative = (0..VOCABULARY)
            .map(|r| {
                total += 1.0 / ((r + 1) as f64).powf(ZIPF_S);
                total
            })
            .collect();
        Self { words, cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative[self.cumulative.len() - 1];
        let x = rng.unit() * total;
        let rank = self.cumulative.partition_point(|&c| c < x);
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// Chunk `i`'s text: 150 to 260 words in sentences, about 1.2 KB (the product's chunks
    /// average 1.2 KB in the ingestion benchmark's corpus). The same `i` gives the same text.
    pub fn chunk(&self, i: u64) -> String {
        let mut rng = Rng::new(i);
        let count = 150 + rng.below(111);
        let mut text = String::with_capacity(count as usize * 8);
        let mut sentence = 0;
        for n in 0..count {
            let word = self.draw(&mut rng);
            if sentence == 0 {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    text.extend(first.to_uppercase());
                    text.push_str(chars.as_str());
                }
            } else {
                text.push_str(word);
            }
            sentence += 1;
            if sentence > 8 && (rng.below(6) == 0 || n + 1 == count) {
                text.push_str(". ");
                sentence = 0;
            } else if n + 1 < count {
                text.push(' ');
            }
        }
        text.truncate(text.trim_end().len());
        text
    }

    /// `count` questions of 3 to 8 words drawn from the same law.
    pub fn queries(&self, count: usize, seed: u64) -> Vec<String> {
        let mut rng = Rng::new(seed);
        (0..count)
            .map(|_| {
                let n = 3 + rng.below(6);
                (0..n)
                    .map(|_| self.draw(&mut rng).to_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
}

/// PostgreSQL's binary COPY format, built by hand (pgvector's binary form is not a
/// tokio-postgres type): a header, tuples of length-prefixed fields, a trailer.
pub struct CopyBuf(pub Vec<u8>);

impl CopyBuf {
    pub fn with_header() -> Self {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        Self(buf)
    }
    pub fn trailer() -> Vec<u8> {
        (-1i16).to_be_bytes().to_vec()
    }
    pub fn tuple(&mut self, fields: i16) {
        self.0.extend_from_slice(&fields.to_be_bytes());
    }
    fn field(&mut self, bytes: &[u8]) {
        self.0
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.0.extend_from_slice(bytes);
    }
    pub fn uuid(&mut self, id: Uuid) {
        self.field(id.as_bytes());
    }
    pub fn text(&mut self, text: &str) {
        self.field(text.as_bytes());
    }
    pub fn int4(&mut self, n: i32) {
        self.field(&n.to_be_bytes());
    }
    /// pgvector's `vector_recv`: int16 dimensions, int16 unused, float4 values.
    pub fn vector(&mut self, values: &[f32]) {
        self.0
            .extend_from_slice(&(4 + 4 * values.len() as i32).to_be_bytes());
        self.0
            .extend_from_slice(&(values.len() as i16).to_be_bytes());
        self.0.extend_from_slice(&0i16.to_be_bytes());
        for v in values {
            self.0.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// Binary COPY rows for `chunks (id, item_id, repository_id, chunk_index, token_count, content)`.
pub fn chunk_rows(words: &Words, range: std::ops::Range<u64>, buf: &mut CopyBuf) {
    let repository = repository_id();
    for i in range {
        let text = words.chunk(i);
        buf.tuple(6);
        buf.uuid(chunk_id(i));
        buf.uuid(item_id(i / CHUNKS_PER_ITEM));
        buf.uuid(repository);
        buf.int4((i % CHUNKS_PER_ITEM) as i32);
        buf.int4(text.split(' ').count() as i32 * 4 / 3);
        buf.text(&text);
    }
}

/// Binary COPY rows for `embeddings (chunk_id, model, dimensions, embedding)`.
pub fn embedding_rows(
    words: &Words,
    embedder: &HashingEmbedder,
    range: std::ops::Range<u64>,
    buf: &mut CopyBuf,
) {
    for i in range {
        buf.tuple(4);
        buf.uuid(chunk_id(i));
        buf.text(HashingEmbedder::MODEL);
        buf.int4(crate::DIMENSIONS as i32);
        buf.vector(&embedder.vector(&words.chunk(i)));
    }
}
