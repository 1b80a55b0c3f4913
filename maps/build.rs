//! Installs the web map's one npm dependency (MapLibre GL JS, pinned by web/package-lock.json)
//! so the build can embed it: the map then works with no internet.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=web/package.json");
    println!("cargo:rerun-if-changed=web/package-lock.json");
    let bundle = Path::new("web/node_modules/maplibre-gl/dist/maplibre-gl.js");
    println!("cargo:rerun-if-changed={}", bundle.display());
    if bundle.exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir("web")
        .status();
    match status {
        Ok(s) if s.success() && bundle.exists() => {}
        Ok(s) => panic!("`npm ci` in maps/web failed ({s}); MapLibre GL JS is needed to build the web map"),
        Err(e) => panic!("cannot run npm ({e}); install Node.js and npm to build the web map"),
    }
}
