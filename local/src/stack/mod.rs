//! `studio up`: installs what is missing, starts PostgreSQL, the Data API server and moto,
//! applies the migrations (db-init's entry point, `shared::migrate`), seeds demo data, and prints the endpoints.

pub mod aws;
pub mod functions;
pub mod moto;
pub mod options;
mod pgvector;
pub mod postgres;
pub mod process;

pub mod seed;
mod system_tools;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use std::sync::Arc;

use crate::account::{LOCAL_CLUSTER_ARN, sdk_client};
use crate::bedrock::BedrockServer;
use crate::data_api::{DataApiServer, ServerConfig};
use crate::embeddings::EmbeddingServer;
use crate::iam::Principals;
pub use options::{Options, template_parameters};
use process::Service;

/// The running stack. [`Stack::stop`] ends every process it started.
#[derive(Debug)]
pub struct Stack {
    services: Vec<Service>,
    pub functions: Option<functions::Functions>,
    /// Held while the stack runs, so a second `studio up` on the same folder is refused.
    _lock: std::fs::File,
    pub data_api: DataApiServer,
    pub bedrock: BedrockServer,
    /// all-MiniLM-L6-v2 behind OpenAI's embeddings API, the functions' embedder by default.
    pub embeddings: EmbeddingServer,
    /// `NAME=value` pairs a function or test needs to reach the stack.
    pub env: Vec<(String, String)>,
    /// Where the functions' e-mails land as `.eml` files (`studio mailbox` lists them).
    pub mailbox: PathBuf,
    /// The Brave Search mock the tools use, when no real provider is configured.
    pub mock_search: Option<crate::mock_search::MockSearch>,
    /// Who may call what: the roles of the template, and the stack's own admin key.
    pub principals: Arc<Principals>,
    /// moto behind IAM, Textract and SES, with the template deployed (none with `--no-moto`).
    pub aws: Option<aws::Aws>,
    pub started_in: Duration,
}

/// A Data API client for `database` on the local server.
pub fn data_api_client(
    endpoint: &str,
    database: &str,
    secret_arn: &str,
) -> shared::data_api::DataApi {
    let database = shared::config::DatabaseConfig {
        resource_arn: LOCAL_CLUSTER_ARN.to_owned(),
        secret_arn: secret_arn.to_owned(),
        name: database.to_owned(),
        retry_budget: Duration::from_secs(60),
    };
    shared::data_api::DataApi::new(sdk_client(endpoint), &database)
}

/// The stack's name in the template's eyes (`AWS::StackName`), a prefix of its resources.
pub const STACK_NAME: &str = "studio";

