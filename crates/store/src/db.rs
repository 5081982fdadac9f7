//! The little SQL both backends share: values, rows, and the `Db` trait the store logic runs
//! on, so SQLite and PostgreSQL execute the same statements and the store is written once.

use async_trait::async_trait;

use crate::StoreError;

/// A SQL value. Statements use `$1, $2, …` placeholders, which both SQLite and PostgreSQL read.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

impl Val {
    pub fn int(&self) -> Result<i64, StoreError> {
        match self {
            Val::Int(i) => Ok(*i),
            Val::Bool(b) => Ok(*b as i64),
            other => Err(StoreError::Corrupt(format!("expected an integer, got {other:?}"))),
        }
    }

    pub fn opt_int(&self) -> Result<Option<i64>, StoreError> {
        match self {
            Val::Null => Ok(None),
            v => v.int().map(Some),
        }
    }

    pub fn text(&self) -> Result<String, StoreError> {
        match self {
            Val::Text(s) => Ok(s.clone()),
            other => Err(StoreError::Corrupt(format!("expected text, got {other:?}"))),
        }
    }

    pub fn bool(&self) -> Result<bool, StoreError> {
        match self {
            Val::Bool(b) => Ok(*b),
            Val::Int(i) => Ok(*i != 0),
            other => Err(StoreError::Corrupt(format!("expected a boolean, got {other:?}"))),
        }
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Self {
        Val::Text(s.to_string())
    }
}

impl From<String> for Val {
    fn from(s: String) -> Self {
        Val::Text(s)
    }
}

impl From<i64> for Val {
    fn from(i: i64) -> Self {
        Val::Int(i)
    }
}

impl From<bool> for Val {
    fn from(b: bool) -> Self {
        Val::Bool(b)
    }
}

impl From<Option<i64>> for Val {
    fn from(i: Option<i64>) -> Self {
        i.map(Val::Int).unwrap_or(Val::Null)
    }
}

pub type Row = Vec<Val>;

#[async_trait]
pub trait Db: Send + Sync + 'static {
    /// Runs a statement; returns the number of rows it changed.
    async fn execute(&self, sql: &str, params: Vec<Val>) -> Result<u64, StoreError>;
    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<Row>, StoreError>;
    /// Runs schema statements (no parameters) in order.
    async fn batch(&self, sql: &str) -> Result<(), StoreError>;
    /// Held while the schema is migrated, so processes opening one database at the same
    /// moment migrate it one after the other. Nothing by default: a SQLite file is one
    /// process's, and its writes are serialised by SQLite itself.
    async fn lock_migrations(&self) -> Result<(), StoreError> {
        Ok(())
    }
    async fn unlock_migrations(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
