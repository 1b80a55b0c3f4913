//! The domain: pure types and rules, with no database, no HTTP and no runtime (no sqlx, axum or
//! tokio). Everything else in `api` builds on these.

pub mod access;
pub mod address;
pub mod assessment;
pub mod auth;
pub mod campaign;
pub mod clock;
pub mod evaluation;
pub mod evidence;
pub mod grids;
pub mod hotline;
pub mod hotspots;
pub mod indicators;
pub mod intake;
pub mod letters;
pub mod patrol;
pub mod period;
pub mod problem;
pub mod supervision;
pub mod tasks;
pub mod workflow;
