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

/// The ports `studio up` listens on unless told otherwise (`--pg-port`, `STUDIO_PG_PORT`, ...).
pub const PG_PORT: u16 = 55432;
pub const DATA_API_PORT: u16 = 4580;
pub const MOTO_PORT: u16 = 4566;
pub const FRONT_DOOR_PORT: u16 = 3000;
pub const BEDROCK_PORT: u16 = 4583;
pub const EMBEDDINGS_PORT: u16 = 4585;

/// The stack's folder in a checkout at `root` unless told otherwise (`--state-dir`,
/// `STUDIO_STATE_DIR`).
pub fn default_state_dir(root: &Path) -> PathBuf {
    root.join(".local")
}

impl Options {
    /// Defaults for a checkout at `root`; the database from `DATABASE_NAME` and
    /// `STUDIO_DATABASE_URL`. The command line sets the folder and the ports.
    pub fn for_checkout(root: &Path) -> Self {
        Self {
            venv_dir: crate::venv::Venv::for_checkout(root).root,
            state_dir: default_state_dir(root),
            pg_port: PG_PORT,
            data_api_port: DATA_API_PORT,
            moto_port: MOTO_PORT,
            database: std::env::var("DATABASE_NAME").unwrap_or_else(|_| "studio".to_owned()),
            database_url: std::env::var("STUDIO_DATABASE_URL")
                .ok()
                .filter(|u| !u.is_empty()),
            moto: true,
            seed: true,
            functions: true,
            front_door_port: FRONT_DOOR_PORT,
            bedrock_port: BEDROCK_PORT,
            embeddings_port: EMBEDDINGS_PORT,
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
