//! The coordinate systems files arrive in, and the way back to WGS-84 longitude/latitude.
//!
//! WGS-84 (EPSG:4326) and CGCS2000 (EPSG:4490) are stored as they are: they agree to a few
//! centimetres, far below what a grid boundary means. GCJ-02 and BD-09 are undone with the
//! iterative inverses of `spatial::china_datums`. Projected coordinates (the CGCS2000
//! Gauss-Krüger zones, UTM, Web Mercator) are unprojected with `spatial::projection`.

use geo::Coord;
use spatial::projection::{web_mercator_inverse, Ellipsoid, Helmert, TransverseMercator, CGCS2000, WGS84};
use std::fmt;

/// A coordinate system gridwatch can read.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Crs {
    #[default]
    Wgs84,
    Cgcs2000,
    Gcj02,
    Bd09,
    WebMercator,
    TransverseMercator {
        epsg: Option<u32>,
        projection: TransverseMercator,
    },
    /// Another geodetic datum (Beijing 1954, Xian 1980, …) with the seven parameters that take it
    /// to WGS-84 (the `.prj`'s `TOWGS84[…]`): longitude/latitude on its ellipsoid, or Transverse
    /// Mercator on it.
    Shifted {
        datum: Datum,
        ellipsoid: Ellipsoid,
        helmert: Helmert,
        projection: Option<TransverseMercator>,
    },
}

/// The datums a `.prj` may name that are not WGS-84 (nor CGCS2000, which agrees with it to a
/// few centimetres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Datum {
    Beijing1954,
    Xian1980,
    NewBeijing,
    Other,
}

impl Datum {
    fn of(name: &str) -> Option<Datum> {
        let n = name.to_ascii_uppercase().replace([' ', '-'], "_");
        if ["WGS_1984", "WGS84", "WORLD_GEODETIC_SYSTEM_1984", "CHINA_2000", "CGCS2000", "CGCS_2000"]
            .iter()
            .any(|w| n.contains(w))
        {
            return None;
        }
        Some(match () {
            _ if n.contains("NEW_BEIJING") => Datum::NewBeijing,
            _ if n.contains("BEIJING") => Datum::Beijing1954,
            _ if n.contains("XIAN") || n.contains("XI_AN") => Datum::Xian1980,
            _ => Datum::Other,
        })
    }
}

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Datum::Beijing1954 => "Beijing 1954",
            Datum::Xian1980 => "Xian 1980",
            Datum::NewBeijing => "New Beijing",
            Datum::Other => "a datum other than WGS-84",
        })
    }
}

