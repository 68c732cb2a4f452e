//! A conservative token estimate that provably keeps chunks inside the embedding model's
//! input limit, without shipping a tokenizer.
//!
//! `estimate = ceil(ascii_bytes / 3) + non_ascii_chars`.
//!
//! Why it is safe: a UTF-8 character takes at most 4 bytes, so a text's byte length is at
//! most `3 * ceil(ascii / 3) + 4 * non_ascii <= 4 * estimate`. Byte-level tokenizers
//! (cl100k, o200k, SentencePiece with byte fallback as in Titan) never produce more
//! tokens than bytes, plus a couple of special tokens. So a chunk of at most
//! [`MAX_CHUNK_TOKENS`] estimated tokens has at most `4 * 2047 + 2 = 8190` real tokens,
//! under Titan Text Embeddings v2's 8,192 whatever the script or content.
//!
//! Why it is close enough: English prose runs about 4 characters per cl100k token, so
//! the estimate is about 1.3x the real count (a 512-token chunk holds ~1,500 characters,
//! ~380 cl100k tokens); code and numbers run closer to 3 characters per token; CJK text
//! counts one token per character, which is what cl100k spends on common ideographs.
//!
//! Why not a real tokenizer: Titan's tokenizer is not published, so cl100k would be an
//! approximation too, and `tiktoken-rs` adds its BPE tables (the cl100k ranks alone are
//! 1.7 MB, o200k 3.6 MB) to every Lambda that chunks, plus `fancy-regex`, and tokenizing
//! is one to two orders of magnitude slower than this count.

/// The input limit of the default embedding model (Amazon Titan Text Embeddings v2).
pub const MODEL_TOKEN_LIMIT: usize = 8_192;

/// Largest chunk, in estimated tokens, that cannot exceed [`MODEL_TOKEN_LIMIT`].
pub const MAX_CHUNK_TOKENS: usize = (MODEL_TOKEN_LIMIT - 2) / 4;
const _: () = assert!(4 * MAX_CHUNK_TOKENS + 2 <= MODEL_TOKEN_LIMIT);

/// ASCII bytes and lead bytes of other characters in eight bytes: ASCII bytes have the
/// top bit clear, lead bytes the top two set. Summing the per-byte flags by
/// multiplication needs no POPCNT instruction.
fn counts(word: u64) -> (usize, usize) {
    const TOP: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let sum = |flags: u64| ((flags >> 7).wrapping_mul(ONES) >> 56) as usize;
    (sum(!word & TOP), sum(word & (word << 1) & TOP))
}

/// Estimated tokens in `text`; never less than a quarter of its UTF-8 length.
pub fn estimate_tokens(text: &str) -> usize {
    if text.is_ascii() {
        return text.len().div_ceil(3);
    }
    let mut words = text.as_bytes().chunks_exact(8);
    let (mut ascii, mut non_ascii) = (0usize, 0usize);
    for word in &mut words {
        let (a, n) = counts(u64::from_le_bytes(
            <[u8; 8]>::try_from(word).unwrap_or_default(),
        ));
        ascii += a;
        non_ascii += n;
    }
    for &byte in words.remainder() {
        ascii += usize::from(byte < 0x80);
        non_ascii += usize::from(byte >= 0xC0);
    }
    ascii.div_ceil(3) + non_ascii
}

/// The end of the longest prefix of `text[from..]` whose estimate is at most `max`, on a
/// character boundary: one pass over the bytes it covers (eight at a time while the
/// prefix surely fits).
pub fn fit(text: &str, from: usize, max: usize) -> usize {
    let bytes = text.as_bytes();
    // Most text is ASCII: `3 * max` ASCII bytes are exactly `max` tokens, and one more
    // byte of any kind would pass the limit.
    if let Some(window) = bytes.get(from..from + 3 * max)
        && window.is_ascii()
    {
        return from + 3 * max;
    }
    let (mut ascii, mut non_ascii) = (0usize, 0usize);
    let mut at = from;
    // Eight bytes add at most eight to either count: take whole words while even that
    // would still fit.
    while at + 8 <= bytes.len() && (ascii + 8).div_ceil(3) + non_ascii + 8 <= max {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(&bytes[at..at + 8]).unwrap_or_default());
        let (a, n) = counts(word);
        ascii += a;
        non_ascii += n;
        at += 8;
    }
    while let Some(&byte) = bytes.get(at) {
        let (a, n) = (
            ascii + usize::from(byte < 0x80),
            non_ascii + usize::from(byte >= 0xC0),
        );
        if a.div_ceil(3) + n > max {
            // Only an ASCII byte or a lead byte adds to the estimate, so this is a
            // character boundary.
            break;
        }
        (ascii, non_ascii) = (a, n);
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_never_lets_bytes_exceed_four_per_token() {
        for text in [
            "plain English words, as in most documents.",
            "数据库连接池配置说明",
            "emoji 🎉🎉🎉 and accents éèê",
            "x",
            "",
        ] {
            assert!(text.len() <= 4 * estimate_tokens(text), "{text}");
        }
    }

    #[test]
    fn english_counts_about_a_token_per_three_characters() {
        assert_eq!(estimate_tokens("abcdef"), 2);
        assert_eq!(estimate_tokens("abcdefg"), 3);
        assert_eq!(estimate_tokens("é"), 1);
        assert_eq!(estimate_tokens("数据"), 2);
        let mixed = "Grüße aus Köln, 数据库 and more ASCII text after it.";
        let slow = mixed.chars().filter(char::is_ascii).count().div_ceil(3)
            + mixed.chars().filter(|c| !c.is_ascii()).count();
        assert_eq!(estimate_tokens(mixed), slow);
    }

    #[test]
    fn fit_finds_the_longest_prefix_within_the_limit_on_a_character_boundary() {
        let texts = [
            "plain English words, as in most documents, and then some more of them.".repeat(9),
            "数据库连接池配置说明".repeat(40),
            "emoji 🎉🎉 and accents éèê, mixed 数据 with ASCII.".repeat(20),
            "x".repeat(7),
        ];
        for text in &texts {
            for from in [0, 1, 5] {
                let from = (from..=text.len())
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap();
                for max in [1, 2, 3, 10, 64, 10_000] {
                    let end = fit(text, from, max);
                    assert!(text.is_char_boundary(end));
                    assert!(estimate_tokens(&text[from..end]) <= max);
                    if let Some(next) = text[end..].chars().next() {
                        let longer = end + next.len_utf8();
                        assert!(
                            estimate_tokens(&text[from..longer]) > max,
                            "{text} {from} {max}"
                        );
                    }
                }
            }
        }
    }
}
