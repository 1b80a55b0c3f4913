//! One node among several on a shared PostgreSQL: it follows what every node (and every import)
//! commits — cases into its live streams and tiles, grid and catalogue revisions into its index,
//! assessment points into its tiles, the leader's colour changes into its escalation streams —
//! within a moment of the commit, instead of polling. On SQLite there is one node and nothing to
//! follow: changes go straight to its own streams.

use crate::app::catalog::Catalog;
use crate::app::escalation::ColourChange;
use crate::app::tiles::TileService;
use crate::domain::problem::Problem;
use crate::store::cluster::{Notice, COLOURS, LAYERS, PROBLEMS, REVISIONS};
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// A burst of cases (an import) larger than this reloads the tiles but is not replayed case by
/// case into the live streams.
const MOST_REPLAYED: usize = 1000;

/// What a node keeps up to date from the others' changes.
#[derive(Clone)]
pub struct Follower {
    pub store: Arc<Store>,
    pub catalog: Arc<Catalog>,
    pub tiles: Arc<TileService>,
    pub problems: broadcast::Sender<Problem>,
    pub colours: broadcast::Sender<ColourChange>,
}

impl Follower {
    /// Listens until the process ends, reconnecting after a lost connection; returns at once on
    /// SQLite.
    pub async fn run(self) {
        loop {
            let mut notices = match self.store.listen(&[PROBLEMS, REVISIONS, LAYERS, COLOURS]).await {
                Ok(Some(notices)) => notices,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other nodes' changes; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            tracing::info!("following other nodes' changes (LISTEN/NOTIFY)");
            loop {
                let first = match notices.next().await {
                    Ok(notice) => notice,
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the notification connection; reconnecting");
                        // Whatever was said meanwhile is lost: the index and tiles read again.
                        self.tiles.everything_changed();
                        let _ = self.catalog.refresh(&self.store).await;
                        break;
                    }
                };
                // Take what else has arrived with it, so that a burst costs one pass.
                let mut batch = vec![first];
                while let Ok(Ok(more)) = tokio::time::timeout(Duration::from_millis(5), notices.next()).await {
                    batch.push(more);
                    if batch.len() > 4 * MOST_REPLAYED {
                        break;
                    }
                }
                self.apply(batch).await;
            }
        }
    }

    async fn apply(&self, batch: Vec<Notice>) {
        let mut cases: Vec<i64> = Vec::new();
        let (mut revisions, mut layers) = (false, false);
        for notice in batch {
            match notice.channel.as_str() {
                PROBLEMS => cases.extend(notice.payload.parse::<i64>().ok()),
                REVISIONS => revisions = true,
                LAYERS => layers = true,
                COLOURS => match serde_json::from_str::<ColourChange>(&notice.payload) {
                    Ok(change) => {
                        let _ = self.colours.send(change); // nobody listening is fine
                    }
                    Err(e) => tracing::warn!(error = %e, "a colour change that does not read"),
                },
                _ => {}
            }
        }
        if revisions {
            if let Err(e) = self.catalog.refresh(&self.store).await {
                tracing::warn!(error = %e, "grid index refresh failed; the periodic check will retry");
            }
        }
        if layers {
            self.tiles.points_changed();
        }
        // A case committed by any node, with an id lower than one already read or not.
        self.tiles.cases_changed(cases.iter().copied());
        cases.sort_unstable();
        cases.dedup();
        if cases.len() > MOST_REPLAYED {
            return;
        }
        for id in cases {
            match self.store.problem(id).await {
                Ok(Some(problem)) => {
                    let _ = self.problems.send(problem);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, problem = id, "a changed case could not be read"),
            }
        }
    }
}
