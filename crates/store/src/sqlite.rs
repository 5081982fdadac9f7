//! SQLite (the embedded default): one connection in WAL mode, used from blocking threads. The
//! database file holds key digests and the ledger, so it is the owner's alone (mode 0600, see
//! [`crate::private_file`]); SQLite creates its `-wal` and `-shm` with the database's mode.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};

use crate::db::{Db, Row, Val};
use crate::StoreError;

#[derive(Clone)]
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
        }
        crate::private_file::ensure_private(path, crate::private_file::SQLITE_COMPANIONS)
            .map_err(|e| StoreError::Backend(format!("making {} private: {e}", path.display())))?;
        let conn = Connection::open(path).map_err(sqlite_err)?;
        Self::configure(conn)
    }

    pub fn in_memory() -> Result<Self, StoreError> {
        Self::configure(Connection::open_in_memory().map_err(sqlite_err)?)
    }

    fn configure(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .map_err(sqlite_err)?;
        Ok(Sqlite { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || f(&conn.lock().expect("sqlite lock")))
            .await
            .map_err(|e| StoreError::Backend(format!("sqlite task: {e}")))?
    }
}

fn sqlite_err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {e}"))
}

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Val::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(*b as i64)),
        })
    }
}

fn read(v: ValueRef<'_>) -> Val {
    match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Int(f as i64),
        ValueRef::Text(t) | ValueRef::Blob(t) => Val::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

#[async_trait]
impl Db for Sqlite {
    async fn execute(&self, sql: &str, params: Vec<Val>) -> Result<u64, StoreError> {
        let sql = sql.to_string();
        self.with(move |c| {
            c.execute(&sql, rusqlite::params_from_iter(params.iter())).map(|n| n as u64).map_err(sqlite_err)
        })
        .await
    }

    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        let sql = sql.to_string();
        self.with(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(sqlite_err)?;
            let n = stmt.column_count();
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), |row| {
                    (0..n).map(|i| row.get_ref(i).map(read)).collect::<Result<Row, _>>()
                })
                .map_err(sqlite_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(sqlite_err)
        })
        .await
    }

    async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        let sql = sql.to_string();
        self.with(move |c| c.execute_batch(&sql).map_err(sqlite_err)).await
    }
}
