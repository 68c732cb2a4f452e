//! `studio`: the local stack's command line.

use std::process::ExitCode;

use clap::Parser;
use studio_local::cli::{self, args::Cli};

/// Parses the arguments (clap prints usage errors and exits 2), runs the verb, and prints a
/// failure as one line: `Error: ` and its causes, outermost first.
#[allow(clippy::print_stderr)]
#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tokio_postgres=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
