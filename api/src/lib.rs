//! gridwatch: the service around the pure `spatial` core — configuration, storage, HTTP, the
//! case workflow and the command line.

pub mod access;
pub mod assessment;
pub mod auth;
pub mod bulletin;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod coverage;
pub mod demo;
pub mod escalation;
pub mod evidence;
pub mod export;
pub mod group_commit;
pub mod http;
pub mod indicators;
pub mod intake;
pub mod patrol;
pub mod planning;
pub mod problem;
pub mod store;
pub mod tiles;
pub mod workflow;
