//! Embeds `schema/*.sql` for `shared::migrate::embedded` (feature `embedded-migrations`),
//! so db-init's binary carries its own migrations.

use std::fmt::Write;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let schema = manifest.join("../schema").canonicalize()?;
    println!("cargo:rerun-if-changed={}", schema.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&schema)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    let mut code = String::from("&[\n");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("non-UTF-8 file name")?;
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )?;
    }
    code.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("migrations.rs");
    std::fs::write(out, code)?;
    Ok(())
}
