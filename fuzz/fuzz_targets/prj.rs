//! Any text as a `.prj`; a CRS it accepts must convert any position without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(crs) = importers::crs::Crs::from_prj(text) {
            let _ = crs.to_wgs84(geo_types::Coord { x: 500_000.0, y: 4_400_000.0 });
        }
        let _ = text.parse::<importers::crs::Crs>();
    }
});
