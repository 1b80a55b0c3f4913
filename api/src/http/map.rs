//! `/map/`: the web map (maps::web), public like any page; its data comes from the API with the
//! user's own token, so the page itself reveals nothing.

use super::error::ApiError;
use super::guard::Caller;
use super::ApiContext;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::{json, Value};

pub async fn to_map() -> Redirect {
    Redirect::permanent("/map/")
}

pub async fn page() -> Result<Response, ApiError> {
    file(Path(String::new())).await
}

pub async fn file(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (media, bytes) = maps::web::file(&name).ok_or_else(|| ApiError::not_found(format!("no map file {name:?}")))?;
    // The page and the service worker always revalidate (a new binary's files then reach phones
    // that keep the app offline); the rest is versioned with the binary and cached for a day.
    let cache = if media.starts_with("text/html") || name == "sw.js" { "no-cache" } else { "public, max-age=86400" };
    Ok(([(header::CONTENT_TYPE, media), (header::CACHE_CONTROL, cache)], bytes).into_response())
}

/// The map's settings: the basemap, if any. Its URL may carry the city's key for the tile
/// service, so only signed-in callers get it.
pub async fn config(State(ctx): State<ApiContext>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(crate::domain::access::Action::Locate)?;
    // The city's offset: the map shows every time, and picks this week, on the city's clock.
    // And the server's now: a demo's clock may be set to another day than the browser's.
    let offset = ctx.coverage.offset.whole_minutes();
    let now = ctx.clock.now().format(&time::format_description::well_known::Rfc3339).ok();
    Ok(Json(json!({"basemap": ctx.basemap.as_deref(), "utc_offset_minutes": offset, "now": now})))
}

/// The web map's Content-Security-Policy: its own scripts only, MapLibre's blob workers, tiles
/// and images from here (and the configured basemap's origin), and never inside a frame.
pub fn content_security_policy(basemap: Option<&super::Basemap>) -> String {
    let origin = basemap.and_then(|b| origin_of(&b.url)).map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{origin}; \
         connect-src 'self'{origin}; worker-src 'self' blob:; child-src blob:; manifest-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of a URL template such as `https://t{s}.example.cn/{z}/{x}/{y}.png?key=…`.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host: String = rest.chars().take_while(|c| !['/', '?', '#'].contains(c)).collect();
    // A subdomain template (`t{s}.example.cn`) allows the service's subdomains.
    let host = match host.split_once('.') {
        Some((first, rest)) if first.contains('{') => format!("*.{rest}"),
        _ => host,
    };
    let plain = host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:*".contains(c));
    (plain && !host.is_empty() && ["http", "https"].contains(&scheme)).then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_basemap_origin_joins_the_policy() {
        assert_eq!(
            super::origin_of("https://t{s}.tianditu.gov.cn/{z}/{x}/{y}?tk=KEY").as_deref(),
            Some("https://*.tianditu.gov.cn")
        );
        assert_eq!(super::origin_of("http://127.0.0.1:9000/{z}/{x}/{y}.png").as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(super::origin_of("javascript:alert(1)"), None);
        assert_eq!(super::origin_of("https://a.example'; script-src *;/{z}"), None);
        let policy = super::content_security_policy(None);
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self';"));
    }
}
