//! Encoding layers for clients. GeoJSON follows RFC 7946: `[lon, lat]` positions, exterior
//! rings counter-clockwise and holes clockwise (the right-hand rule). Vector tiles follow
//! Mapbox Vector Tile 2.1 in the Web Mercator XYZ pyramid.

pub mod geojson;
pub mod mvt;
pub mod tiles;
pub mod web;
