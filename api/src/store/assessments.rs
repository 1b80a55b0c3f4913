//! Mock assessments (模拟测评) in storage: no geometry, so one SQL text serves both backends.

use super::StoreError;
use crate::domain::assessment::{Assessment, Item, Spec};
use sqlx::Row;

/// An item row decoded (both backends select the same columns).
pub(crate) fn item_from_row<'r, R>(r: &'r R) -> Result<(i64, Item), StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: i64 = r.try_get("assessment_id")?;
    let code: String = r.try_get("point_code")?;
    let corrupt =
        |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("assessment {id} point {code} {what}: {e}"));
    let checklist: String = r.try_get("checklist")?;
    let scores: String = r.try_get("scores")?;
    Ok((
        id,
        Item {
            name: r.try_get("name")?,
            kind: r.try_get("kind")?,
            district: r.try_get("district")?,
            unit: r.try_get("unit")?,
            grid_code: r.try_get("grid_code")?,
            lon: r.try_get("lon")?,
            lat: r.try_get("lat")?,
            checklist: serde_json::from_str(&checklist).map_err(|e| corrupt("checklist", e))?,
            scores: serde_json::from_str(&scores).map_err(|e| corrupt("scores", e))?,
            code,
        },
    ))
}

pub(crate) fn header_from_row<'r, R>(r: &'r R) -> Result<Assessment, StoreError>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    time::OffsetDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: i64 = r.try_get("id")?;
    let spec: String = r.try_get("spec")?;
    let spec: Spec =
        serde_json::from_str(&spec).map_err(|e| StoreError::Corrupt(format!("assessment {id} spec: {e}")))?;
    Ok(Assessment {
        id,
        spec,
        created_by: r.try_get("created_by")?,
        created_at: super::utc(r.try_get("created_at")?),
        items: Vec::new(),
    })
}

pub(crate) const ITEM_COLUMNS: &str =
    "assessment_id, point_code, name, kind, district, unit, grid_code, lon, lat, checklist, scores";

/// The assessment methods of `Store`, the same on both backends. Expands inside
/// `impl Store for …` of a type with `begin_write()` and `pool`.
macro_rules! assessment_methods {
    () => {
        fn create_assessment(
            &self,
            spec: $crate::domain::assessment::Spec,
            items: Vec<$crate::domain::assessment::Item>,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<i64, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO assessments (name, spec, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(&spec.name)
                .bind(serde_json::to_string(&spec).unwrap_or_else(|_| "{}".into()))
                .bind(&actor.name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                for (position, item) in items.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO assessment_items (assessment_id, position, point_code, name, kind, district, unit, \
                         grid_code, lon, lat, checklist, scores) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(id)
                    .bind(position as i32)
                    .bind(&item.code)
                    .bind(&item.name)
                    .bind(&item.kind)
                    .bind(&item.district)
                    .bind(&item.unit)
                    .bind(&item.grid_code)
                    .bind(item.lon)
                    .bind(item.lat)
                    .bind(serde_json::to_string(&item.checklist).unwrap_or_else(|_| "[]".into()))
                    .bind(serde_json::to_string(&item.scores).unwrap_or_else(|_| "{}".into()))
                    .execute(&mut *tx)
                    .await?;
                }
                audit_row!(
                    tx,
                    now,
                    actor,
                    "assessment.draw",
                    format!("assessment/{id}"),
                    serde_json::json!({"spec": spec, "points": items.len()})
                );
                tx.commit().await?;
                Ok(id)
            })
        }

        fn assessments(
            &self,
            id: Option<i64>,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::domain::assessment::Assessment>, StoreError>> {
            Box::pin(async move {
                let headers = sqlx::query(
                    "SELECT id, spec, created_by, created_at FROM assessments WHERE ($1 IS NULL OR id = $1) ORDER BY id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                let mut all = headers
                    .iter()
                    .map(|r| $crate::store::assessments::header_from_row(r))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM assessment_items WHERE ($1 IS NULL OR assessment_id = $1) \
                     ORDER BY assessment_id, position",
                    $crate::store::assessments::ITEM_COLUMNS
                ))
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                for r in &rows {
                    let (owner, item) = $crate::store::assessments::item_from_row(r)?;
                    if let Some(a) = all.iter_mut().find(|a| a.id == owner) {
                        a.items.push(item);
                    }
                }
                Ok(all)
            })
        }

        fn record_scores(
            &self,
            id: i64,
            scores: Vec<$crate::domain::assessment::Scored>,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<bool, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let mut by_point: std::collections::BTreeMap<&str, Vec<&$crate::domain::assessment::Scored>> =
                    std::collections::BTreeMap::new();
                for s in &scores {
                    by_point.entry(s.0.as_str()).or_default().push(s);
                }
                for (point, given) in by_point {
                    let stored: Option<String> = sqlx::query_scalar(
                        "SELECT scores FROM assessment_items WHERE assessment_id = $1 AND point_code = $2",
                    )
                    .bind(id)
                    .bind(point)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(stored) = stored else {
                        tx.rollback().await?;
                        return Ok(false);
                    };
                    let mut merged: std::collections::BTreeMap<String, $crate::domain::assessment::Score> =
                        serde_json::from_str(&stored)
                            .map_err(|e| StoreError::Corrupt(format!("assessment {id} point {point} scores: {e}")))?;
                    for (_, criterion, score) in given {
                        merged.insert(criterion.clone(), score.clone());
                    }
                    sqlx::query("UPDATE assessment_items SET scores = $3 WHERE assessment_id = $1 AND point_code = $2")
                        .bind(id)
                        .bind(point)
                        .bind(serde_json::to_string(&merged).unwrap_or_else(|_| "{}".into()))
                        .execute(&mut *tx)
                        .await?;
                }
                audit_row!(
                    tx,
                    now,
                    actor,
                    "assessment.score",
                    format!("assessment/{id}"),
                    serde_json::json!({"scores": scores.len()})
                );
                tx.commit().await?;
                Ok(true)
            })
        }
    };
}
