//! gridwatch: the service around the pure `spatial` core — configuration, storage, HTTP, the
//! case workflow and the command line.
//!
//! Imports go one way: [`domain`] (pure types and rules) ← [`store`] ← [`app`] (use cases) ←
//! [`http`] and [`cli`].

pub mod app;
pub mod cli;
pub mod domain;
pub mod http;
pub mod store;
