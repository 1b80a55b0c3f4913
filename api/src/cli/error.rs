//! What a command can fail with. Each is printed as one line after `error:` and the command exits
//! with status 1.

use crate::store::StoreError;
use std::path::PathBuf;

/// A flag, environment variable or configuration file that cannot be used: nothing was started.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{flag} {value:?}: {reason}")]
    Flag { flag: &'static str, value: String, reason: String },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    /// Flags that are fine alone but not together.
    #[error("{0}")]
    Rule(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    /// Problems found in the input, each printed already (file, record, field, reason).
    #[error("{count} problem(s) found; {outcome}")]
    Problems { count: usize, outcome: &'static str },
    /// A failure a command explains in its own words.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Failed(message)
    }
}

impl From<csv::Error> for CliError {
    fn from(e: csv::Error) -> Self {
        CliError::Failed(format!("cannot write CSV: {e}"))
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError::Failed(format!("cannot write JSON: {e}"))
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        CliError::Failed(message.to_string())
    }
}

impl CliError {
    /// Prints each problem found in an input to standard error and says what became of it.
    pub fn problems(problems: &[String], outcome: &'static str) -> Self {
        for p in problems {
            eprintln!("{p}");
        }
        CliError::Problems { count: problems.len(), outcome }
    }
}
