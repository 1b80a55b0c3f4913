//! A `.shp` and a `.dbf` from one input (split by its first byte), read side by side.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let at = (usize::from(split) * rest.len() / 256).min(rest.len());
    let (shp, dbf) = rest.split_at(at);
    let _ = importers::shapefile::read_streams(Path::new("f.shp"), shp, Path::new("f.dbf"), dbf, None, &mut |r| {
        if let Ok(Some(g)) = r.map(|r| r.geometry) {
            let _ = g.into_geometry(true);
        }
    });
});
