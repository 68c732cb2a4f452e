//! What `studio up` is asked to run: where, on which ports, which template with which
//! parameters.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Options {
    /// Where PostgreSQL's data, logs and `stack.env` live.
    pub state_dir: PathBuf,
    pub venv_dir: PathBuf,
    pub pg_port: u16,
    pub data_api_port: u16,
    pub moto_port: u16,
    pub database: String,
    /// Use this PostgreSQL (with pgvector) instead of starting one.
    pub database_url: Option<String>,
    pub moto: bool,
    pub seed: bool,
    /// Run the functions (needs moto): api behind the front door, queue consumers.
    pub functions: bool,
    pub front_door_port: u16,
    /// The local Bedrock runtime (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`).
    pub bedrock_port: u16,
    /// The local embedding model behind OpenAI's embeddings API (`EmbeddingBaseUrl`).
    pub embeddings_port: u16,
    /// The checkout, where function binaries are built from.
    pub root: PathBuf,
    /// The SAM template the stack runs (`--template`, default `infra/template.yaml`).
    pub template: PathBuf,
    /// Template parameters, as `sam deploy --parameter-overrides` takes them (`--parameter`).
    pub parameters: Vec<(String, String)>,
}

impl Options {
    /// Defaults for a checkout at `root`, overridable through `STUDIO_*` variables.
    pub fn for_checkout(root: &Path) -> Self {
        let port = |name: &str, default: u16| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let state_dir =
            std::env::var_os("STUDIO_STATE_DIR").map_or_else(|| root.join(".local"), PathBuf::from);
        Self {
            venv_dir: super::python::Venv::for_checkout(root).root,
            state_dir,
            pg_port: port("STUDIO_PG_PORT", 55432),
            data_api_port: port("STUDIO_DATA_API_PORT", 4580),
            moto_port: port("STUDIO_MOTO_PORT", 4566),
            database: std::env::var("DATABASE_NAME").unwrap_or_else(|_| "studio".to_owned()),
            database_url: std::env::var("STUDIO_DATABASE_URL")
                .ok()
                .filter(|u| !u.is_empty()),
            moto: true,
            seed: true,
            functions: true,
            front_door_port: port("STUDIO_FRONT_DOOR_PORT", 3000),
            bedrock_port: port("STUDIO_BEDROCK_PORT", 4583),
            embeddings_port: port("STUDIO_EMBEDDINGS_PORT", 4585),
            root: root.to_owned(),
            template: root.join("infra/template.yaml"),
            parameters: Vec::new(),
        }
    }
}

/// The template's parameters: the database this stack serves as `DatabaseName`, the local
/// embedding model unless `--parameter` names an `EmbeddingProvider`, then the user's
/// overrides.
pub fn template_parameters(options: &Options) -> Vec<(String, String)> {
    let mut parameters = vec![("DatabaseName".to_owned(), options.database.clone())];
    if !options
        .parameters
        .iter()
        .any(|(k, _)| k == "EmbeddingProvider")
    {
        let addr =
            std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, options.embeddings_port));
        let base_url = crate::embeddings::base_url(addr);
        parameters.extend(crate::embeddings::template_parameters(&base_url));
    }
    parameters.extend(options.parameters.iter().cloned());
    parameters
}
