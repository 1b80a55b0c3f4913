//! Special campaigns (专项整治): each kept as its plan (JSON) with who set it up and a version.

use super::audit;
use super::db::sql;
use super::{utc, Store, StoreError};
use crate::domain::auth::Actor;
use crate::domain::campaign::{Campaign, CampaignPlan};
use serde_json::json;
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: i64,
    plan: String,
    created_by: String,
    created_at: OffsetDateTime,
    version: i64,
}

impl CampaignRow {
    fn into_campaign(self) -> Result<Campaign, StoreError> {
        let plan: CampaignPlan = serde_json::from_str(&self.plan)
            .map_err(|e| StoreError::Corrupt(format!("campaign {} plan: {e}", self.id)))?;
        Ok(Campaign {
            id: self.id,
            plan,
            created_by: self.created_by,
            created_at: utc(self.created_at),
            version: self.version,
        })
    }
}

const COLUMNS: &str = "id, plan, created_by, created_at, version";

fn plan_json(plan: &CampaignPlan) -> Result<String, StoreError> {
    serde_json::to_string(plan).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    pub async fn create_campaign(
        &self,
        plan: &CampaignPlan,
        actor: &Actor,
        at: OffsetDateTime,
    ) -> Result<Campaign, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let id: i64 =
            sql("INSERT INTO campaigns (plan, created_by, created_at, version) VALUES ($1, $2, $3, 0) RETURNING id")
                .bind(plan_json(plan)?)
                .bind(actor.name.as_str())
                .bind(at)
                .scalar(&mut tx)
                .await?;
        audit::record(&mut tx, at, actor, "campaign.create", &format!("campaign/{id}"), &json!({"name": plan.name}))
            .await?;
        tx.commit().await?;
        Ok(Campaign { id, plan: plan.clone(), created_by: actor.name.clone(), created_at: at, version: 0 })
    }

    /// Every campaign, newest first.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let rows: Vec<CampaignRow> =
            sql(format!("SELECT {COLUMNS} FROM campaigns ORDER BY id DESC")).all(&self.pool).await?;
        rows.into_iter().map(CampaignRow::into_campaign).collect()
    }

    pub async fn campaign(&self, id: i64) -> Result<Option<Campaign>, StoreError> {
        let row: Option<CampaignRow> =
            sql(format!("SELECT {COLUMNS} FROM campaigns WHERE id = $1")).bind(id).optional(&self.pool).await?;
        row.map(CampaignRow::into_campaign).transpose()
    }

    /// Replaces a campaign's plan if it is still at `version` (else `Conflict`: someone changed
    /// it first); `None` when there is no such campaign.
    pub async fn update_campaign(
        &self,
        id: i64,
        version: i64,
        plan: &CampaignPlan,
        actor: &Actor,
        at: OffsetDateTime,
    ) -> Result<Option<Campaign>, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let changed = sql("UPDATE campaigns SET plan = $1, version = version + 1 WHERE id = $2 AND version = $3")
            .bind(plan_json(plan)?)
            .bind(id)
            .bind(version)
            .execute(&mut tx)
            .await?;
        if changed == 0 {
            let exists: Option<i64> =
                sql("SELECT version FROM campaigns WHERE id = $1").bind(id).optional_scalar(&mut tx).await?;
            tx.rollback().await?;
            return match exists {
                None => Ok(None),
                Some(now) => Err(StoreError::Conflict(format!(
                    "campaign {id} was changed meanwhile (version {now}, not {version}): read it again"
                ))),
            };
        }
        audit::record(&mut tx, at, actor, "campaign.update", &format!("campaign/{id}"), &json!({"name": plan.name}))
            .await?;
        let row: CampaignRow =
            sql(format!("SELECT {COLUMNS} FROM campaigns WHERE id = $1")).bind(id).one(&mut tx).await?;
        tx.commit().await?;
        row.into_campaign().map(Some)
    }
}
