//! The web map's files, embedded in the binary: our own page, script and style (web/app) and
//! MapLibre GL JS, vendored at the version web/package-lock.json pins (web/vendor, refreshed by
//! scripts/vendor-maplibre.sh), so that building needs neither Node.js nor the internet.

macro_rules! web_file {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path))
    };
}

/// Every file under `/map/`: name, media type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("index.html", "text/html; charset=utf-8", web_file!("app/index.html")),
    ("app.js", "text/javascript; charset=utf-8", web_file!("app/app.js")),
    ("i18n.js", "text/javascript; charset=utf-8", web_file!("app/i18n.js")),
    ("app.css", "text/css; charset=utf-8", web_file!("app/app.css")),
    ("outbox.js", "text/javascript; charset=utf-8", web_file!("app/outbox.js")),
    ("sw.js", "text/javascript; charset=utf-8", web_file!("app/sw.js")),
    ("manifest.webmanifest", "application/manifest+json", web_file!("app/manifest.webmanifest")),
    ("icon.svg", "image/svg+xml", web_file!("app/icon.svg")),
    ("maplibre-gl.js", "text/javascript; charset=utf-8", web_file!("vendor/maplibre-gl/maplibre-gl.js")),
    ("maplibre-gl.css", "text/css; charset=utf-8", web_file!("vendor/maplibre-gl/maplibre-gl.css")),
];

/// A file of the web map by name (`""` is the page itself): its media type and bytes.
pub fn file(name: &str) -> Option<(&'static str, &'static [u8])> {
    let name = if name.is_empty() { "index.html" } else { name };
    FILES.iter().find(|(n, _, _)| *n == name).map(|(_, media, bytes)| (*media, *bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_maplibre_are_embedded() {
        let (media, page) = file("").expect("the page");
        assert!(media.starts_with("text/html"));
        assert!(String::from_utf8_lossy(page).contains("maplibre-gl.js"));
        let (_, lib) = file("maplibre-gl.js").expect("maplibre");
        assert!(lib.len() > 100_000, "MapLibre is embedded whole");
        assert!(file("../Cargo.toml").is_none());
    }
}
