//! The command line: `serve`, `import`, `assign`, `migrate`, `coverage`, `check`, `report`, `user`, `token`.

pub mod accounts;
pub mod assess;
pub mod assign;
pub mod command;
pub mod config;
pub mod error;
pub mod import;
pub mod patrol;
pub mod report;
pub mod serve;
