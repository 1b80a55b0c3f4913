//! Streams any bytes as a GeoJSON FeatureCollection and checks every record it yields.
#![no_main]
use importers::record::RawGeometry;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = importers::geojson::read_records(Path::new("fuzz.geojson"), data, &mut |r| {
        if let Ok(record) = r {
            if let Some(g) = record.geometry {
                let repaired: Option<RawGeometry> = Some(g.clone());
                let _ = g.into_geometry(false);
                let _ = repaired.map(|g| g.into_geometry(true));
            }
        }
    });
});
