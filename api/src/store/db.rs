//! The one place that knows there are two databases: a pool (or an open transaction) of either
//! kind, and statements whose parameters are plain values bound the same way on both. Every
//! method of the store is written once against [`Sql`]; rows come back through
//! `#[derive(sqlx::FromRow)]` structs that decode on both backends ([`Record`]).

use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Database, Encode, FromRow, Postgres, Sqlite, Type};
use std::borrow::Cow;
use time::OffsetDateTime;

/// The connection pool, PostGIS or SQLite.
#[derive(Debug)]
pub(super) enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// An open write transaction. Dropped without [`Tx::commit`], it rolls back.
pub(super) enum Tx {
    Postgres(sqlx::Transaction<'static, Postgres>),
    Sqlite(sqlx::Transaction<'static, Sqlite>),
}

impl Pool {
    /// Starts a write. SQLite writers take the lock up front (`BEGIN IMMEDIATE`), so that a
    /// read-then-write transaction cannot fail half-way on a lock upgrade.
    pub(super) async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        })
    }
}

impl Tx {
    pub(super) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Postgres(tx) => tx.commit().await,
            Tx::Sqlite(tx) => tx.commit().await,
        }
    }

    pub(super) async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Postgres(tx) => tx.rollback().await,
            Tx::Sqlite(tx) => tx.rollback().await,
        }
    }

    /// PostgreSQL's `COPY … FROM STDIN` of `rows` (text format) inside this transaction:
    /// `false` on SQLite, which has no COPY (the caller inserts instead).
    pub(super) async fn copy_in(&mut self, statement: &str, rows: Vec<u8>) -> Result<bool, sqlx::Error> {
        match self {
            Tx::Postgres(tx) => {
                let mut copy = tx.copy_in_raw(statement).await?;
                copy.send(rows).await?;
                copy.finish().await?;
                Ok(true)
            }
            Tx::Sqlite(_) => Ok(false),
        }
    }

    /// Commits, or with `dry_run` rolls back: what an import does with its transaction.
    pub(super) async fn finish(self, dry_run: bool) -> Result<(), sqlx::Error> {
        if dry_run {
            self.rollback().await
        } else {
            self.commit().await
        }
    }
}

/// A row type both backends decode: what `#[derive(sqlx::FromRow)]` gives a struct whose
/// fields are types both databases know (and tuples of them, for scalars).
pub(super) trait Record: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin {}

impl<T> Record for T where T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin {}

/// One statement parameter. Each kind keeps its SQL type when it is `NULL`, so that
/// `($1 IS NULL OR col = $1)` types the same on PostgreSQL whether or not a value is given.
#[derive(Debug, Clone)]
pub(super) enum Param<'a> {
    Bool(Option<bool>),
    I32(Option<i32>),
    I64(Option<i64>),
    F64(Option<f64>),
    Text(Option<Cow<'a, str>>),
    Bytes(Option<Cow<'a, [u8]>>),
    Time(Option<OffsetDateTime>),
}

/// A Rust value a statement can take, and the typed `NULL` of its kind.
pub(super) trait Value<'a>: Sized {
    fn into_param(self) -> Param<'a>;
    fn null() -> Param<'a>;
}

impl<'a, T: Value<'a>> Value<'a> for Option<T> {
    fn into_param(self) -> Param<'a> {
        self.map_or_else(T::null, T::into_param)
    }
    fn null() -> Param<'a> {
        T::null()
    }
}

impl<'a> Value<'a> for bool {
    fn into_param(self) -> Param<'a> {
        Param::Bool(Some(self))
    }
    fn null() -> Param<'a> {
        Param::Bool(None)
    }
}

impl<'a> Value<'a> for i32 {
    fn into_param(self) -> Param<'a> {
        Param::I32(Some(self))
    }
    fn null() -> Param<'a> {
        Param::I32(None)
    }
}

impl<'a> Value<'a> for i64 {
    fn into_param(self) -> Param<'a> {
        Param::I64(Some(self))
    }
    fn null() -> Param<'a> {
        Param::I64(None)
    }
}

impl<'a> Value<'a> for f64 {
    fn into_param(self) -> Param<'a> {
        Param::F64(Some(self))
    }
    fn null() -> Param<'a> {
        Param::F64(None)
    }
}

impl<'a> Value<'a> for OffsetDateTime {
    fn into_param(self) -> Param<'a> {
        Param::Time(Some(self))
    }
    fn null() -> Param<'a> {
        Param::Time(None)
    }
}

impl<'a> Value<'a> for &'a str {
    fn into_param(self) -> Param<'a> {
        Param::Text(Some(Cow::Borrowed(self)))
    }
    fn null() -> Param<'a> {
        Param::Text(None)
    }
}

impl<'a> Value<'a> for &'a String {
    fn into_param(self) -> Param<'a> {
        self.as_str().into_param()
    }
    fn null() -> Param<'a> {
        Param::Text(None)
    }
}

impl<'a> Value<'a> for String {
    fn into_param(self) -> Param<'a> {
        Param::Text(Some(Cow::Owned(self)))
    }
    fn null() -> Param<'a> {
        Param::Text(None)
    }
}

impl<'a> Value<'a> for &'a Option<String> {
    fn into_param(self) -> Param<'a> {
        self.as_ref().into_param()
    }
    fn null() -> Param<'a> {
        Param::Text(None)
    }
}

impl<'a> Value<'a> for Vec<u8> {
    fn into_param(self) -> Param<'a> {
        Param::Bytes(Some(Cow::Owned(self)))
    }
    fn null() -> Param<'a> {
        Param::Bytes(None)
    }
}

