//! What the commands share: a runtime for those that use the database, the clock, and writing
//! a result to a file or to standard output.

use crate::cli::error::CliError;

/// A runtime for the commands that use the database.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?)
}

/// Now, by the system clock.
pub(super) fn now() -> time::OffsetDateTime {
    crate::domain::clock::Clock::now(&crate::domain::clock::SystemClock)
}

/// Writes a command's result to `out`, or to standard output.
pub(super) fn write_out(out: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), CliError> {
    match out {
        Some(path) => {
            std::fs::write(path, bytes).map_err(|source| CliError::Write { path: path.to_path_buf(), source })
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            let end: &[u8] = if bytes.ends_with(b"\n") { b"" } else { b"\n" };
            let written = stdout.write_all(bytes).and_then(|_| stdout.write_all(end));
            written.map_err(|source| CliError::Write { path: "standard output".into(), source })
        }
    }
}
