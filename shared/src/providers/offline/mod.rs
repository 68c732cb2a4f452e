//! Offline: no network and no keys. Chat answers by quoting the retrieved passages, and
//! embeddings hash words; for the local stack, tests and a deploy before any key is set.

mod chat;
mod embed;

pub use chat::{OFFLINE_NOTICE, OfflineChat};
pub use embed::HashingEmbedder;

use std::sync::Arc;

use super::{ChatAdapter, EmbeddingAdapter, Provider};

pub static PROVIDER: Provider = Provider {
    name: "offline",
    settings: &[],
    chat: Some(ChatAdapter {
        build: |_| Box::pin(async { Ok(Arc::new(OfflineChat) as _) }),
        address: |_| None,
    }),
    embeddings: Some(EmbeddingAdapter {
        base_url_from: &[],
        build: |settings| {
            let dimensions = settings.dimensions;
            Box::pin(async move { Ok(Box::new(HashingEmbedder::new(dimensions)) as _) })
        },
    }),
};
