//! The address book (地址库): upserted by code on import, read whole to build the search index.

use super::db::{sql, Tx};
use super::dialect::Dialect;
use super::{audit, Store, StoreError};
use crate::domain::address::{Address, AddressKind, NewAddress};
use crate::domain::auth::Actor;
use crate::domain::patrol::UpsertSummary;
use serde_json::json;
use std::collections::HashMap;
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct AddressRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    aliases: String,
    lon: f64,
    lat: f64,
}

impl AddressRow {
    fn into_address(self) -> Result<Address, StoreError> {
        let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("address {} {what}: {e}", self.code));
        let kind: AddressKind = self.kind.parse().map_err(|e| corrupt("kind", e))?;
        let aliases: Vec<String> =
            serde_json::from_str(&self.aliases).map_err(|e| corrupt("aliases", e.to_string()))?;
        Ok(Address { id: self.id, code: self.code, name: self.name, kind, aliases, lon: self.lon, lat: self.lat })
    }

    fn same_as(&self, a: &NewAddress) -> bool {
        self.name == a.name
            && self.kind == a.kind.as_str()
            && self.aliases == aliases_json(a)
            && self.lon == a.lon
            && self.lat == a.lat
    }
}

fn aliases_json(a: &NewAddress) -> String {
    serde_json::Value::from(a.aliases.clone()).to_string()
}

/// New addresses go in by this many rows a statement (7 parameters each).
const INSERT_ROWS: usize = 500;

const COLUMNS: &str = "id, code, name, kind, aliases, lon, lat";

impl Store {
    /// Creates or updates addresses by code, all or nothing, counting what changed; with
    /// `dry_run` nothing is kept. Addresses not in `addresses` stay.
    pub async fn upsert_addresses(
        &self,
        addresses: &[NewAddress],
        now: OffsetDateTime,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<UpsertSummary, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let existing: HashMap<String, AddressRow> = sql(format!("SELECT {COLUMNS} FROM addresses"))
            .all::<AddressRow>(&mut tx)
            .await?
            .into_iter()
            .map(|r| (r.code.clone(), r))
            .collect();
        let mut summary = UpsertSummary::default();
        let mut fresh = Vec::new();
        for a in addresses {
            match existing.get(&a.code) {
                Some(old) if old.same_as(a) => summary.unchanged += 1,
                Some(_) => {
                    summary.updated += 1;
                    sql(
                        "UPDATE addresses SET name = $2, kind = $3, aliases = $4, lon = $5, lat = $6, updated_at = $7 \
                         WHERE code = $1",
                    )
                    .bind(a.code.as_str())
                    .bind(a.name.as_str())
                    .bind(a.kind.as_str())
                    .bind(aliases_json(a))
                    .bind(a.lon)
                    .bind(a.lat)
                    .bind(now)
                    .execute(&mut tx)
                    .await?;
                }
                None => {
                    summary.created += 1;
                    fresh.push(a);
                }
            }
        }
        for chunk in fresh.chunks(INSERT_ROWS) {
            insert(&mut tx, self.dialect, chunk, now).await?;
        }
        if summary.created + summary.updated > 0 {
            sql("UPDATE revisions SET value = value + 1 WHERE name = 'addresses'").execute(&mut tx).await?;
            let codes: Vec<&str> = addresses.iter().take(20).map(|a| a.code.as_str()).collect();
            let details = json!({"summary": summary, "codes": codes, "of": addresses.len()});
            audit::record(&mut tx, now, actor, "addresses.upsert", "addresses", &details).await?;
        }
        tx.finish(dry_run).await?;
        Ok(summary)
    }

    /// Every address, in id order (the search index's order).
    pub async fn addresses(&self) -> Result<Vec<Address>, StoreError> {
        let rows: Vec<AddressRow> = sql(format!("SELECT {COLUMNS} FROM addresses ORDER BY id")).all(&self.pool).await?;
        rows.into_iter().map(AddressRow::into_address).collect()
    }

    pub async fn address(&self, id: i64) -> Result<Option<Address>, StoreError> {
        let row: Option<AddressRow> =
            sql(format!("SELECT {COLUMNS} FROM addresses WHERE id = $1")).bind(id).optional(&self.pool).await?;
        row.map(AddressRow::into_address).transpose()
    }

    /// Changes whenever an import changes an address.
    pub async fn address_revision(&self) -> Result<i64, StoreError> {
        Ok(sql("SELECT value FROM revisions WHERE name = 'addresses'").scalar(&self.pool).await?)
    }
}

async fn insert(tx: &mut Tx, d: Dialect, addresses: &[&NewAddress], now: OffsetDateTime) -> Result<(), sqlx::Error> {
    const PER_ROW: usize = 7;
    let rows: Vec<String> = (0..addresses.len())
        .map(|i| {
            let columns: Vec<String> = (1..=PER_ROW).map(|k| d.positional(i * PER_ROW + k)).collect();
            format!("({})", columns.join(", "))
        })
        .collect();
    let statement =
        format!("INSERT INTO addresses (code, name, kind, aliases, lon, lat, updated_at) VALUES {}", rows.join(", "));
    let mut insert = sql(statement);
    for a in addresses {
        insert = insert
            .bind(a.code.as_str())
            .bind(a.name.as_str())
            .bind(a.kind.as_str())
            .bind(aliases_json(a))
            .bind(a.lon)
            .bind(a.lat)
            .bind(now);
    }
    insert.execute(tx).await?;
    Ok(())
}
