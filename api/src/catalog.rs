//! The in-memory grid index (and the category catalogue), rebuilt from the database (the source of truth) whenever the grid
//! revision moves, and swapped atomically so readers never wait.

use crate::store::{Store, StoreError, StoredGrid};
use arc_swap::ArcSwap;
use spatial::index::Entry;
use spatial::GridIndex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// What routing needs to know about an indexed grid besides its code and boundary.
#[derive(Debug, Clone)]
pub struct GridInfo {
    pub name: Option<String>,
    pub responsible_unit: Option<String>,
    /// 网格员: the officer walking it.
    pub officer: Option<String>,
    pub version: i32,
}

/// What the hierarchy knows of every current grid (all levels).
#[derive(Debug, Clone)]
pub struct GridMeta {
    pub name: Option<String>,
    pub parent: Option<String>,
    pub level: Option<spatial::GridLevel>,
}

/// One immutable snapshot: the index, the grid hierarchy and the revision they were built from.
pub struct Snapshot {
    /// The grid and catalogue revisions this snapshot was built from.
    pub revision: i64,
    pub category_revision: i64,
    /// The category catalogue, kept here so intake reads no table per report.
    pub categories: Vec<crate::workflow::catalogue::Category>,
    pub index: GridIndex<GridInfo>,
    /// Current grid code → the codes of its children.
    children: HashMap<String, Vec<String>>,
    /// Current grid code → its name, parent and level.
    pub grids: HashMap<String, GridMeta>,
}

impl Snapshot {
    /// The grid itself or its nearest ancestor at `level` (e.g. the street of a unit grid).
    pub fn ancestor_at(&self, code: &str, level: spatial::GridLevel) -> Option<&str> {
        let mut current = Some(code);
        for _ in 0..16 {
            let c = current?;
            let meta = self.grids.get(c)?;
            if meta.level == Some(level) {
                return self.grids.get_key_value(c).map(|(k, _)| k.as_str());
            }
            current = meta.parent.as_deref();
        }
        None
    }

    /// The given codes and every current grid below them.
    pub fn descendants(&self, codes: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<&str> = codes.iter().map(String::as_str).collect();
        while let Some(code) = stack.pop() {
            if out.insert(code.to_string()) {
                if let Some(kids) = self.children.get(code) {
                    stack.extend(kids.iter().map(String::as_str));
                }
            }
        }
        out
    }
}

/// Holds the current snapshot.
pub struct Catalog {
    current: ArcSwap<Snapshot>,
}

/// Problems are routed to the finest grids: those that are no other current grid's parent.
pub fn leaf_entries(grids: Vec<StoredGrid>) -> Vec<Entry<GridInfo>> {
    let parents: HashSet<String> = grids.iter().filter_map(|g| g.grid.parent_code.clone()).collect();
    grids
        .into_iter()
        .filter(|g| !parents.contains(&g.grid.code))
        .map(|g| Entry {
            payload: GridInfo {
                name: g.grid.name,
                responsible_unit: g.grid.responsible_unit,
                officer: g.grid.officer,
                version: g.version,
            },
            code: g.grid.code,
            geometry: g.grid.geometry,
        })
        .collect()
}

impl Catalog {
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let snapshot = Self::build(store).await?;
        Ok(Self { current: ArcSwap::from_pointee(snapshot) })
    }

    async fn build(store: &dyn Store) -> Result<Snapshot, StoreError> {
        // Read the revision first: if grids change while we read, the next refresh catches it.
        let revision = store.grid_revision().await?;
        let category_revision = store.category_revision().await?;
        let categories = store.categories().await?;
        let grids = store.current_grids().await?;
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        let mut metas = HashMap::new();
        for g in &grids {
            if let Some(parent) = &g.grid.parent_code {
                children.entry(parent.clone()).or_default().push(g.grid.code.clone());
            }
            let meta = GridMeta { name: g.grid.name.clone(), parent: g.grid.parent_code.clone(), level: g.grid.level };
            metas.insert(g.grid.code.clone(), meta);
        }
        let index = GridIndex::new(leaf_entries(grids));
        Ok(Snapshot { revision, category_revision, categories, index, children, grids: metas })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Rebuilds when a stored revision differs from the snapshot's. Returns whether it did.
    pub async fn refresh(&self, store: &dyn Store) -> Result<bool, StoreError> {
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
