//! An embedder that needs no network: feature hashing of words and word pairs into a fixed
//! number of dimensions, L2-normalised. It is lexical (texts sharing words land close),
//! not semantic, and deterministic, which is what the local stack and tests need.

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::ports::embed::{EmbedError, Embedder};

#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    model: String,
    dimensions: usize,
}

impl HashingEmbedder {
    pub const MODEL: &'static str = "offline-hash-embedder";

    pub fn new(dimensions: usize) -> Self {
        Self {
            model: Self::MODEL.to_owned(),
            dimensions: dimensions.max(1),
        }
    }

    /// The vector of one text.
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut vector = vec![0f32; self.dimensions];
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let mut add = |feature: &str, weight: f32| {
            let digest = Sha256::digest(feature.as_bytes());
            let bucket = u64::from_le_bytes([
                digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6],
                digest[7],
            ]);
            let index = (bucket % self.dimensions as u64) as usize;
            let sign = if digest[8] & 1 == 0 { 1.0 } else { -1.0 };
            vector[index] += sign * weight;
        };
        for word in &words {
            add(word, 1.0);
        }
        for pair in words.windows(2) {
            add(&format!("{} {}", pair[0], pair[1]), 0.5);
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|x| *x /= norm);
        }
        vector
    }
}

#[async_trait]
impl Embedder for HashingEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn max_batch(&self) -> usize {
        256
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_are_deterministic_unit_length_and_lexical() {
        let embedder = HashingEmbedder::new(1024);
        let a = embedder.vector("The quarterly revenue grew by ten percent");
        assert_eq!(
            a,
            embedder.vector("the QUARTERLY revenue grew by ten percent!")
        );
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
        let near = embedder.vector("revenue grew this quarter");
        let far = embedder.vector("penguins live in Antarctica");
        assert!(cosine(&a, &near) > cosine(&a, &far) + 0.1);
        assert!(embedder.vector("").iter().all(|x| *x == 0.0));
    }
}