impl Crs {
    /// Converts one position to WGS-84 longitude/latitude.
    pub fn to_wgs84(&self, c: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 | Crs::Cgcs2000 => c,
            Crs::Gcj02 => spatial::china_datums::gcj02_to_wgs84(c),
            Crs::Bd09 => spatial::china_datums::bd09_to_wgs84(c),
            Crs::WebMercator => web_mercator_inverse(c),
            Crs::TransverseMercator { projection, .. } => projection.inverse(c),
            Crs::Shifted { ellipsoid, helmert, projection, .. } => {
                helmert.to_wgs84(*ellipsoid, projection.map_or(c, |p| p.inverse(c)))
            }
        }
    }

    /// Whether positions are metres (so a lon/lat range check on the raw values would be wrong).
    pub fn is_projected(&self) -> bool {
        matches!(self, Crs::WebMercator | Crs::TransverseMercator { .. } | Crs::Shifted { projection: Some(_), .. })
    }

    /// A CRS from an EPSG code.
    pub fn from_epsg(code: u32) -> Option<Crs> {
        let tm = |cm: f64, fe: f64| Crs::TransverseMercator {
            epsg: Some(code),
            projection: TransverseMercator::gauss_kruger(cm, fe),
        };
        let utm = |zone: u32, south: bool| Crs::TransverseMercator {
            epsg: Some(code),
            projection: TransverseMercator {
                ellipsoid: WGS84,
                central_meridian: f64::from(zone) * 6.0 - 183.0,
                scale: 0.9996,
                false_easting: 500_000.0,
                false_northing: if south { 10_000_000.0 } else { 0.0 },
            },
        };
        Some(match code {
            4326 => Crs::Wgs84,
            4490 => Crs::Cgcs2000,
            3857 | 900_913 | 3785 | 102_100 => Crs::WebMercator,
            // CGCS2000 / Gauss-Kruger zones 13–23 (6°, zone number in front of the easting).
            4491..=4501 => {
                let zone = code - 4491 + 13;
                tm(f64::from(zone) * 6.0 - 3.0, f64::from(zone) * 1_000_000.0 + 500_000.0)
            }
            // CGCS2000 / Gauss-Kruger CM 75°E–135°E (6°).
            4502..=4512 => tm(75.0 + 6.0 * f64::from(code - 4502), 500_000.0),
            // CGCS2000 / 3-degree Gauss-Kruger zones 25–45 (zone number in front).
            4513..=4533 => {
                let zone = code - 4513 + 25;
                tm(f64::from(zone) * 3.0, f64::from(zone) * 1_000_000.0 + 500_000.0)
            }
            // CGCS2000 / 3-degree Gauss-Kruger CM 75°E–135°E (EPSG:4547 is CM 114°E).
            4534..=4554 => tm(75.0 + 3.0 * f64::from(code - 4534), 500_000.0),
            32601..=32660 => utm(code - 32600, false),
            32701..=32760 => utm(code - 32700, true),
            _ => return None,
        })
    }

    /// The CRS a `.prj` file (ESRI or OGC WKT 1) describes. A datum other than WGS-84 or
    /// CGCS2000 — Beijing 1954, Xian 1980 — is refused unless the `.prj` carries the seven
    /// parameters that take it to WGS-84 (`TOWGS84[…]`): read as WGS-84 it would put every
    /// position tens of metres off, silently.
    pub fn from_prj(wkt: &str) -> Result<Crs, String> {
        let upper = wkt.to_ascii_uppercase();
        // An explicit EPSG authority on the outermost object settles it.
        if let Some(code) = outer_authority(&upper).and_then(Crs::from_epsg) {
            return Ok(code);
        }
        if let Some(datum) = quoted_after(&upper, "DATUM[").and_then(Datum::of) {
            return shifted(&upper, datum);
        }
        let projected = upper.trim_start().starts_with("PROJCS") || upper.trim_start().starts_with("PROJCRS");
        let named = |needle: &str| upper.contains(needle);
        if !projected {
            return if named("GCJ") {
                Ok(Crs::Gcj02)
            } else if named("BD09") || named("BD-09") {
                Ok(Crs::Bd09)
            } else if named("CGCS") || named("2000") && named("CHINA") {
                Ok(Crs::Cgcs2000)
            } else if upper.starts_with("GEOGCS") || upper.starts_with("GEOGCRS") || upper.starts_with("GEODCRS") {
                Ok(Crs::Wgs84)
            } else {
                Err("the .prj is neither a geographic nor a projected coordinate system".into())
            };
        }
        if named("MERCATOR_AUXILIARY_SPHERE")
            || named("PSEUDO-MERCATOR")
            || named("PSEUDO MERCATOR")
            || named("POPULAR VISUALISATION")
        {
            return Ok(Crs::WebMercator);
        }
        if !(named("TRANSVERSE_MERCATOR") || named("GAUSS_KRUGER") || named("TRANSVERSE MERCATOR")) {
            return Err(
                "only Transverse Mercator (Gauss-Krüger, UTM) and Web Mercator projections are supported".into()
            );
        }
        let parameter = |name: &str| parameter(&upper, name);
        if parameter("LATITUDE_OF_ORIGIN").is_some_and(|v| v != 0.0) {
            return Err("a Transverse Mercator with a latitude of origin other than 0 is not supported".into());
        }
        let ellipsoid = spheroid(&upper).unwrap_or(CGCS2000);
        Ok(Crs::TransverseMercator {
            epsg: None,
            projection: TransverseMercator {
                ellipsoid,
                central_meridian: parameter("CENTRAL_MERIDIAN").ok_or("the .prj has no central_meridian")?,
                scale: parameter("SCALE_FACTOR").unwrap_or(1.0),
                false_easting: parameter("FALSE_EASTING").unwrap_or(0.0),
                false_northing: parameter("FALSE_NORTHING").unwrap_or(0.0),
            },
        })
    }
}

