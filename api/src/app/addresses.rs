//! Address search (地址库): the server's text index over the stored addresses, rebuilt when an
//! import moves their revision, and each hit placed in the grid that covers it now.

use crate::domain::access::Area;
use crate::domain::address::{Address, AddressIndex, AddressKind};
use crate::domain::grids::Snapshot;
use crate::store::{Store, StoreError};
use std::sync::Arc;

/// At most this many hits in one answer.
pub const MAX_HITS: usize = 50;

/// The addresses and their index, as of one revision.
struct Built {
    revision: i64,
    addresses: Vec<Address>,
    index: AddressIndex,
}

/// The server's address index: built on the first search, again after each import.
#[derive(Default)]
pub struct AddressBook {
    built: tokio::sync::Mutex<Option<Arc<Built>>>,
}

/// One address found, with the grid that covers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub address: Address,
    pub score: f32,
    pub grid: Option<GridOf>,
}

/// The grid an address falls in, as the dispatcher needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct GridOf {
    pub code: String,
    pub name: Option<String>,
    pub responsible_unit: Option<String>,
}

/// What to search for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    pub text: String,
    pub limit: usize,
    pub kind: Option<AddressKind>,
}

impl AddressBook {
    async fn current(&self, store: &Store) -> Result<Arc<Built>, StoreError> {
        let revision = store.address_revision().await?;
        let mut built = self.built.lock().await;
        if let Some(b) = built.as_ref().filter(|b| b.revision == revision) {
            return Ok(b.clone());
        }
        let addresses = store.addresses().await?;
        let index = tokio::task::spawn_blocking(move || {
            let index = AddressIndex::build(addresses.iter().map(|a| (a.name.as_str(), a.aliases.as_slice())));
            (addresses, index)
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("building the address index failed: {e}")))?;
        let fresh = Arc::new(Built { revision, addresses: index.0, index: index.1 });
        tracing::info!(revision, addresses = fresh.addresses.len(), "address index built");
        *built = Some(fresh.clone());
        Ok(fresh)
    }

    /// The best matches for `search` that lie in `area`, best first.
    pub async fn search(
        &self,
        store: &Store,
        snapshot: &Snapshot,
        area: &Area,
        search: &Search,
    ) -> Result<Vec<Found>, StoreError> {
        let built = self.current(store).await?;
        let keep = |doc: u32| {
            let a = &built.addresses[doc as usize];
            search.kind.is_none_or(|k| k == a.kind)
                && (matches!(area, Area::Everything) || in_area(area, grid_of(snapshot, a).as_ref()))
        };
        let hits = built.index.search(&search.text, search.limit.clamp(1, MAX_HITS), keep);
        Ok(hits
            .into_iter()
            .map(|h| {
                let address = built.addresses[h.doc as usize].clone();
                Found { grid: grid_of(snapshot, &address), address, score: h.score }
            })
            .collect())
    }

    /// One address by id, with its grid, if it lies in `area`.
    pub async fn get(
        &self,
        store: &Store,
        snapshot: &Snapshot,
        area: &Area,
        id: i64,
    ) -> Result<Option<Found>, StoreError> {
        let Some(address) = store.address(id).await? else { return Ok(None) };
        let grid = grid_of(snapshot, &address);
        let seen = matches!(area, Area::Everything) || in_area(area, grid.as_ref());
        Ok(seen.then_some(Found { address, score: 1.0, grid }))
    }
}

/// The grid covering an address now (grids change; addresses are not re-imported for it).
fn grid_of(snapshot: &Snapshot, a: &Address) -> Option<GridOf> {
    snapshot.index.locate(geo::Coord { x: a.lon, y: a.lat }).grid.map(|g| GridOf {
        code: g.code.clone(),
        name: g.payload.name.clone(),
        responsible_unit: g.payload.responsible_unit.clone(),
    })
}

/// Whether a caller limited to `area` may see what lies in `grid` (nothing outside every grid).
fn in_area(area: &Area, grid: Option<&GridOf>) -> bool {
    grid.is_some_and(|g| area.sees(Some(&g.code), g.responsible_unit.as_deref(), None))
}
