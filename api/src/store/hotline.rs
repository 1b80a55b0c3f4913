//! The 12345 exchange's orders: which case each became, and the result owed to the platform.

use super::db::sql;
use super::{Store, StoreError};
use crate::domain::hotline::{OrderResult, OrderState, Outcome};
use time::{Duration, OffsetDateTime};

#[derive(sqlx::FromRow)]
struct OrderRow {
    order_id: String,
    problem_id: i64,
    received_at: OffsetDateTime,
    outcome: Option<String>,
    reason: Option<String>,
    outcome_at: Option<OffsetDateTime>,
    pushed_at: Option<OffsetDateTime>,
}

impl OrderRow {
    fn into_state(self) -> Result<OrderState, StoreError> {
        let outcome = match self.outcome.as_deref() {
            None => None,
            Some(text) => Some(Outcome::parse(text).ok_or_else(|| {
                StoreError::Corrupt(format!("hotline order {}: unknown outcome {text:?}", self.order_id))
            })?),
        };
        Ok(OrderState {
            order_id: self.order_id,
            problem_id: self.problem_id,
            received_at: self.received_at,
            outcome,
            reason: self.reason,
            outcome_at: self.outcome_at,
            pushed_at: self.pushed_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    #[sqlx(flatten)]
    order: OrderRow,
    attempts: i32,
}

const COLUMNS: &str = "order_id, problem_id, received_at, outcome, reason, outcome_at, pushed_at";

impl Store {
    pub async fn hotline_order(&self, order_id: &str) -> Result<Option<OrderState>, StoreError> {
        let row: Option<OrderRow> = sql(format!("SELECT {COLUMNS} FROM hotline_orders WHERE order_id = $1"))
            .bind(order_id)
            .optional(&self.pool)
            .await?;
        row.map(OrderRow::into_state).transpose()
    }

    pub async fn hotline_order_of(&self, problem_id: i64) -> Result<Option<OrderState>, StoreError> {
        let row: Option<OrderRow> = sql(format!("SELECT {COLUMNS} FROM hotline_orders WHERE problem_id = $1"))
            .bind(problem_id)
            .optional(&self.pool)
            .await?;
        row.map(OrderRow::into_state).transpose()
    }

    /// Records that `order_id` became case `problem_id`; of two racing deliveries the first
    /// stays. Returns the order as kept.
    pub async fn record_hotline_order(
        &self,
        order_id: &str,
        problem_id: i64,
        at: OffsetDateTime,
    ) -> Result<OrderState, StoreError> {
        sql("INSERT INTO hotline_orders (order_id, problem_id, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (order_id) DO NOTHING")
        .bind(order_id)
        .bind(problem_id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        self.hotline_order(order_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("hotline order {order_id} went missing")))
    }

    /// Owes the platform the result of the order behind `problem_id`, if there is one and it has
    /// no result yet (a result is given once). True when this call set it.
    pub async fn settle_hotline_order(
        &self,
        problem_id: i64,
        outcome: Outcome,
        reason: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let changed = sql("UPDATE hotline_orders SET outcome = $2, reason = $3, outcome_at = $4 \
                           WHERE problem_id = $1 AND outcome IS NULL")
        .bind(problem_id)
        .bind(outcome.as_str())
        .bind(reason)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(changed > 0)
    }

    /// Claims up to `limit` results owed to the platform for `hold` (no other node sends them
    /// meanwhile), oldest first.
    /// Each result comes with how many times it has been claimed, this time included.
    pub async fn claim_hotline_results(
        &self,
        now: OffsetDateTime,
        hold: Duration,
        limit: i64,
    ) -> Result<Vec<(OrderResult, i32)>, StoreError> {
        let d = self.dialect;
        let mut tx = self.pool.begin_write().await?;
        let due: Vec<ClaimRow> = sql(format!(
            "SELECT {COLUMNS}, attempts FROM hotline_orders WHERE outcome IS NOT NULL AND pushed_at IS NULL \
             AND (claimed_until IS NULL OR {} < {}) ORDER BY outcome_at LIMIT $2 {}",
            d.time("claimed_until"),
            d.time("$1"),
            d.for_update()
        ))
        .bind(now)
        .bind(limit)
        .all(&mut tx)
        .await?;
        let mut results = Vec::with_capacity(due.len());
        for ClaimRow { order, attempts } in due {
            sql("UPDATE hotline_orders SET claimed_until = $2, attempts = attempts + 1 WHERE order_id = $1")
                .bind(order.order_id.as_str())
                .bind(now + hold)
                .execute(&mut tx)
                .await?;
            let state = order.into_state()?;
            if let (Some(outcome), Some(at)) = (state.outcome, state.outcome_at) {
                let result = OrderResult {
                    order_id: state.order_id,
                    problem_id: state.problem_id,
                    outcome,
                    at,
                    note: state.reason,
                };
                results.push((result, attempts + 1));
            }
        }
        tx.commit().await?;
        Ok(results)
    }

    /// The platform did not take the result of `order_id`: it may be sent again from `retry_at`.
    pub async fn release_hotline_result(&self, order_id: &str, retry_at: OffsetDateTime) -> Result<(), StoreError> {
        sql("UPDATE hotline_orders SET claimed_until = $2 WHERE order_id = $1 AND pushed_at IS NULL")
            .bind(order_id)
            .bind(retry_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The platform took the result of `order_id`.
    pub async fn hotline_result_pushed(&self, order_id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        sql("UPDATE hotline_orders SET pushed_at = $2, claimed_until = NULL WHERE order_id = $1")
            .bind(order_id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