/// A `.prj` on another datum: taken with its `TOWGS84[…]` (three or seven numbers), refused
/// without it, saying why and what to do.
fn shifted(upper: &str, datum: Datum) -> Result<Crs, String> {
    let numbers: Option<Vec<f64>> = upper.find("TOWGS84[").and_then(|at| {
        let inside = upper[at + 8..].split(']').next()?;
        inside.split(',').map(|n| n.trim().parse().ok()).collect()
    });
    let helmert = match numbers.as_deref() {
        Some(&[dx, dy, dz]) => Helmert { dx, dy, dz, rx: 0.0, ry: 0.0, rz: 0.0, ppm: 0.0 },
        Some(&[dx, dy, dz, rx, ry, rz, ppm]) => Helmert { dx, dy, dz, rx, ry, rz, ppm },
        _ => {
            return Err(format!(
                "the .prj is on {datum} ({}), not WGS-84: read as WGS-84 every position would be tens of metres off. \
                 Re-project the file to WGS-84 or CGCS2000 with the city's transformation \
                 (ogr2ogr -t_srs EPSG:4490 -ct \"…\" …), or add the city's seven parameters to the .prj as \
                 TOWGS84[dx,dy,dz,rx,ry,rz,ppm], or give them with --crs 'EPSG:CODE+towgs84=dx,dy,dz,rx,ry,rz,ppm' \
                 (CODE: the file's Beijing 1954 or Xian 1980 system, e.g. 2436); --crs also overrides the .prj if you \
                 know the file is really WGS-84 or CGCS2000",
                quoted_after(upper, "SPHEROID[")
                    .or_else(|| quoted_after(upper, "ELLIPSOID["))
                    .unwrap_or("its own ellipsoid")
            ))
        }
    };
    let ellipsoid = spheroid(upper).ok_or("the .prj names no ellipsoid (SPHEROID[…])")?;
    let projected = upper.trim_start().starts_with("PROJCS");
    let projection = match projected {
        false => None,
        true if upper.contains("TRANSVERSE_MERCATOR") || upper.contains("GAUSS_KRUGER") => {
            let parameter = |name: &str| parameter(upper, name);
            Some(TransverseMercator {
                ellipsoid,
                central_meridian: parameter("CENTRAL_MERIDIAN").ok_or("the .prj has no central_meridian")?,
                scale: parameter("SCALE_FACTOR").unwrap_or(1.0),
                false_easting: parameter("FALSE_EASTING").unwrap_or(0.0),
                false_northing: parameter("FALSE_NORTHING").unwrap_or(0.0),
            })
        }
        true => return Err(format!("on {datum}, only Transverse Mercator (Gauss-Krüger) projections are supported")),
    };
    Ok(Crs::Shifted { datum, ellipsoid, helmert, projection })
}

/// The first quoted name after `key`: `DATUM["D_Beijing_1954",…` → `D_BEIJING_1954`.
fn quoted_after<'a>(wkt: &'a str, key: &str) -> Option<&'a str> {
    let rest = &wkt[wkt.find(key)? + key.len()..];
    rest.strip_prefix('"')?.split('"').next()
}

/// `AUTHORITY["EPSG","4547"]` or `ID["EPSG",4547]` closing the outermost object.
fn outer_authority(wkt: &str) -> Option<u32> {
    let trimmed = wkt.trim_end().strip_suffix(']')?;
    let at = trimmed.rfind("AUTHORITY[").or_else(|| trimmed.rfind("ID["))?;
    // Only when it belongs to the outer object: nothing but the closing bracket follows it.
    let rest = &trimmed[at..];
    if rest.matches('[').count() != 1 || rest.matches(']').count() != 1 {
        return None;
    }
    let inside = rest.split_once('[')?.1.trim_end_matches(']');
    let mut parts = inside.split(',').map(|p| p.trim().trim_matches('"'));
    (parts.next()? == "EPSG").then_some(())?;
    parts.next()?.parse().ok()
}

fn parameter(wkt: &str, name: &str) -> Option<f64> {
    let key = format!("PARAMETER[\"{name}\"");
    let at = wkt.find(&key)? + key.len();
    let rest = wkt[at..].trim_start().strip_prefix(',')?;
    rest.split(']').next()?.trim().parse().ok()
}

