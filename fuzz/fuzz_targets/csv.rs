//! Any bytes as a CSV table (encoding and delimiter detection, lon/lat and WKT columns).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let map = importers::record::FieldMap::default();
    let _ = importers::csv_table::read_records(Path::new("fuzz.csv"), data, None, &map, &mut |r| {
        if let Ok(Some(g)) = r.map(|r| r.geometry) {
            let _ = g.into_geometry(true);
        }
    });
});
