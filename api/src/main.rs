//! The `gridwatch` binary: the command line lives in `gridwatch::cli::command`.

use std::process::ExitCode;

/// mimalloc hands freed pages back to the system: with glibc's allocator, loading a city's
/// million cases page by page left half a gigabyte of freed memory held by the process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    gridwatch::cli::command::main()
}
