//! The command line: `serve`, `import`, `assign`, `migrate`.

pub mod accounts;
pub mod assign;
pub mod import;
pub mod report;
pub mod serve;
