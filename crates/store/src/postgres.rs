//! PostgreSQL (for replicas sharing projects, keys and the ledger). tokio-postgres pipelines
//! concurrent queries over one connection. That connection can end under a running replica
//! (PostgreSQL restarts, a failover, a proxy timing out an idle link), so it is held by a
//! [`Connection`] that opens a new one when it finds it gone, and every statement that failed
//! because its connection went away is run once more on the new one: otherwise every stored
//! key would answer 503 and ledger rows would be lost until the replica restarted.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls};

use crate::db::{Db, Row, Val};
use crate::StoreError;

/// How long one connection attempt may take: a request that finds the store gone waits at most
/// this long for it (then answers 503), even when the server's address swallows packets.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// After a failed attempt, requests fail at once (503, as with no reconnect) until the next
/// attempt is due; the wait doubles from the first to the last, so a database that stays down
/// costs one attempt a second, not one per request.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// The session advisory lock that serialises migrations between replicas (any constant both
/// sides agree on; this one is "gemd" in ASCII).
const MIGRATION_LOCK: i64 = 0x67656d64;

/// Why no connection could be had.
#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("postgres: connecting took over {0:?}")]
    Timeout(Duration),
    #[error("postgres: cannot connect: {0}")]
    Failed(String),
    #[error("postgres: connection lost; reconnecting in {0:?} (last attempt: {1})")]
    Backoff(Duration, String),
}

impl From<ConnectError> for StoreError {
    fn from(e: ConnectError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// The live client, or when the next attempt to open one is due.
struct State {
    client: Option<Arc<Client>>,
    retry_at: Instant,
    backoff: Duration,
    last_error: String,
}

/// One connection to the database, reopened on demand. The lock is only held to read the
/// client or to open a new one, so concurrent requests still pipeline over one connection,
/// and only one of them reconnects while the others wait for it (at most [`CONNECT_TIMEOUT`]).
struct Connection {
    url: String,
    state: Mutex<State>,
}

impl Connection {
    async fn open(url: &str) -> Result<Arc<Client>, ConnectError> {
        let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(url, NoTls))
            .await
            .map_err(|_| ConnectError::Timeout(CONNECT_TIMEOUT))?
            .map_err(|e| ConnectError::Failed(describe(&e)))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "postgres connection ended; the next query reconnects");
            }
        });
        Ok(Arc::new(client))
    }

    /// The live client, opening a new one when the last has closed (unless an attempt failed
    /// less than the backoff ago: then the error, at once).
    async fn get(&self) -> Result<Arc<Client>, ConnectError> {
        let mut state = self.state.lock().await;
        if let Some(client) = state.client.as_ref().filter(|c| !c.is_closed()) {
            return Ok(client.clone());
        }
        state.client = None;
        let now = Instant::now();
        if now < state.retry_at {
            return Err(ConnectError::Backoff(state.retry_at - now, state.last_error.clone()));
        }
        match Self::open(&self.url).await {
            Ok(client) => {
                tracing::info!("postgres reconnected");
                state.backoff = FIRST_BACKOFF;
                state.client = Some(client.clone());
                Ok(client)
            }
            Err(e) => {
                state.last_error = e.to_string();
                state.retry_at = Instant::now() + state.backoff;
                state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
                Err(e)
            }
        }
    }

    /// Forgets `dead` (if it is still the current client, not one another request has
    /// already reopened), so the next [`Connection::get`] opens a new connection.
    async fn discard(&self, dead: &Arc<Client>) {
        let mut state = self.state.lock().await;
        if state.client.as_ref().is_some_and(|c| Arc::ptr_eq(c, dead)) {
            state.client = None;
        }
    }
}

pub struct Postgres {
    conn: Connection,
}

