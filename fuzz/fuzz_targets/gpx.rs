//! Any text as GPX: waypoints and track points, their geometry checks and their times.
#![no_main]
use importers::gpx::{read_points, GpxPoints};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for which in [GpxPoints::Waypoints, GpxPoints::TrackPoints] {
            let _ = read_points(Path::new("f.gpx"), text, which, &mut |r| {
                if let Ok(record) = r {
                    if let Some(t) = record.properties.get("time").and_then(|t| t.as_str()) {
                        let _ = importers::record::parse_time(t);
                    }
                    if let Some(g) = record.geometry {
                        let _ = g.into_geometry(false);
                    }
                }
            });
        }
    }
});
