//! End-to-end tests live in `tests/`; they drive the `gridwatch` binary as a process.
