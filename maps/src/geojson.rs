//! RFC 7946 GeoJSON writing.

use geo::{orient::Direction, Orient};
use geo::{Coord, LineString, MultiPolygon, Point, Polygon};
use serde_json::{json, Map, Value};

fn position(c: &Coord<f64>) -> Value {
    json!([c.x, c.y])
}

fn ring(r: &LineString<f64>) -> Value {
    Value::Array(r.0.iter().map(position).collect())
}

fn polygon_rings(p: &Polygon<f64>) -> Value {
    Value::Array(std::iter::once(p.exterior()).chain(p.interiors()).map(ring).collect())
}

/// A multipolygon as a GeoJSON geometry (a Polygon when it has one part), right-hand rule applied.
pub fn multipolygon(mp: &MultiPolygon<f64>) -> Value {
    let oriented = mp.orient(Direction::Default);
    match oriented.0.as_slice() {
        [single] => json!({"type": "Polygon", "coordinates": polygon_rings(single)}),
        parts => {
            json!({"type": "MultiPolygon", "coordinates": parts.iter().map(polygon_rings).collect::<Vec<_>>()})
        }
    }
}

/// A point as a GeoJSON geometry.
pub fn point(p: Point<f64>) -> Value {
    json!({"type": "Point", "coordinates": [p.x(), p.y()]})
}

/// A line string as a GeoJSON geometry.
pub fn line_string(ls: &LineString<f64>) -> Value {
    json!({"type": "LineString", "coordinates": ring(ls)})
}

/// Any simple geometry (points, lines, polygons and their multi-kinds) as GeoJSON.
pub fn geometry(g: &geo::Geometry<f64>) -> Value {
    use geo::Geometry as G;
    match g {
        G::Point(p) => point(*p),
        G::MultiPoint(mp) => {
            json!({"type": "MultiPoint", "coordinates": mp.0.iter().map(|p| position(&p.0)).collect::<Vec<_>>()})
        }
        G::Line(l) => line_string(&LineString(vec![l.start, l.end])),
        G::LineString(ls) => line_string(ls),
        G::MultiLineString(mls) => {
            json!({"type": "MultiLineString", "coordinates": mls.0.iter().map(ring).collect::<Vec<_>>()})
        }
        G::Polygon(p) => multipolygon(&MultiPolygon(vec![p.clone()])),
        G::MultiPolygon(mp) => {
            json!({"type": "MultiPolygon", "coordinates": mp.orient(Direction::Default).0.iter().map(polygon_rings).collect::<Vec<_>>()})
        }
        G::Rect(r) => multipolygon(&MultiPolygon(vec![r.to_polygon()])),
        G::Triangle(t) => multipolygon(&MultiPolygon(vec![t.to_polygon()])),
        G::GeometryCollection(c) => {
            json!({"type": "GeometryCollection", "geometries": c.0.iter().map(geometry).collect::<Vec<_>>()})
        }
    }
}

/// A Feature with an id.
pub fn feature(id: Value, geometry: Value, properties: Map<String, Value>) -> Value {
    json!({"type": "Feature", "id": id, "geometry": geometry, "properties": properties})
}

/// A FeatureCollection.
pub fn feature_collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

/// The tiling report as features: gaps, overlaps and parts outside, each with `issue`.
pub fn tiling_features(report: &spatial::tiling::TilingReport) -> Vec<Value> {
    let mut features = Vec::new();
    for (i, g) in report.gaps.iter().enumerate() {
        let mut props = Map::new();
        props.insert("issue".into(), json!("gap"));
        props.insert("area_m2".into(), json!(g.area_m2));
        props.insert("neighbours".into(), json!(g.neighbours));
        let geometry = multipolygon(&geo::MultiPolygon(vec![g.geometry.clone()]));
        features.push(feature(json!(format!("gap/{}", i + 1)), geometry, props));
    }
    for o in &report.overlaps {
        let mut props = Map::new();
        props.insert("issue".into(), json!("overlap"));
        props.insert("area_m2".into(), json!(o.area_m2));
        props.insert("grids".into(), json!([o.a, o.b]));
        features.push(feature(json!(format!("overlap/{}/{}", o.a, o.b)), multipolygon(&o.geometry), props));
    }
    for (i, o) in report.outside.iter().enumerate() {
        let mut props = Map::new();
        props.insert("issue".into(), json!("outside"));
        props.insert("area_m2".into(), json!(o.area_m2));
        props.insert("grid".into(), json!(o.code));
        let geometry = multipolygon(&geo::MultiPolygon(vec![o.geometry.clone()]));
        features.push(feature(json!(format!("outside/{}/{}", o.code, i + 1)), geometry, props));
    }
    features
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn clockwise_input_comes_out_counter_clockwise() {
        let cw = polygon![(x: 0., y: 0.), (x: 0., y: 1.), (x: 1., y: 1.), (x: 1., y: 0.), (x: 0., y: 0.)];
        let g = multipolygon(&MultiPolygon(vec![cw]));
        assert_eq!(g["type"], "Polygon");
        let ring = g["coordinates"][0].as_array().expect("ring");
        // Shoelace sum is positive for a counter-clockwise ring.
        let area2: f64 = ring
            .windows(2)
            .map(|w| {
                w[0][0].as_f64().unwrap_or(0.) * w[1][1].as_f64().unwrap_or(0.)
                    - w[1][0].as_f64().unwrap_or(0.) * w[0][1].as_f64().unwrap_or(0.)
            })
            .sum();
        assert!(area2 > 0.0);
        assert_eq!(point(Point::new(116.4, 39.9))["coordinates"], json!([116.4, 39.9]));
    }
}
