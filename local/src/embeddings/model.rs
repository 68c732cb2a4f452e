//! all-MiniLM-L6-v2 on the CPU: WordPiece tokens, six BERT layers (candle), mean pooling
//! over the real tokens, unit length — what sentence-transformers computes for it.
//!
//! The model reads 256 word pieces at a time. Longer texts (our chunks hold up to 512
//! tokens) are read in windows of that size, up to [`MAX_WINDOWS`], and their vectors
//! averaged, so that the end of a chunk counts as much as its start.

use std::path::Path;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

/// The model's name in requests and in `embeddings.model`.
pub const MODEL_ID: &str = "all-MiniLM-L6-v2";
/// The size of its vectors.
pub const DIMENSIONS: usize = 384;
/// Word pieces per window, `[CLS]` and `[SEP]` included (the model's `max_seq_length`).
const WINDOW: usize = 256;
/// Windows read per text: 2,032 word pieces. The rest of a longer text is not read.
const MAX_WINDOWS: usize = 8;
/// Characters of a text given to the tokenizer: more than eight windows can hold even at
/// one word piece per character, so tokenizing stays bounded whatever a caller sends.
const MAX_CHARS: usize = MAX_WINDOWS * WINDOW * 4;
/// Windows run through the model at once.
const BATCH: usize = 16;

pub struct Model {
    bert: BertModel,
    tokenizer: Tokenizer,
    cls: u32,
    sep: u32,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("id", &MODEL_ID).finish()
    }
}

/// One window of one text: its word pieces with `[CLS]`/`[SEP]`.
struct Window {
    text: usize,
    ids: Vec<u32>,
}

impl Model {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let read = |name: &str| {
            std::fs::read(dir.join(name))
                .with_context(|| format!("cannot read {}", dir.join(name).display()))
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .context("config.json is not a BERT configuration")?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| anyhow::anyhow!("tokenizer.json cannot be loaded: {e}"))?;
        // Windows are cut and framed here, so the tokenizer gives bare word pieces.
        tokenizer
            .with_truncation(None)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        tokenizer.with_padding(None);
        let token = |name: &str| {
            tokenizer
                .token_to_id(name)
                .with_context(|| format!("tokenizer.json has no {name} token"))
        };
        let (cls, sep) = (token("[CLS]")?, token("[SEP]")?);
        let weights = VarBuilder::from_buffered_safetensors(
            read("model.safetensors")?,
            DType::F32,
            &Device::Cpu,
        )
        .context("model.safetensors cannot be read")?;
        let bert = BertModel::load(weights, &config).context("the weights do not fit BERT")?;
        Ok(Self {
            bert,
            tokenizer,
            cls,
            sep,
        })
    }

    /// One unit vector per text, in order, and the word pieces read.
    pub fn embed(&self, texts: &[String]) -> anyhow::Result<(Vec<Vec<f32>>, usize)> {
        let mut windows = Vec::new();
        for (index, text) in texts.iter().enumerate() {
            windows.extend(self.windows(index, text)?);
        }
        let tokens = windows.iter().map(|w| w.ids.len()).sum();
        // Similar lengths together: a batch is padded to its longest window.
        windows.sort_by_key(|w| w.ids.len());
        let mut sums = vec![vec![0f32; DIMENSIONS]; texts.len()];
        for batch in windows.chunks(BATCH) {
            for (window, vector) in batch.iter().zip(self.forward(batch)?) {
                for (sum, value) in sums[window.text].iter_mut().zip(vector) {
                    *sum += value;
                }
            }
        }
        Ok((sums.into_iter().map(unit).collect(), tokens))
    }

    /// The text's word pieces in windows of at most [`WINDOW`], each framed by `[CLS]` and
    /// `[SEP]`; an empty text is one window of the two alone, as the model would read it.
    fn windows(&self, text: usize, content: &str) -> anyhow::Result<Vec<Window>> {
        let bounded = match content.char_indices().nth(MAX_CHARS) {
            Some((end, _)) => &content[..end],
            None => content,
        };
        let encoding = self
            .tokenizer
            .encode(bounded, false)
            .map_err(|e| anyhow::anyhow!("the text cannot be tokenized: {e}"))?;
        let pieces = encoding.get_ids();
        let frame = |piece: &[u32]| Window {
            text,
            ids: [&[self.cls], piece, &[self.sep]].concat(),
        };
        if pieces.is_empty() {
            return Ok(vec![frame(&[])]);
        }
        Ok(pieces
            .chunks(WINDOW - 2)
            .take(MAX_WINDOWS)
            .map(frame)
            .collect())
    }

    /// Mean-pooled, unnormalised vectors of a batch of windows.
    fn forward(&self, batch: &[Window]) -> anyhow::Result<Vec<Vec<f32>>> {
        let width = batch.iter().map(|w| w.ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(batch.len() * width);
        let mut mask = Vec::with_capacity(batch.len() * width);
        for window in batch {
            let padding = width - window.ids.len();
            ids.extend(
                window
                    .ids
                    .iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, padding)),
            );
            mask.extend(
                std::iter::repeat_n(1u32, window.ids.len()).chain(std::iter::repeat_n(0, padding)),
            );
        }
        let device = &Device::Cpu;
        let shape = (batch.len(), width);
        let ids = Tensor::from_vec(ids, shape, device)?;
        let mask = Tensor::from_vec(mask, shape, device)?;
        let types = ids.zeros_like()?;
        let hidden = self.bert.forward(&ids, &types, Some(&mask))?;
        // Mean over the real tokens only (padding masked out).
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?;
        Ok(summed.broadcast_div(&counts)?.to_vec2::<f32>()?)
    }
}

/// `v` scaled to length 1 (a zero vector stays zero).
fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}
