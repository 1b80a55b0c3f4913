//! The category catalogue (问题分类): what kinds of problem exist, who handles them, how fast.

use super::db::sql;
use super::{audit, Store, StoreError};
use crate::domain::auth::Actor;
use crate::domain::workflow::calendar::LimitUnit;
use crate::domain::workflow::catalogue::{Category, Kind};
use crate::domain::workflow::colour::Colour;
use serde_json::json;
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct CategoryRow {
    code: String,
    kind: String,
    name_zh: String,
    name_en: String,
    department: String,
    time_limit: i32,
    limit_unit: String,
    severity: String,
}

impl CategoryRow {
    fn into_category(self) -> Result<Category, StoreError> {
        let bad = |e: String| StoreError::Corrupt(format!("category {}: {e}", self.code));
        Ok(Category {
            kind: Kind::parse(&self.kind).map_err(bad)?,
            limit_unit: LimitUnit::parse(&self.limit_unit).map_err(bad)?,
            severity: Colour::parse(&self.severity).map_err(bad)?,
            time_limit: self.time_limit.max(0) as u32,
            code: self.code,
            name_zh: self.name_zh,
            name_en: self.name_en,
            department: self.department,
        })
    }
}

impl Store {
    /// The category catalogue, by code.
    pub async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let rows: Vec<CategoryRow> = sql(
            "SELECT code, kind, name_zh, name_en, department, time_limit, limit_unit, severity FROM categories ORDER BY code",
        )
        .all(&self.pool)
        .await?;
        rows.into_iter().map(CategoryRow::into_category).collect()
    }

    /// A number that changes whenever the catalogue is replaced.
    pub async fn category_revision(&self) -> Result<i64, StoreError> {
        Ok(sql("SELECT value FROM revisions WHERE name = 'categories'").scalar(&self.pool).await?)
    }

    /// Replaces the whole catalogue in one transaction.
    pub async fn replace_categories(
        &self,
        categories: Vec<Category>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        sql("DELETE FROM categories").execute(&mut tx).await?;
        for c in &categories {
            sql("INSERT INTO categories (code, kind, name_zh, name_en, department, time_limit, limit_unit, severity) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&c.code)
            .bind(c.kind.as_str())
            .bind(&c.name_zh)
            .bind(&c.name_en)
            .bind(&c.department)
            .bind(c.time_limit as i32)
            .bind(c.limit_unit.as_str())
            .bind(c.severity.as_str())
            .execute(&mut tx)
            .await?;
        }
        sql("UPDATE revisions SET value = value + 1 WHERE name = 'categories'").execute(&mut tx).await?;
        let details = json!({"count": categories.len()});
        audit::record(&mut tx, now, &actor, "categories.replace", "categories", &details).await?;
        tx.commit().await?;
        Ok(categories.len())
    }
}
