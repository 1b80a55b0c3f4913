//! The street network (路网) that planned routes follow.

use super::db::sql;
use super::patrols::bounds;
use super::{audit, Store, StoreError};
use crate::domain::auth::Actor;
use serde_json::json;
use spatial::streets::Street;
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct StreetRow {
    id: i64,
    name: Option<String>,
    wkb: Vec<u8>,
}

impl Store {
    /// Replaces the whole street network in one transaction; with `dry_run` nothing is kept.
    pub async fn replace_streets(
        &self,
        streets: Vec<Street>,
        now: OffsetDateTime,
        actor: Actor,
        dry_run: bool,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        sql("DELETE FROM streets").execute(&mut tx).await?;
        let insert = format!(
            "INSERT INTO streets (name, geom, min_lon, min_lat, max_lon, max_lat, imported_at) \
             VALUES ($1, {}, $3, $4, $5, $6, $7)",
            self.dialect.geometry(2)
        );
        for street in &streets {
            let geometry = geo::Geometry::LineString(street.line.clone());
            let [min_lon, min_lat, max_lon, max_lat] = bounds(&geometry);
            sql(insert.as_str())
                .bind(&street.name)
                .bind(spatial::wkb::geometry_to_wkb(&geometry))
                .bind(min_lon)
                .bind(min_lat)
                .bind(max_lon)
                .bind(max_lat)
                .bind(now)
                .execute(&mut tx)
                .await?;
        }
        sql("UPDATE revisions SET value = value + 1 WHERE name = 'streets'").execute(&mut tx).await?;
        let details = json!({"lines": streets.len()});
        audit::record(&mut tx, now, &actor, "streets.replace", "streets", &details).await?;
        tx.finish(dry_run).await?;
        Ok(streets.len())
    }

    pub async fn streets(&self) -> Result<Vec<Street>, StoreError> {
        let rows: Vec<StreetRow> =
            sql(format!("SELECT id, name, {} AS wkb FROM streets ORDER BY id", self.dialect.wkb()))
                .all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|r| match spatial::wkb::geometry_from_wkb(&r.wkb) {
                Ok(geo::Geometry::LineString(line)) => Ok(Street { name: r.name, line }),
                other => Err(StoreError::Corrupt(format!("street {}: not a line string: {other:?}", r.id))),
            })
            .collect()
    }

    /// Changes whenever the street network is replaced.
    pub async fn street_revision(&self) -> Result<i64, StoreError> {
        Ok(sql("SELECT value FROM revisions WHERE name = 'streets'").scalar(&self.pool).await?)
    }
}
