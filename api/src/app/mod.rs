//! The use cases shared by the HTTP API and the command line: the grid catalogue kept fresh,
//! intake's group commit, taking a case a step further, escalation, coverage, planning, bulletins, evidence files, map layers and tiles, and supervision rounds. Built
//! on [`crate::domain`] and [`crate::store`]; knows nothing of HTTP or the command line.

pub mod addresses;
pub mod bulletin;
pub mod campaigns;
pub mod casework;
pub mod catalog;
pub mod cluster;
pub mod coverage;
pub mod demo;
pub mod escalation;
pub mod evaluation;
pub mod evidence;
pub mod export;
pub mod group_commit;
pub mod hotline;
pub mod hotspots;
pub mod letters;
pub mod map_layers;
pub mod metrics;
pub mod pdf;
pub mod planning;
pub mod print;
pub mod round_bulletin;
pub mod sign_in;
pub mod supervision;
pub mod tasks;
pub mod tiles;
pub mod webhook;