impl Postgres {
    /// Connects now (a replica that cannot reach its database at start fails to start).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = Connection::open(url).await?;
        let state =
            State { client: Some(client), retry_at: Instant::now(), backoff: FIRST_BACKOFF, last_error: String::new() };
        Ok(Postgres { conn: Connection { url: url.to_string(), state: Mutex::new(state) } })
    }

    /// Runs `op` on the live client; if it failed because that connection is gone, once more
    /// on a new one. The retry can repeat a statement the server ran just before the link
    /// broke (its answer lost on the way); for the ledger, counting a request twice in that
    /// rare window is preferred to losing every row until a restart.
    async fn run<T, F>(&self, op: impl Fn(Arc<Client>) -> F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let client = self.conn.get().await?;
        match op(client.clone()).await {
            Err(e) if connection_gone(&e, &client) => {
                tracing::warn!(error = %describe(&e), "postgres connection lost; retrying on a new one");
                self.conn.discard(&client).await;
                op(self.conn.get().await?).await.map_err(pg_err)
            }
            other => other.map_err(pg_err),
        }
    }
}

/// Whether `e` means the connection itself is gone (so the statement may succeed on a new
/// one), as opposed to the statement being wrong. A terminated backend's last words (class
/// 57P: admin or crash shutdown, cannot connect now) can reach the next query before the
/// client notices the socket closed, hence the codes as well as `is_closed`.
fn connection_gone(e: &tokio_postgres::Error, client: &Client) -> bool {
    let code = e.code().map(|c| c.code()).unwrap_or("");
    e.is_closed()
        || client.is_closed()
        || e.source().is_some_and(|s| s.is::<std::io::Error>())
        || code.starts_with("57P")
        || code.starts_with("08")
}

fn describe(e: &tokio_postgres::Error) -> String {
    let detail = e.source().map(|s| s.to_string()).unwrap_or_default();
    format!("{e} {detail}").trim_end().to_string()
}

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(format!("postgres: {}", describe(&e)))
}

#[derive(Debug)]
struct Param<'a>(&'a Val);

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) if *ty == Type::INT4 => (*i as i32).to_sql(ty, out),
            Val::Int(i) => i.to_sql(ty, out),
            Val::Text(s) => s.to_sql(ty, out),
            Val::Bool(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn read(row: &tokio_postgres::Row, i: usize) -> Result<Val, StoreError> {
    let ty = row.columns()[i].type_().clone();
    let v = if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i).map(|v| v.map(Val::Int))
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i).map(|v| v.map(|v| Val::Int(v as i64)))
    } else if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i).map(|v| v.map(Val::Bool))
    } else {
        row.try_get::<_, Option<String>>(i).map(|v| v.map(Val::Text))
    };
    Ok(v.map_err(pg_err)?.unwrap_or(Val::Null))
}

#[async_trait]
impl Db for Postgres {
    async fn execute(&self, sql: &str, params: Vec<Val>) -> Result<u64, StoreError> {
        let params: Vec<Param> = params.iter().map(Param).collect();
        let refs: &Vec<&(dyn ToSql + Sync)> = &params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.run(|c| async move { c.execute(sql, refs).await }).await
    }

    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        let params: Vec<Param> = params.iter().map(Param).collect();
        let refs: &Vec<&(dyn ToSql + Sync)> = &params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.run(|c| async move { c.query(sql, refs).await }).await?;
        rows.iter().map(|r| (0..r.len()).map(|i| read(r, i)).collect()).collect()
    }

    async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.run(|c| async move { c.batch_execute(sql).await }).await
    }

    /// A session advisory lock: replicas opening an empty database at once would otherwise
    /// race on `CREATE TABLE IF NOT EXISTS` (the losers fail on `pg_type_typname_nsp_index`).
    /// Waiting for it is safe: it goes with its session if the holder dies.
    async fn lock_migrations(&self) -> Result<(), StoreError> {
        self.execute("SELECT pg_advisory_lock($1)", vec![Val::Int(MIGRATION_LOCK)]).await.map(drop)
    }

    async fn unlock_migrations(&self) -> Result<(), StoreError> {
        self.execute("SELECT pg_advisory_unlock($1)", vec![Val::Int(MIGRATION_LOCK)]).await.map(drop)
    }
}
