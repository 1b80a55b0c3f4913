//! The in-memory grid index (and the category catalogue), rebuilt from the database (the source of truth) whenever the grid
//! revision moves, and swapped atomically so readers never wait.

pub use crate::domain::grids::{leaf_entries, GridInfo, GridMeta, Snapshot};
use crate::store::{Store, StoreError};
use arc_swap::ArcSwap;
use std::sync::Arc;

/// Holds the current snapshot.
pub struct Catalog {
    current: ArcSwap<Snapshot>,
}

impl Catalog {
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let snapshot = Self::build(store).await?;
        Ok(Self { current: ArcSwap::from_pointee(snapshot) })
    }

    async fn build(store: &Store) -> Result<Snapshot, StoreError> {
        // Read the revision first: if grids change while we read, the next refresh catches it.
        let revision = store.grid_revision().await?;
        let category_revision = store.category_revision().await?;
        let categories = store.categories().await?;
        let grids = store.current_grids().await?;
        Ok(Snapshot::new(revision, category_revision, categories, grids))
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Rebuilds when a stored revision differs from the snapshot's. Returns whether it did.
    pub async fn refresh(&self, store: &Store) -> Result<bool, StoreError> {
        let current = self.current.load();
        if store.grid_revision().await? == current.revision
            && store.category_revision().await? == current.category_revision
        {
            return Ok(false);
        }
        let snapshot = Self::build(store).await?;
        tracing::info!(revision = snapshot.revision, grids = snapshot.index.len(), "grid index rebuilt");
        self.current.store(Arc::new(snapshot));
        Ok(true)
    }
}
