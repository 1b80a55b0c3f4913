//! gridwatch's pure geometry core.
//!
//! Everything here is plain functions over plain data: no I/O, no async, no database.
//! The API crate feeds it grids read from storage; importers feed it records read from files.

pub mod china_datums;
pub mod coverage;
pub mod covers;
pub mod geodesy;
pub mod grid;
pub mod index;
pub mod locator;
pub mod patrol;
pub mod planning;
pub mod projection;
pub mod streets;
pub mod subdivide;
pub mod tiling;
pub mod track;
pub mod validity;
pub mod wkb;

pub use geo::{Coord, LineString, MultiPolygon, Point, Polygon, Rect};
pub use grid::{Grid, GridLevel};
pub use index::{GridIndex, Location};
