//! The 12345 exchange's way back: results owed to the platform (a case closed, an order sent
//! back) are POSTed to it, signed, until it answers 2xx. Each result is claimed in the store
//! before it is sent, so that of several nodes only one sends it; one the platform did not take
//! is sent again after a pause that doubles with each try.

use crate::app::webhook::post_signed;
use crate::domain::clock::Clock;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;

/// A result being sent is held by its node this long: longer than a POST may take.
const HOLD: time::Duration = time::Duration::seconds(60);
/// A result the platform did not take is sent again after 1, 2, 4 … seconds, at most this long.
const MAX_PAUSE: i64 = 600;
/// Results owed are looked for at least this often (and at once when one is settled here).
const EVERY: Duration = Duration::from_secs(2);

/// Where results go: the platform's receiving URL and the shared secret they are signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub url: String,
    pub secret: String,
}

/// Sends the results owed to the platform, from every node.
pub struct Pusher {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub exchange: Exchange,
    /// Woken when a result is settled on this node.
    pub wake: Arc<tokio::sync::Notify>,
}

impl Pusher {
    pub async fn run(self) {
        loop {
            if let Err(e) = self.push_due().await {
                tracing::warn!(error = %e, "sending 12345 results failed; trying again");
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(EVERY) => {}
            }
        }
    }

    /// Sends what is owed now; returns how many results the platform took.
    pub async fn push_due(&self) -> Result<usize, crate::store::StoreError> {
        let mut taken = 0;
        loop {
            let due = self.store.claim_hotline_results(self.clock.now(), HOLD, 20).await?;
            if due.is_empty() {
                return Ok(taken);
            }
            for (result, attempts) in due {
                let body = serde_json::to_vec(&result).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
                let Exchange { url, secret } = self.exchange.clone();
                let sent = tokio::task::spawn_blocking(move || post_signed(&url, "hotline.result", &secret, &body))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                match sent {
                    Ok(()) => {
                        self.store.hotline_result_pushed(&result.order_id, self.clock.now()).await?;
                        taken += 1;
                    }
                    Err(e) => {
                        let pause = (1i64 << attempts.clamp(1, 20).saturating_sub(1)).min(MAX_PAUSE);
                        tracing::warn!(order = %result.order_id, error = %e, attempts, pause, "the 12345 platform did not take a result");
                        let retry_at = self.clock.now() + time::Duration::seconds(pause);
                        self.store.release_hotline_result(&result.order_id, retry_at).await?;
                    }
                }
            }
        }
    }
}
