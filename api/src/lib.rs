//! gridwatch: the service around the pure `spatial` core — configuration, storage, HTTP, the
//! case workflow and the command line.
//!
//! Imports go one way: [`domain`] (pure types and rules) ← [`store`] ← the use cases ← [`http`]
//! and [`cli`] (docs/architecture.md).

pub mod bulletin;
pub mod catalog;
pub mod cli;
pub mod coverage;
pub mod demo;
pub mod domain;
pub mod escalation;
pub mod evidence;
pub mod export;
pub mod group_commit;
pub mod http;
pub mod planning;
pub mod store;
pub mod tiles;