fn spheroid(wkt: &str) -> Option<Ellipsoid> {
    let at = wkt.find("SPHEROID[").or_else(|| wkt.find("ELLIPSOID["))?;
    let inside = wkt[at..].split_once('[')?.1;
    let mut parts = inside.split(',').skip(1).map(|p| p.trim().trim_end_matches(']'));
    let a: f64 = parts.next()?.parse().ok()?;
    let inverse_flattening: f64 = parts.next()?.parse().ok()?;
    (a > 0.0 && inverse_flattening > 0.0).then_some(Ellipsoid { a, inverse_flattening })
}

/// Krasovsky 1940: Beijing 1954's ellipsoid.
const KRASOVSKY: Ellipsoid = Ellipsoid { a: 6_378_245.0, inverse_flattening: 298.3 };
/// IAG 1975: Xian 1980's ellipsoid.
const IAG_1975: Ellipsoid = Ellipsoid { a: 6_378_140.0, inverse_flattening: 298.257 };

/// The Beijing 1954 and Xian 1980 systems by EPSG code: geographic, or a Gauss-Krüger zone.
fn local_datum(code: u32) -> Option<(Datum, Ellipsoid, Option<TransverseMercator>)> {
    let gk = |ellipsoid: Ellipsoid, cm: f64, fe: f64| TransverseMercator {
        ellipsoid,
        central_meridian: cm,
        scale: 1.0,
        false_easting: fe,
        false_northing: 0.0,
    };
    let (b, x) = ((Datum::Beijing1954, KRASOVSKY), (Datum::Xian1980, IAG_1975));
    let zone6 = |zone: u32| (f64::from(zone) * 6.0 - 3.0, f64::from(zone) * 1_000_000.0 + 500_000.0);
    let zone3 = |zone: u32| (f64::from(zone) * 3.0, f64::from(zone) * 1_000_000.0 + 500_000.0);
    let ((datum, ellipsoid), (cm, fe)) = match code {
        4214 => return Some((b.0, b.1, None)),
        4610 => return Some((x.0, x.1, None)),
        // Beijing 1954 / 3-degree Gauss-Kruger zones 25–45, then CM 75°E–135°E.
        2401..=2421 => (b, zone3(code - 2401 + 25)),
        2422..=2442 => (b, (75.0 + 3.0 * f64::from(code - 2422), 500_000.0)),
        // Beijing 1954 / Gauss-Kruger zones 13–23 (6°), then CM 75°E–135°E.
        21413..=21423 => (b, zone6(code - 21413 + 13)),
        21453..=21463 => (b, (75.0 + 6.0 * f64::from(code - 21453), 500_000.0)),
        // Xian 1980 / Gauss-Kruger zones 13–23, CM 75°E–135°E; 3-degree zones 25–45, CM 75°E–135°E.
        2327..=2337 => (x, zone6(code - 2327 + 13)),
        2338..=2348 => (x, (75.0 + 6.0 * f64::from(code - 2338), 500_000.0)),
        2349..=2369 => (x, zone3(code - 2349 + 25)),
        2370..=2390 => (x, (75.0 + 3.0 * f64::from(code - 2370), 500_000.0)),
        _ => return None,
    };
    Some((datum, ellipsoid, Some(gk(ellipsoid, cm, fe))))
}

/// `dx,dy,dz[,rx,ry,rz,ppm]`: metres, arc-seconds (position vector) and parts per million.
fn helmert_of(text: &str) -> Result<Helmert, String> {
    let numbers: Vec<f64> = text
        .split(',')
        .map(|n| n.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("towgs84={text:?}: give dx,dy,dz or dx,dy,dz,rx,ry,rz,ppm as numbers"))?;
    match numbers[..] {
        [dx, dy, dz] => Ok(Helmert { dx, dy, dz, rx: 0.0, ry: 0.0, rz: 0.0, ppm: 0.0 }),
        [dx, dy, dz, rx, ry, rz, ppm] => Ok(Helmert { dx, dy, dz, rx, ry, rz, ppm }),
        _ => Err(format!("towgs84={text:?}: give three or seven numbers")),
    }
}

