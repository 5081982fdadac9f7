//! PostgreSQL (for replicas sharing projects, keys and the ledger). tokio-postgres pipelines
//! concurrent queries over one connection; the connection task logs if it ends.

use std::error::Error as _;

use async_trait::async_trait;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::{Client, NoTls};

use crate::db::{Db, Row, Val};
use crate::StoreError;

pub struct Postgres {
    client: Client,
}

impl Postgres {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(pg_err)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::error!(error = %e, "postgres connection ended");
            }
        });
        Ok(Postgres { client })
    }
}

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    let detail = e.source().map(|s| s.to_string()).unwrap_or_default();
    StoreError::Backend(format!("postgres: {e} {detail}").trim_end().to_string())
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
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.client.execute(sql, &refs).await.map_err(pg_err)
    }

    async fn query(&self, sql: &str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        let params: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.client.query(sql, &refs).await.map_err(pg_err)?;
        rows.iter().map(|r| (0..r.len()).map(|i| read(r, i)).collect()).collect()
    }

    async fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.client.batch_execute(sql).await.map_err(pg_err)
    }
}