/// The access key pair standing for a function's role, whose policies every call it makes
/// is then held to.
pub fn role_credentials(
    principals: &Principals,
    spec: &crate::template::FunctionSpec,
) -> anyhow::Result<(String, String)> {
    let credentials = principals
        .issue(&spec.role_arn, &spec.name, &spec.policies)
        .with_context(|| format!("the policies of {}'s role", spec.name))?;
    Ok((credentials.access_key_id, credentials.secret_access_key))
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Starts everything; on failure, stops what had already started before returning the error.
pub async fn up(options: &Options) -> anyhow::Result<Stack> {
    let mut services = Vec::new();
    match start(options, &mut services).await {
        Ok(stack) => Ok(stack),
        Err(error) => {
            while let Some(service) = services.pop() {
                service.stop(Duration::from_secs(15)).await;
            }
            Err(error)
        }
    }
}

async fn start(options: &Options, services: &mut Vec<Service>) -> anyhow::Result<Stack> {
    let started = Instant::now();
    std::fs::create_dir_all(&options.state_dir)
        .with_context(|| format!("cannot create {}", options.state_dir.display()))?;
    let lock = lock_state_dir(&options.state_dir)?;
    let venv = crate::venv::ensure(&options.venv_dir).await?;
    if options.database_url.is_none() {
        pgvector::ensure(&venv).await?;
    }
    if options.moto {
        system_tools::ensure_ocr_tools().await?;
    }

    let (postgres_config, admin_url) = match &options.database_url {
        Some(url) => (
            url.parse::<tokio_postgres::Config>()
                .context("STUDIO_DATABASE_URL is not a PostgreSQL URL")?,
            url.clone(),
        ),
        None => {
            let postgres =
                postgres::Postgres::new(venv.postgres_bin()?, &options.state_dir, options.pg_port);
            services.push(postgres.start().await?);
            (
                postgres.config("postgres"),
                format!("postgres://postgres@127.0.0.1:{}/postgres", options.pg_port),
            )
        }
    };
    postgres::ensure_database(&postgres_config, &options.database).await?;

    let principals = Arc::new(Principals::new());
    let mut server_config = ServerConfig::new(postgres_config, options.database.clone());
    server_config.iam = Some(Arc::clone(&principals));
    if let Some(rate) = std::env::var("DATA_API_FAULT_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
    {
        server_config.fault_rate = rate;
    }
    let data_api = DataApiServer::start(
        server_config,
        SocketAddr::from((Ipv4Addr::LOCALHOST, options.data_api_port)),
    )
    .await
    .with_context(|| {
        format!(
            "cannot listen on port {} for the Data API",
            options.data_api_port
        )
    })?;

    let bedrock = BedrockServer::start_with_iam(
        SocketAddr::from((Ipv4Addr::LOCALHOST, options.bedrock_port)),
        Some(Arc::clone(&principals)),
    )
    .await
    .with_context(|| {
        format!(
            "cannot listen on port {} for the local Bedrock runtime",
            options.bedrock_port
        )
    })?;

    let embeddings = EmbeddingServer::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, options.embeddings_port)),
        crate::embeddings::ensure_files(&venv)?,
    )
    .await
    .with_context(|| {
        format!(
            "cannot listen on port {} for the local embedding model",
            options.embeddings_port
        )
    })?;

    let mut secret_arn = format!(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:{}/database",
        "studio"
    );
    // Where the AWS services are, for the functions and for clients of the stack.
    let mut endpoints = vec![
        ("AWS_ENDPOINT_URL_RDS_DATA".to_owned(), data_api.endpoint()),
        (
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME".to_owned(),
            bedrock.endpoint(),
        ),
    ];
    let mut env = vec![
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "local".to_owned()),
        (
            "DATABASE_RESOURCE_ARN".to_owned(),
            LOCAL_CLUSTER_ARN.to_owned(),
        ),
        ("DATABASE_NAME".to_owned(), options.database.clone()),
        // The local embedding model's OpenAI-style base URL.
        ("STUDIO_EMBEDDINGS_URL".to_owned(), embeddings.base_url()),
        ("STUDIO_DATABASE_URL".to_owned(), admin_url),
        // Where the functions' logs (`<function>.log`, with Lambda's REPORT lines) are.
        (
            "STUDIO_STATE_DIR".to_owned(),
            options.state_dir.display().to_string(),
        ),
    ];
    let mailbox = options.state_dir.join("mailbox");
    std::fs::create_dir_all(&mailbox)
        .with_context(|| format!("cannot create {}", mailbox.display()))?;
    env.push((
        "STUDIO_MAILBOX_DIR".to_owned(),
        mailbox.display().to_string(),
    ));
    let aws = if options.moto {
        let aws = aws::start(options, &venv, &principals, &mailbox, services).await?;
        if let Some(arn) = aws.deployment.env("DATABASE_SECRET_ARN") {
            secret_arn = arn.to_owned();
        }
        endpoints.extend(aws.endpoints.iter().cloned());
        env.push(("STUDIO_MOTO_URL".to_owned(), aws.moto_url.clone()));
        env.extend(
            aws.deployment
                .client_env
                .iter()
                .filter(|(k, _)| k != "DATABASE_SECRET_ARN")
                .cloned(),
        );
        Some(aws)
    } else {
        None
    };
    env.push(("DATABASE_SECRET_ARN".to_owned(), secret_arn.clone()));
    env.extend(endpoints.iter().cloned());

    let (local, mock_search) = functions::local_settings().await?;
    env.extend(
        local
            .iter()
            .filter(|(k, _)| k.starts_with("WEB_SEARCH_"))
            .cloned(),
    );

    let db = data_api_client(&data_api.endpoint(), &options.database, &secret_arn);
    migrate(&db).await?;
    if options.seed {
        seed::seed(&db).await.context("seeding demo data failed")?;
    }

    let functions = if let (true, Some(aws)) = (options.functions, &aws) {
        let credentials =
            |spec: &crate::template::FunctionSpec| role_credentials(&principals, spec);
        let functions = functions::start(
            &options.root,
            &aws.deployment,
            &options.state_dir,
            options.front_door_port,
            &functions::Services {
                endpoints: &endpoints,
                credentials: &credentials,
                local: &local,
            },
        )
        .await?;
        env.extend(functions.env.iter().cloned());
        Some(functions)
    } else {
        None
    };

    let stack = Stack {
        services: std::mem::take(services),
        functions,
        _lock: lock,
        data_api,
        bedrock,
        embeddings,
        env,
        mailbox,
        mock_search,
        principals,
        aws,
        started_in: started.elapsed(),
    };
    let env_file: String = stack
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    std::fs::write(options.state_dir.join("stack.env"), env_file)?;
    Ok(stack)
}

/// Takes the state folder's lock; the OS releases it when the process ends, however it ends,
/// so only a live stack holds it (and a PostgreSQL found running without one is a leftover).
fn lock_state_dir(state_dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = state_dir.join("stack.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another `studio up` is already running on {}; stop it first, or start this one with --state-dir and other ports",
            state_dir.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).context("cannot lock the state folder")
        }
    }
}

/// Applies the migrations the way a deploy does: db-init's `migrate` action, the same
/// `shared::migrate` entry point over the same embedded `schema/*.sql`.
async fn migrate(db: &shared::data_api::DataApi) -> anyhow::Result<()> {
    let migrations = shared::migrate::embedded()?;
    let report = shared::migrate::migrate(db, &migrations)
        .await
        .map_err(|e| anyhow::anyhow!("the migrations failed: {e}"))?;
    tracing::info!(applied = report.applied.len(), "Schema is up to date");
    Ok(())
}

impl Stack {
    pub fn pids(&self) -> Vec<u32> {
        let functions = self.functions.iter().flat_map(functions::Functions::pids);
        self.services
            .iter()
            .filter_map(Service::id)
            .chain(functions)
            .collect()
    }

    /// Stops every process, newest first.
    pub async fn stop(mut self) {
        if let Some(functions) = self.functions.take() {
            functions.stop().await;
        }
        while let Some(service) = self.services.pop() {
            service.stop(Duration::from_secs(15)).await;
        }
    }
}
