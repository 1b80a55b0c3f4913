//! Grids (网格) as the service knows them at one moment: the routing index over the finest grids,
//! the hierarchy of every current grid, and the category catalogue, built from stored grids.

use crate::domain::workflow::catalogue::Category;
use spatial::index::Entry;
use spatial::{Grid, GridIndex};
use std::collections::{BTreeSet, HashMap, HashSet};
use time::OffsetDateTime;

/// A grid as stored: one version of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredGrid {
    pub grid: Grid,
    pub version: i32,
    pub valid_from: OffsetDateTime,
    pub valid_to: Option<OffsetDateTime>,
}

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
    pub categories: Vec<Category>,
    pub index: GridIndex<GridInfo>,
    /// Current grid code → the codes of its children.
    children: HashMap<String, Vec<String>>,
    /// Current grid code → its name, parent and level.
    pub grids: HashMap<String, GridMeta>,
}

impl Snapshot {
    /// The snapshot of the current grids (every level) and catalogue at these revisions.
    pub fn new(revision: i64, category_revision: i64, categories: Vec<Category>, grids: Vec<StoredGrid>) -> Self {
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
        Snapshot { revision, category_revision, categories, index, children, grids: metas }
    }

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
