//! Any text as Well-Known Text, then validated and repaired.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(g) = importers::wkt::parse(text) {
            let _ = g.into_geometry(true);
        }
    }
});