impl std::str::FromStr for Crs {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        // Beijing 1954 and Xian 1980 with the city's seven parameters, in PROJ's words:
        // EPSG:2436+towgs84=dx,dy,dz,rx,ry,rz,ppm (or beijing1954+… / xian1980+… for degrees).
        if let Some((system, shift)) = s.trim().split_once('+') {
            let shift = shift
                .trim()
                .strip_prefix("towgs84=")
                .ok_or_else(|| format!("--crs {s:?}: after + only towgs84=… is understood"))?;
            let helmert = helmert_of(shift)?;
            let code = match system.trim().to_ascii_lowercase().as_str() {
                "beijing1954" => 4214,
                "xian1980" => 4610,
                other => other
                    .strip_prefix("epsg:")
                    .unwrap_or(other)
                    .parse()
                    .map_err(|_| format!("--crs {s:?}: not an EPSG code"))?,
            };
            let (datum, ellipsoid, projection) = local_datum(code)
                .ok_or_else(|| format!("--crs {s:?}: EPSG:{code} is not a Beijing 1954 or Xian 1980 system"))?;
            return Ok(Crs::Shifted { datum, ellipsoid, helmert, projection });
        }
        let lower = s.trim().to_ascii_lowercase();
        let known = "use wgs84, cgcs2000, gcj02, bd09 or EPSG:<code> (4326, 4490, 3857, 4491–4554, 326xx, 327xx)";
        match lower.as_str() {
            "wgs84" | "wgs-84" => Ok(Crs::Wgs84),
            "cgcs2000" => Ok(Crs::Cgcs2000),
            "gcj02" | "gcj-02" | "amap" | "gaode" => Ok(Crs::Gcj02),
            "bd09" | "bd-09" | "baidu" => Ok(Crs::Bd09),
            "webmercator" | "web-mercator" => Ok(Crs::WebMercator),
            other => {
                let code = other.strip_prefix("epsg:").unwrap_or(other);
                let code: u32 = code.parse().map_err(|_| format!("--crs {s:?}: {known}"))?;
                if let Some((datum, _, _)) = local_datum(code) {
                    return Err(format!(
                        "--crs {s:?}: EPSG:{code} is on {datum}, which reaches WGS-84 only with the city's seven \
                         parameters (from its surveying bureau): --crs 'EPSG:{code}+towgs84=dx,dy,dz,rx,ry,rz,ppm'"
                    ));
                }
                Crs::from_epsg(code).ok_or_else(|| format!("--crs {s:?}: EPSG:{code} is not supported; {known}"))
            }
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crs::Wgs84 => write!(f, "WGS-84"),
            Crs::Cgcs2000 => write!(f, "CGCS2000"),
            Crs::Gcj02 => write!(f, "GCJ-02"),
            Crs::Bd09 => write!(f, "BD-09"),
            Crs::WebMercator => write!(f, "Web Mercator (EPSG:3857)"),
            Crs::TransverseMercator { epsg: Some(code), .. } => write!(f, "EPSG:{code}"),
            Crs::TransverseMercator { projection, .. } => {
                write!(f, "Transverse Mercator (CM {}°)", projection.central_meridian)
            }
            Crs::Shifted { datum, projection: Some(p), .. } => {
                write!(f, "{datum} Transverse Mercator (CM {}°) shifted by TOWGS84", p.central_meridian)
            }
            Crs::Shifted { datum, projection: None, .. } => write!(f, "{datum} shifted by TOWGS84"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsg_4547_is_the_3_degree_zone_at_114_east() {
        let Some(Crs::TransverseMercator { projection, .. }) = Crs::from_epsg(4547) else { panic!("4547") };
        assert_eq!((projection.central_meridian, projection.false_easting), (114.0, 500_000.0));
        let Some(Crs::TransverseMercator { projection, .. }) = Crs::from_epsg(4527) else { panic!("4527") };
        assert_eq!((projection.central_meridian, projection.false_easting), (117.0, 39_500_000.0));
        let Some(Crs::TransverseMercator { projection, .. }) = Crs::from_epsg(4498) else { panic!("4498") };
        assert_eq!((projection.central_meridian, projection.false_easting), (117.0, 20_500_000.0));
        assert!("EPSG:9999".parse::<Crs>().is_err());
        assert_eq!("gcj02".parse::<Crs>(), Ok(Crs::Gcj02));
    }

    #[test]
    fn prj_files_as_gdal_and_arcgis_write_them() {
        let esri = r#"PROJCS["CGCS2000_3_Degree_GK_CM_114E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",114.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
        let Ok(Crs::TransverseMercator { projection, .. }) = Crs::from_prj(esri) else { panic!("esri prj") };
        assert_eq!(projection.central_meridian, 114.0);
        assert_eq!(projection.ellipsoid, CGCS2000);
        let web = r#"PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],UNIT["Meter",1.0]]"#;
        assert_eq!(Crs::from_prj(web), Ok(Crs::WebMercator));
        let geo = r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(Crs::from_prj(geo), Ok(Crs::Wgs84));
        let lambert = r#"PROJCS["x",GEOGCS["y"],PROJECTION["Lambert_Conformal_Conic"]]"#;
        assert!(Crs::from_prj(lambert).is_err());
    }

    /// What GDAL writes for EPSG:2436 (Beijing 1954 / 3-degree Gauss-Kruger CM 117E) as ESRI WKT.
    const BEIJING_1954_GK: &str = r#"PROJCS["Beijing_1954_3_Degree_GK_CM_117E",GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",SPHEROID["Krasovsky_1940",6378245.0,298.3]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",117.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

    #[test]
    fn beijing_1954_and_xian_1980_are_refused_without_their_seven_parameters() {
        let refused = Crs::from_prj(BEIJING_1954_GK).expect_err("Beijing 1954 is not WGS-84");
        assert!(refused.contains("Beijing 1954") && refused.contains("KRASOVSKY_1940"), "{refused}");
        assert!(refused.contains("TOWGS84") && refused.contains("--crs"), "says what to do: {refused}");
        let xian = r#"GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert!(Crs::from_prj(xian).is_err_and(|e| e.contains("Xian 1980")));
        let other = r#"GEOGCS["GCS_Tokyo",DATUM["D_Tokyo",SPHEROID["Bessel_1841",6377397.155,299.1528128]]]"#;
        assert!(Crs::from_prj(other).is_err_and(|e| e.contains("a datum other than WGS-84")));
        // With the city's parameters in the .prj it is read, shifted: here EPSG's transformation
        // 1224 (Beijing 1954 to WGS 84, three parameters).
        let with = BEIJING_1954_GK.replace(
            r#"SPHEROID["Krasovsky_1940",6378245.0,298.3]"#,
            r#"SPHEROID["Krasovsky_1940",6378245.0,298.3],TOWGS84[15.8,-154.4,-82.3,0,0,0,0]"#,
        );
        let crs = Crs::from_prj(&with).expect("shifted");
        assert!(crs.to_string().starts_with("Beijing 1954 Transverse Mercator (CM 117°)"), "{crs}");
        // The central meridian at the equator's false easting is 117°E, moved by the shift.
        let at = crs.to_wgs84(Coord { x: 500_000.0, y: 4_420_000.0 });
        assert!((at.x - 117.0).abs() < 0.01 && (39.8..40.0).contains(&at.y), "{at:?}");
        let plain = Crs::from_prj(&BEIJING_1954_GK.replace("TOWGS84", "")).expect_err("still refused");
        assert!(plain.contains("Beijing 1954"));
        // On the command line: the EPSG code alone is refused with the way to give the shift,
        // and with it the same positions come out as from the .prj.
        let alone = "EPSG:2436".parse::<Crs>().expect_err("no parameters");
        assert!(alone.contains("Beijing 1954") && alone.contains("+towgs84="), "{alone}");
        let given: Crs = "EPSG:2436+towgs84=15.8,-154.4,-82.3,0,0,0,0".parse().expect("with the shift");
        assert_eq!(given.to_wgs84(Coord { x: 500_000.0, y: 4_420_000.0 }), at);
        let xian: Crs = "xian1980+towgs84=1,2,3".parse().expect("geographic Xian 1980");
        assert!(matches!(xian, Crs::Shifted { datum: Datum::Xian1980, projection: None, .. }));
        assert!("EPSG:2436+towgs84=1,2".parse::<Crs>().is_err_and(|e| e.contains("three or seven")));
        assert!("EPSG:4547+towgs84=1,2,3".parse::<Crs>().is_err_and(|e| e.contains("not a Beijing 1954 or Xian 1980")));
    }
}
