//! The command line: `serve`, `migrate`, `import`, `assign`, `coverage`, `plan`, `check`, `report`,
//! `assess`, `user`, `token`. `command` parses and dispatches; each command is defined (its clap
//! arguments) and run in its own module.

pub mod accounts;
pub mod assess;
pub mod assign;
pub mod check;
pub mod command;
pub mod config;
pub mod error;
pub mod import;
pub mod patrol;
pub mod report;
pub mod serve;
mod shared;
