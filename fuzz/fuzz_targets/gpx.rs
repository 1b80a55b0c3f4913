//! Any text as GPX: waypoints, and track points through the same document check.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = importers::gpx::read_waypoints(Path::new("f.gpx"), text, &mut |r| {
            if let Ok(Some(g)) = r.map(|r| r.geometry) {
                let _ = g.into_geometry(false);
            }
        });
        let _ = importers::patrol::parse_gpx(Path::new("f.gpx"), text);
    }
});
