//! Adapters over plain HTTPS APIs (the model providers' are in [`crate::providers`]).

mod brave_web_search;

pub use brave_web_search::{BRAVE_BASE_URL, BraveWebSearch};
