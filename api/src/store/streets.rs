//! The street network in storage. Geometry goes in and out as WKB, which each backend module
//! supplies as `wkb_in(n)` and `WKB_OUT`.

/// The street methods of `Store`, the same on both backends. Expands inside `impl Store for …`
/// of a type with `begin_write()`, `pool`, `wkb_in(n)` and `WKB_OUT` in scope.
macro_rules! street_methods {
    () => {
        fn replace_streets(
            &self,
            streets: Vec<spatial::streets::Street>,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
            dry_run: bool,
        ) -> $crate::store::BoxFuture<'_, Result<usize, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM streets").execute(&mut *tx).await?;
                let sql = format!(
                    "INSERT INTO streets (name, geom, min_lon, min_lat, max_lon, max_lat, imported_at) \
                     VALUES ($1, {}, $3, $4, $5, $6, $7)",
                    wkb_in(2)
                );
                for street in &streets {
                    let geometry = geo::Geometry::LineString(street.line.clone());
                    let [min_lon, min_lat, max_lon, max_lat] = $crate::store::patrols::bounds(&geometry);
                    sqlx::query(&sql)
                        .bind(&street.name)
                        .bind(spatial::wkb::geometry_to_wkb(&geometry))
                        .bind(min_lon)
                        .bind(min_lat)
                        .bind(max_lon)
                        .bind(max_lat)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("UPDATE revisions SET value = value + 1 WHERE name = 'streets'").execute(&mut *tx).await?;
                audit_row!(tx, now, actor, "streets.replace", "streets", serde_json::json!({"lines": streets.len()}));
                if dry_run {
                    tx.rollback().await?;
                } else {
                    tx.commit().await?;
                }
                Ok(streets.len())
            })
        }

        fn streets(&self) -> $crate::store::BoxFuture<'_, Result<Vec<spatial::streets::Street>, StoreError>> {
            Box::pin(async move {
                use sqlx::Row;
                let rows = sqlx::query(&format!("SELECT id, name, {WKB_OUT} AS wkb FROM streets ORDER BY id"))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let id: i64 = r.try_get("id")?;
                        let wkb: Vec<u8> = r.try_get("wkb")?;
                        match spatial::wkb::geometry_from_wkb(&wkb) {
                            Ok(geo::Geometry::LineString(line)) => {
                                Ok(spatial::streets::Street { name: r.try_get("name")?, line })
                            }
                            other => Err(StoreError::Corrupt(format!("street {id}: not a line string: {other:?}"))),
                        }
                    })
                    .collect()
            })
        }

        fn street_revision(&self) -> $crate::store::BoxFuture<'_, Result<i64, StoreError>> {
            Box::pin(async move {
                Ok(sqlx::query_scalar("SELECT value FROM revisions WHERE name = 'streets'").fetch_one(&self.pool).await?)
            })
        }
    };
}
