//! Any bytes as a GeoPackage geometry blob (GP header, envelope, WKB).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(g)) = importers::gpkg::geometry_from_blob(data) {
        let _ = g.into_geometry(true);
    }
});
