//! What the routes reach: built once per process in `main`, borrowed by every request.

use shared::data_api::DataApi;
use shared::knowledge::items::Intake;
use shared::ports::embed::Embedder;
use shared::ports::{ObjectStore, Queue};
use shared::settings::Settings;

pub struct Deps {
    pub db: DataApi,
    pub store: Box<dyn ObjectStore>,
    /// The file-processing queue, for reprocessing and URL items.
    pub processing: Box<dyn Queue>,
    /// The assistant-runs queue the scheduled-executor consumes.
    pub assistant_runs: Box<dyn Queue>,
    pub embedder: Box<dyn Embedder>,
    /// Runtime settings (one per process: clones share the cache).
    pub settings: Settings,
}

impl Deps {
    /// The storage a repository item moves through.
    pub fn intake(&self) -> Intake<'_> {
        Intake {
            db: &self.db,
            store: self.store.as_ref(),
            processing: self.processing.as_ref(),
        }
    }
}