/// A statement and its parameters, in the order of their `$n`.
#[derive(Debug, Clone)]
pub(super) struct Sql<'a> {
    text: Cow<'a, str>,
    params: Vec<Param<'a>>,
}

/// Starts a statement.
pub(super) fn sql<'a>(text: impl Into<Cow<'a, str>>) -> Sql<'a> {
    Sql { text: text.into(), params: Vec::new() }
}

/// Where a statement runs: on the pool (a connection of its own) or inside a transaction.
pub(super) enum On<'c> {
    Pool(&'c Pool),
    Tx(&'c mut Tx),
}

impl<'c> From<&'c Pool> for On<'c> {
    fn from(pool: &'c Pool) -> Self {
        On::Pool(pool)
    }
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> Self {
        On::Tx(tx)
    }
}

impl<'a> Sql<'a> {
    /// Adds the next parameter.
    pub(super) fn bind(mut self, value: impl Value<'a>) -> Self {
        self.params.push(value.into_param());
        self
    }

    /// Adds several parameters in order.
    pub(super) fn bind_all(mut self, values: impl IntoIterator<Item = Param<'a>>) -> Self {
        self.params.extend(values);
        self
    }

    /// Every row, decoded.
    pub(super) async fn all<T: Record>(self, on: impl Into<On<'_>>) -> Result<Vec<T>, sqlx::Error> {
        match on.into() {
            On::Pool(Pool::Postgres(pool)) => decode(self.postgres().fetch_all(pool).await?),
            On::Pool(Pool::Sqlite(pool)) => decode(self.sqlite().fetch_all(pool).await?),
            On::Tx(Tx::Postgres(tx)) => decode(self.postgres().fetch_all(&mut **tx).await?),
            On::Tx(Tx::Sqlite(tx)) => decode(self.sqlite().fetch_all(&mut **tx).await?),
        }
    }

    /// The first row, if any.
    pub(super) async fn optional<T: Record>(self, on: impl Into<On<'_>>) -> Result<Option<T>, sqlx::Error> {
        Ok(self.all(on).await?.into_iter().next())
    }

    /// The one row (an error when there is none).
    pub(super) async fn one<T: Record>(self, on: impl Into<On<'_>>) -> Result<T, sqlx::Error> {
        self.optional(on).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of the one row.
    pub(super) async fn scalar<T>(self, on: impl Into<On<'_>>) -> Result<T, sqlx::Error>
    where
        (T,): Record,
    {
        Ok(self.one::<(T,)>(on).await?.0)
    }

    /// The first column of the first row, if any.
    pub(super) async fn optional_scalar<T>(self, on: impl Into<On<'_>>) -> Result<Option<T>, sqlx::Error>
    where
        (T,): Record,
    {
        Ok(self.optional::<(T,)>(on).await?.map(|(value,)| value))
    }

    /// Runs a statement that returns no rows; how many rows it changed.
    pub(super) async fn execute(self, on: impl Into<On<'_>>) -> Result<u64, sqlx::Error> {
        Ok(match on.into() {
            On::Pool(Pool::Postgres(pool)) => self.postgres().execute(pool).await?.rows_affected(),
            On::Pool(Pool::Sqlite(pool)) => self.sqlite().execute(pool).await?.rows_affected(),
            On::Tx(Tx::Postgres(tx)) => self.postgres().execute(&mut **tx).await?.rows_affected(),
            On::Tx(Tx::Sqlite(tx)) => self.sqlite().execute(&mut **tx).await?.rows_affected(),
        })
    }

    fn postgres(&self) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
        bound::<Postgres>(&self.text, &self.params)
    }

    fn sqlite(&self) -> sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments<'_>> {
        bound::<Sqlite>(&self.text, &self.params)
    }
}

fn decode<R: sqlx::Row, T: for<'r> FromRow<'r, R>>(rows: Vec<R>) -> Result<Vec<T>, sqlx::Error> {
    rows.iter().map(T::from_row).collect()
}

/// The statement with its parameters bound for database `DB` (the bounds name what both
/// backends can encode).
fn bound<'q, DB>(text: &'q str, params: &'q [Param<'_>]) -> sqlx::query::Query<'q, DB, DB::Arguments<'q>>
where
    DB: Database,
    Option<bool>: Encode<'q, DB> + Type<DB>,
    Option<i32>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<f64>: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
    Option<OffsetDateTime>: Encode<'q, DB> + Type<DB>,
{
    params.iter().fold(sqlx::query(text), |query, param| match param {
        Param::Bool(v) => query.bind(*v),
        Param::I32(v) => query.bind(*v),
        Param::I64(v) => query.bind(*v),
        Param::F64(v) => query.bind(*v),
        Param::Text(v) => query.bind(v.as_deref()),
        Param::Bytes(v) => query.bind(v.as_deref()),
        Param::Time(v) => query.bind(*v),
    })
}

/// Migrations compiled into the binary, so it runs without its source tree.
#[derive(Debug)]
pub(super) struct EmbeddedMigrations(pub(super) &'static [(i64, &'static str, &'static str)]);

impl<'s> sqlx::migrate::MigrationSource<'s> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> futures_util::future::BoxFuture<'s, Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    sqlx::migrate::Migration::new(
                        version,
                        Cow::Borrowed(description),
                        sqlx::migrate::MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The migrator of a backend's migration list.
pub(super) async fn migrator(
    migrations: &'static [(i64, &'static str, &'static str)],
) -> Result<sqlx::migrate::Migrator, sqlx::migrate::MigrateError> {
    sqlx::migrate::Migrator::new(EmbeddedMigrations(migrations)).await
}
