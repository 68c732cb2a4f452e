//! Test support: each test gets a fresh database on the local PostgreSQL, behind its own
//! local Data API server, reached through the real `aws-sdk-rdsdata` client.

#[path = "../shared/tests/extract/build.rs"]
pub mod build;
#[path = "support/cost.rs"]
pub mod cost;
#[path = "support/http.rs"]
pub mod http;
#[path = "support/private_stack.rs"]
pub mod private_stack;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use shared::auth::{self, Caller, Claims};
use shared::data_api::{DataApi, Params, RetryPolicy};
use studio_local::data_api::{DataApiServer, ServerConfig};
use tokio_postgres::NoTls;
use uuid::Uuid;

pub const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:studio/database";
pub const CLUSTER_ARN: &str = studio_local::account::LOCAL_CLUSTER_ARN;

/// The PostgreSQL the test command started (`STUDIO_DATABASE_URL`).
pub fn admin_config() -> tokio_postgres::Config {
    let url = std::env::var("STUDIO_DATABASE_URL").unwrap_or_else(|_| {
        panic!("STUDIO_DATABASE_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
    });
    url.parse()
        .expect("STUDIO_DATABASE_URL is a PostgreSQL URL")
}

/// Retries fast enough for tests, with room for a 30% fault rate.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(8),
        budget: Duration::from_secs(30),
        max_attempts: 25,
    }
}

/// A fresh database, its Data API server, and clients for it.
pub struct TestDb {
    pub name: String,
    pub server: DataApiServer,
    /// Our Data API layer.
    pub db: DataApi,
    /// The raw SDK client, for checking wire-level behaviour.
    pub sdk: aws_sdk_rdsdata::Client,
}

impl TestDb {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A fresh database whose server is configured by `configure`.
    pub async fn with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_config();
        studio_local::stack::postgres::ensure_database(&admin, &name)
            .await
            .expect("create the test database");
        let mut config = ServerConfig::new(admin, name.clone());
        configure(&mut config);
        let server = DataApiServer::start(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("start the Data API server");
        let db = studio_local::stack::data_api_client(&server.endpoint(), &name, SECRET_ARN)
            .with_retry_policy(quick_retries());
        let sdk = studio_local::account::sdk_client(&server.endpoint());
        Self {
            name,
            server,
            db,
            sdk,
        }
    }

    /// A fresh database with the whole schema applied, as db-init applies it.
    pub async fn migrated() -> Self {
        Self::migrated_with(|_| {}).await
    }

    /// [`Self::migrated`] on a server configured by `configure`.
    pub async fn migrated_with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let t = Self::with(configure).await;
        let migrations = shared::migrate::embedded().expect("embedded migrations");
        shared::migrate::migrate(&t.db, &migrations)
            .await
            .expect("migrate");
        t
    }

    /// A new team.
    pub async fn team(&self) -> Uuid {
        let id = Uuid::new_v4();
        self.db
            .execute(
                "INSERT INTO teams (id, name) VALUES (:id, :name)",
                Params::new()
                    .bind("id", id)
                    .bind("name", format!("Team {id}")),
            )
            .await
            .expect("create a team");
        id
    }

    /// Signs `sub` in (creating the user, e-mail `<sub>@example.org`) with the studio role
    /// `role`, as a member of `team`, and returns the caller as the domain sees it.
    pub async fn member(&self, sub: &str, role: &str, team: Uuid) -> Caller {
        let claims = Claims {
            sub: sub.to_owned(),
            email: Some(format!("{sub}@example.org")),
            name: None,
        };
        let user = auth::resolve(&self.db, &claims).await.expect("sign in");
        self.db
            .execute(
                "INSERT INTO user_roles (user_id, role_id) SELECT :user, id FROM roles WHERE name = :role",
                Params::new().bind("user", user.user_id).bind("role", role),
            )
            .await
            .expect("grant the role");
        self.db
            .execute(
                "INSERT INTO team_members (team_id, user_id) VALUES (:team, :user)",
                Params::new().bind("team", team).bind("user", user.user_id),
            )
            .await
            .expect("join the team");
        auth::resolve(&self.db, &claims)
            .await
            .expect("sign in again")
    }

    /// A direct PostgreSQL connection, to check what the Data API did.
    pub async fn postgres(&self) -> tokio_postgres::Client {
        let mut config = admin_config();
        config.dbname(&self.name);
        let (client, connection) = config.connect(NoTls).await.expect("connect to PostgreSQL");
        tokio::spawn(connection);
        client
    }

    /// Whether a table exists, asked of PostgreSQL directly.
    pub async fn table_exists(&self, table: &str) -> bool {
        let row = self
            .postgres()
            .await
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await
            .expect("query to_regclass");
        row.get(0)
    }
}

/// A fresh settings data-key secret in the stack's moto (a random 256-bit key), so a test
/// that rotates it disturbs no other test. Returns the adapter and the secret's ARN.
pub async fn data_keys() -> (shared::adapters::aws::SecretsManagerDataKeys, String) {
    let sdk = shared::adapters::aws::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let arn = client
        .create_secret()
        .name(format!("test/settings-key-{}", Uuid::new_v4().simple()))
        .secret_string(shared::ports::keys::random_key_hex())
        .send()
        .await
        .expect("create a data key secret in moto (AWS_ENDPOINT_URL_SECRETS_MANAGER)")
        .arn
        .expect("the new secret's ARN");
    (
        shared::adapters::aws::SecretsManagerDataKeys::new(&sdk, &arn),
        arn,
    )
}

/// A settings store over `db` with a fresh data key and no environment fallback.
pub async fn settings(db: &DataApi) -> shared::settings::Settings {
    let (keys, _) = data_keys().await;
    shared::settings::Settings::with_options(
        db.clone(),
        std::sync::Arc::new(keys),
        Box::new(|_| None),
        Box::new(std::time::Instant::now),
        shared::settings::DEFAULT_TTL,
    )
}

/// A Lambda deadline (`lambda_runtime::Context::deadline`, ms since the epoch) `secs`
/// from now, for handlers driven in-process.
pub fn deadline_in(secs: u64) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from((now + Duration::from_secs(secs)).as_millis()).unwrap_or(u64::MAX)
}
