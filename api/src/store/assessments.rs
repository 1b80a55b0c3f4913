//! Mock assessments (模拟测评) in storage: the drawn points with their checklists and scores.

use super::db::sql;
use super::{audit, json_text, utc, Store, StoreError};
use crate::domain::assessment::{Assessment, Item, Score, Scored, Spec};
use crate::domain::auth::Actor;
use serde_json::json;
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct HeaderRow {
    id: i64,
    spec: String,
    created_by: String,
    created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    assessment_id: i64,
    point_code: String,
    name: String,
    kind: String,
    district: String,
    unit: Option<String>,
    grid_code: Option<String>,
    lon: f64,
    lat: f64,
    checklist: String,
    scores: String,
}

impl ItemRow {
    /// The assessment it belongs to, and the item.
    fn into_item(self) -> Result<(i64, Item), StoreError> {
        let (id, code) = (self.assessment_id, self.point_code);
        let corrupt =
            |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("assessment {id} point {code} {what}: {e}"));
        let checklist = serde_json::from_str(&self.checklist).map_err(|e| corrupt("checklist", e))?;
        let scores = serde_json::from_str(&self.scores).map_err(|e| corrupt("scores", e))?;
        Ok((
            id,
            Item {
                name: self.name,
                kind: self.kind,
                district: self.district,
                unit: self.unit,
                grid_code: self.grid_code,
                lon: self.lon,
                lat: self.lat,
                checklist,
                scores,
                code,
            },
        ))
    }
}

impl Store {
    /// Stores a drawn mock assessment with its points and checklists; returns its id.
    pub async fn create_assessment(
        &self,
        spec: Spec,
        items: Vec<Item>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let id: i64 =
            sql("INSERT INTO assessments (name, spec, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(&spec.name)
                .bind(json_text(&spec, "{}"))
                .bind(&actor.name)
                .bind(now)
                .scalar(&mut tx)
                .await?;
        for (position, item) in items.iter().enumerate() {
            sql("INSERT INTO assessment_items (assessment_id, position, point_code, name, kind, district, unit, \
                 grid_code, lon, lat, checklist, scores) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
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
            .bind(json_text(&item.checklist, "[]"))
            .bind(json_text(&item.scores, "{}"))
            .execute(&mut tx)
            .await?;
        }
        let details = json!({"spec": spec, "points": items.len()});
        audit::record(&mut tx, now, &actor, "assessment.draw", &format!("assessment/{id}"), &details).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every mock assessment with its points and scores (or only `id`), oldest first.
    pub async fn assessments(&self, id: Option<i64>) -> Result<Vec<Assessment>, StoreError> {
        let headers: Vec<HeaderRow> =
            sql("SELECT id, spec, created_by, created_at FROM assessments WHERE ($1 IS NULL OR id = $1) ORDER BY id")
                .bind(id)
                .all(&self.pool)
                .await?;
        let mut all = headers
            .into_iter()
            .map(|h| {
                let spec: Spec = serde_json::from_str(&h.spec)
                    .map_err(|e| StoreError::Corrupt(format!("assessment {} spec: {e}", h.id)))?;
                Ok(Assessment {
                    id: h.id,
                    spec,
                    created_by: h.created_by,
                    created_at: utc(h.created_at),
                    items: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let rows: Vec<ItemRow> = sql(
            "SELECT assessment_id, point_code, name, kind, district, unit, grid_code, lon, lat, checklist, scores \
             FROM assessment_items WHERE ($1 IS NULL OR assessment_id = $1) ORDER BY assessment_id, position",
        )
        .bind(id)
        .all(&self.pool)
        .await?;
        for row in rows {
            let (owner, item) = row.into_item()?;
            if let Some(a) = all.iter_mut().find(|a| a.id == owner) {
                a.items.push(item);
            }
        }
        Ok(all)
    }

    /// Records scores (checked by `assessment::check_scores`) in one transaction, replacing
    /// earlier scores of the same criteria; false, and nothing kept, when a point is not drawn.
    pub async fn record_scores(
        &self,
        id: i64,
        scores: Vec<Scored>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let mut by_point: BTreeMap<&str, Vec<&Scored>> = BTreeMap::new();
        for s in &scores {
            by_point.entry(s.0.as_str()).or_default().push(s);
        }
        for (point, given) in by_point {
            let stored: Option<String> =
                sql("SELECT scores FROM assessment_items WHERE assessment_id = $1 AND point_code = $2")
                    .bind(id)
                    .bind(point)
                    .optional_scalar(&mut tx)
                    .await?;
            let Some(stored) = stored else {
                tx.rollback().await?;
                return Ok(false);
            };
            let mut merged: BTreeMap<String, Score> = serde_json::from_str(&stored)
                .map_err(|e| StoreError::Corrupt(format!("assessment {id} point {point} scores: {e}")))?;
            for (_, criterion, score) in given {
                merged.insert(criterion.clone(), score.clone());
            }
            sql("UPDATE assessment_items SET scores = $3 WHERE assessment_id = $1 AND point_code = $2")
                .bind(id)
                .bind(point)
                .bind(json_text(&merged, "{}"))
                .execute(&mut tx)
                .await?;
        }
        let details = json!({"scores": scores.len()});
        audit::record(&mut tx, now, &actor, "assessment.score", &format!("assessment/{id}"), &details).await?;
        tx.commit().await?;
        Ok(true)
    }
}
