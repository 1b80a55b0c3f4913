//! The house rules of `api` (docs/architecture.md), read from its source: imports go one way,
//! domain → store → app → http/cli; `domain` uses no database, HTTP or runtime crate; the store is
//! written without macros; no module imports a module that imports it back; `main.rs` stays small.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `api/src` (as `app::evidence::blobs`) with its source, tests and comments left
/// out: what it uses is what it says in code.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("api/src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(root).expect("inside").with_extension("");
            let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).expect("source");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String =
                code.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
            out.insert(parts.join("::"), code);
        }
    }
    let root = common::workspace().join("api/src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out
}

/// The modules `name` refers to by path (`crate::…`, `super::…`, `use super::{a, b}`), resolved to
/// the longest known module; its own children and ancestors are left out.
fn uses(name: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let here: Vec<&str> = if name.is_empty() { vec![] } else { name.split("::").collect() };
    let resolve = |path: &[&str]| -> Option<String> {
        let mut full: Vec<&str> = match path.first()? {
            &"crate" => vec![],
            &"super" | &"self" => here.clone(),
            _ => return None,
        };
        let mut rest = &path[if path[0] == "crate" { 1 } else { 0 }..];
        while let Some((&first, tail)) = rest.split_first() {
            match first {
                "super" => {
                    full.pop();
                }
                "self" => {}
                _ => break,
            }
            rest = tail;
        }
        full.extend(rest);
        (1..=full.len()).rev().map(|k| full[..k].join("::")).find(|m| known.contains(m))
    };
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::", "self::"] {
        for (at, _) in code.match_indices(start) {
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':') {
                continue;
            }
            let tail = &code[at..];
            let path: String = tail.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            // `use super::{a, b::C}`: each name in the braces.
            if tail[path.len()..].starts_with('{') {
                let inner = &tail[path.len() + 1..tail.find('}').unwrap_or(path.len() + 1)];
                for item in inner.split(',') {
                    let item: Vec<&str> = item.trim().split("::").collect();
                    let mut full = parts.clone();
                    full.extend(item.iter().copied().filter(|p| !p.is_empty()));
                    found.extend(resolve(&full));
                }
                continue;
            }
            if parts.len() > 1 {
                found.extend(resolve(&parts));
            }
        }
    }
    found.retain(|m| m != name && !m.starts_with(&format!("{name}::")) && !name.starts_with(&format!("{m}::")));
    found
}

fn layer(module: &str) -> &str {
    module.split("::").next().unwrap_or_default()
}

#[test]
fn imports_go_one_way_and_never_in_circles() {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    assert!(known.contains("app::evidence::blobs") && known.contains("http::openapi"), "{known:?}");
    let edges: BTreeMap<&String, BTreeSet<String>> =
        modules.iter().map(|(name, code)| (name, uses(name, code, &known))).collect();
    let below: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("domain", &["store", "app", "http", "cli"][..]),
        ("store", &["app", "http", "cli"][..]),
        ("app", &["http", "cli"][..]),
    ]);
    let mut wrong = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            if below.get(layer(from)).is_some_and(|forbidden| forbidden.contains(&layer(to))) {
                wrong.push(format!("{from} uses {to}"));
            }
            if edges.get(to).is_some_and(|back| back.contains(from.as_str())) && from.as_str() < to.as_str() {
                wrong.push(format!("{from} and {to} use each other"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The check sees real imports: http uses app, the CLI uses the store.
    assert!(
        edges[&"http::rounds".to_string()].contains("app::supervision"),
        "{:?}",
        edges[&"http::rounds".to_string()]
    );
}

#[test]
fn the_domain_uses_no_database_http_or_runtime_and_the_store_no_macros() {
    for (name, code) in modules() {
        if layer(&name) == "domain" {
            for crate_name in ["sqlx", "axum", "tokio"] {
                assert!(!code.contains(&format!("{crate_name}::")), "{name} uses {crate_name}");
            }
        }
        if layer(&name) == "store" {
            assert!(!code.contains("macro_rules!"), "{name} generates code with macro_rules!");
        }
    }
    let main = std::fs::read_to_string(common::workspace().join("api/src/main.rs")).expect("main.rs");
    assert!(main.lines().count() < 150, "main.rs is {} lines", main.lines().count());
}

/// Every type the OpenAPI document names has a name of its own: utoipa names a schema after its
/// type (or its `#[schema(as = …)]`), and two types of one name would silently share one schema —
/// the document would then describe one of them wrongly (two `Tally` types did, and Schemathesis
/// caught the campaign report answering against the ledger's schema).
#[test]
fn every_documented_type_has_its_own_schema_name() {
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (module, code) in modules() {
        let mut pending_schema = false;
        let mut renamed: Option<String> = None;
        for line in code.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                pending_schema = true;
            }
            if let Some(rest) = line.strip_prefix("#[schema(as = ") {
                renamed = rest.split([')', ',']).next().map(|n| n.trim().to_string());
            }
            let declared = ["pub struct ", "pub(super) struct ", "struct ", "pub enum ", "pub(super) enum ", "enum "]
                .iter()
                .find_map(|k| line.strip_prefix(k));
            if let Some(rest) = declared {
                if pending_schema {
                    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    names.entry(renamed.take().unwrap_or(name)).or_default().push(module.clone());
                }
                pending_schema = false;
                renamed = None;
            }
        }
    }
    let shared: Vec<(&String, &Vec<String>)> = names.iter().filter(|(_, m)| m.len() > 1).collect();
    assert!(names.len() > 100, "the scan finds the documented types: {}", names.len());
    assert!(shared.is_empty(), "schema names used by more than one type: {shared:?}");
}
