//! Encoding layers for clients. GeoJSON follows RFC 7946: `[lon, lat]` positions, exterior
//! rings counter-clockwise and holes clockwise (the right-hand rule).

pub mod geojson;
