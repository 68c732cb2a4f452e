//! PostgreSQL connections for the Data API server: an idle pool per database, and the
//! connections pinned to open transactions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::errors::{ApiError, Kind};

/// Idle connections by database name.
#[derive(Debug)]
pub struct Pool {
    config: Config,
    idle: SyncMutex<HashMap<String, Vec<Connection>>>,
    max_idle: usize,
}

/// Statements a connection keeps prepared (beyond this the cache starts over).
const MAX_PREPARED: usize = 256;

/// A PostgreSQL connection and the statements prepared on it, by SQL and parameter types:
/// a statement the functions send again (most are) skips parsing and planning, as a driver's
/// statement cache would.
#[derive(Debug)]
pub struct Connection {
    client: Client,
    prepared: SyncMutex<HashMap<(String, Vec<Type>), Statement>>,
}

/// A connection on loan; it goes back to the pool when dropped, unless it broke.
#[derive(Debug)]
pub struct Pooled {
    client: Option<Connection>,
    database: String,
    pool: Arc<Pool>,
}

impl Pool {
    pub fn new(config: Config) -> Arc<Self> {
        Arc::new(Self {
            config,
            idle: SyncMutex::new(HashMap::new()),
            // Enough for every function instance of the stack at once (chat-stream alone
            // runs a pool of them), so a busy moment does not open and close connections.
            max_idle: 64,
        })
    }

    pub async fn get(self: &Arc<Self>, database: &str) -> Result<Pooled, ApiError> {
        let reused = self
            .idle
            .lock()
            .ok()
            .and_then(|mut idle| idle.get_mut(database).and_then(Vec::pop));
        let client = match reused {
            Some(connection) if !connection.client.is_closed() => connection,
            _ => Connection {
                client: self.connect(database).await?,
                prepared: SyncMutex::new(HashMap::new()),
            },
        };
        Ok(Pooled {
            client: Some(client),
            database: database.to_owned(),
            pool: Arc::clone(self),
        })
    }

    async fn connect(&self, database: &str) -> Result<Client, ApiError> {
        let mut config = self.config.clone();
        config.dbname(database);
        config.application_name("studio-local-data-api");
        // Aurora sessions run in UTC; TIMESTAMP parameters are read in the session zone.
        config.options("-c TimeZone=UTC");
        let (client, connection) =
            config
                .connect(NoTls)
                .await
                .map_err(|e| match e.as_db_error() {
                    // 3D000: the database does not exist.
                    Some(db) if db.code().code() == "3D000" => {
                        ApiError::bad_request(format!("Database {database} does not exist"))
                    }
                    _ => ApiError::new(
                        Kind::ServiceUnavailable,
                        format!("Cannot connect to PostgreSQL: {e}"),
                    ),
                })?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "PostgreSQL connection ended");
            }
        });
        Ok(client)
    }
}

impl Pooled {
    pub fn client(&self) -> &Client {
        &self.connection().client
    }

    fn connection(&self) -> &Connection {
        // Only `Drop` takes the connection out.
        self.client
            .as_ref()
            .unwrap_or_else(|| unreachable!("a pooled connection is present until dropped"))
    }

    /// `sql` prepared with `types`, from this connection's cache when it was before.
    pub async fn prepare(
        &self,
        sql: &str,
        types: &[Type],
    ) -> Result<Statement, tokio_postgres::Error> {
        let connection = self.connection();
        let key = (sql.to_owned(), types.to_vec());
        if let Some(statement) = lock(&connection.prepared).get(&key) {
            return Ok(statement.clone());
        }
        let statement = connection.client.prepare_typed(sql, types).await?;
        let mut prepared = lock(&connection.prepared);
        if prepared.len() >= MAX_PREPARED {
            prepared.clear();
        }
        prepared.insert(key, statement.clone());
        Ok(statement)
    }

    /// Forgets a prepared statement (after it failed: the next call prepares it afresh).
    pub fn forget(&self, sql: &str, types: &[Type]) {
        lock(&self.connection().prepared).remove(&(sql.to_owned(), types.to_vec()));
    }
}

fn lock<T>(mutex: &SyncMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if client.client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.pool.idle.lock() {
            let list = idle.entry(self.database.clone()).or_default();
            if list.len() < self.pool.max_idle {
                list.push(client);
            }
        }
    }
}

/// An open transaction: its connection and when it was last used.
#[derive(Debug)]
pub struct OpenTransaction {
    pub connection: Pooled,
    pub last_used: Instant,
    /// A statement failed: PostgreSQL ignores everything until the transaction ends.
    pub failed: bool,
}

/// Open transactions by id. Idle ones are rolled back and forgotten after `idle_timeout`.
#[derive(Debug)]
pub struct Transactions {
    open: SyncMutex<HashMap<String, Arc<Mutex<OpenTransaction>>>>,
    pub idle_timeout: Duration,
}

impl Transactions {
    pub fn new(idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            open: SyncMutex::new(HashMap::new()),
            idle_timeout,
        })
    }

    pub fn insert(&self, id: String, connection: Pooled) {
        let entry = OpenTransaction {
            connection,
            last_used: Instant::now(),
            failed: false,
        };
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, Arc::new(Mutex::new(entry)));
        }
    }

    pub fn get(&self, id: &str) -> Result<Arc<Mutex<OpenTransaction>>, ApiError> {
        self.open
            .lock()
            .ok()
            .and_then(|open| open.get(id).cloned())
            .ok_or_else(|| not_found(id))
    }

    pub fn remove(&self, id: &str) -> Result<Arc<Mutex<OpenTransaction>>, ApiError> {
        self.open
            .lock()
            .ok()
            .and_then(|mut open| open.remove(id))
            .ok_or_else(|| not_found(id))
    }

    /// Rolls back transactions idle past the timeout, as the real service does after 3 minutes.
    pub async fn expire_idle(&self) {
        let candidates: Vec<(String, Arc<Mutex<OpenTransaction>>)> = self
            .open
            .lock()
            .map(|open| {
                open.iter()
                    .map(|(k, v)| (k.clone(), Arc::clone(v)))
                    .collect()
            })
            .unwrap_or_default();
        for (id, entry) in candidates {
            let Ok(tx) = entry.try_lock() else { continue };
            if tx.last_used.elapsed() < self.idle_timeout {
                continue;
            }
            if let Ok(mut open) = self.open.lock() {
                open.remove(&id);
            }
            if let Err(error) = tx.connection.client().batch_execute("ROLLBACK").await {
                tracing::warn!(%error, transaction_id = %id, "Rollback of an expired transaction failed");
            }
            tracing::info!(transaction_id = %id, "Expired an idle transaction");
        }
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        Kind::TransactionNotFound,
        format!("Transaction {id} is not found"),
    )
}
