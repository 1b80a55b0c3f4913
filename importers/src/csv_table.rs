//! CSV tables: positions from lon/lat columns or a WKT column; the delimiter and the
//! encoding (UTF-8 or GBK/GB18030 from Chinese Excel) are detected. Read as a stream.

use crate::record::{FieldMap, RawGeometry, Record};
use crate::{text, wkt, FileError, RecordError};
use encoding_rs::Encoding;
use serde_json::{Map, Value};
use std::io::Read;
use std::path::Path;

const LON: [&str; 7] = ["lon", "lng", "long", "longitude", "x", "经度", "东经"];
const LAT: [&str; 5] = ["lat", "latitude", "y", "纬度", "北纬"];
const WKT: [&str; 6] = ["wkt", "geometry", "geom", "the_geom", "shape", "几何"];

/// What was detected about a table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    pub encoding: &'static str,
    pub delimiter: char,
}

enum Geometry {
    LonLat(usize, usize),
    Wkt(usize),
}

/// The delimiter of the header line: the most frequent of `,` `;` tab `|` outside quotes.
pub fn detect_delimiter(first_line: &str) -> u8 {
    let mut counts = [(b',', 0usize), (b'\t', 0), (b';', 0), (b'|', 0)];
    let mut quoted = false;
    for b in first_line.bytes() {
        match b {
            b'"' => quoted = !quoted,
            _ if !quoted => {
                if let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
                    c.1 += 1;
                }
            }
            _ => {}
        }
    }
    counts.iter().max_by_key(|(_, n)| *n).filter(|(_, n)| *n > 0).map_or(b',', |(d, _)| *d)
}

/// Reads a table; each data row (1-based, header excluded) becomes a record whose properties
/// are the other columns as text. `map` may name the geometry columns (`--map lon=JD,lat=WD`).
pub fn read_records(
    path: &Path,
    mut source: impl Read,
    encoding: Option<&'static Encoding>,
    map: &FieldMap,
    sink: &mut dyn FnMut(Result<Record, RecordError>),
) -> Result<TableInfo, FileError> {
    let name = path.display().to_string();
    let io = |source| FileError::Io { path: name.clone(), source };
    let mut head = Vec::with_capacity(1 << 16);
    (&mut source).take(1 << 16).read_to_end(&mut head).map_err(io)?;
    let encoding = encoding.unwrap_or_else(|| text::detect(&head));
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = detect_delimiter(&text::decode(encoding, first_line).0);
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .build(std::io::Cursor::new(head).chain(source));
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(decoded);
    let format = |reason: String| FileError::Format { path: name.clone(), reason };
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format(format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let column = |ours: &str, aliases: &[&str]| {
        let mapped = map.0.iter().find(|(o, _)| o == ours).map(|(_, theirs)| theirs.as_str());
        match mapped {
            Some(theirs) => headers.iter().position(|h| h == theirs),
            None => headers.iter().position(|h| aliases.iter().any(|a| h.eq_ignore_ascii_case(a))),
        }
    };
    let geometry = match (column("lon", &LON), column("lat", &LAT), column("wkt", &WKT)) {
        (Some(lon), Some(lat), _) => Geometry::LonLat(lon, lat),
        (_, _, Some(w)) => Geometry::Wkt(w),
        _ => {
            return Err(format(format!(
                "the header has no lon/lat columns ({} / {}) and no WKT column ({}); name them with --map lon=…,lat=… \
                 or --map wkt=…; the header is: {}",
                LON.join(", "),
                LAT.join(", "),
                WKT.join(", "),
                headers.join(", ")
            )))
        }
    };
    let mut record = csv::StringRecord::new();
    let mut row = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                row += 1;
                sink(parse_row(row, &headers, &record, &geometry, map));
            }
            // A broken row (for example bytes the encoding cannot hold) is that row's fault.
            Err(e) if e.position().is_some() && !matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                row += 1;
                sink(Err(RecordError::new("row", row, None, "row", e.to_string())));
            }
            Err(e) => return Err(format(format!("row {}: {e}", row + 1))),
        }
    }
    Ok(TableInfo { encoding: encoding.name(), delimiter: char::from(delimiter) })
}

fn parse_row(
    row: usize,
    headers: &[String],
    record: &csv::StringRecord,
    geometry: &Geometry,
    map: &FieldMap,
) -> Result<Record, RecordError> {
    let mut properties = Map::new();
    for (h, v) in headers.iter().zip(record.iter()) {
        if !h.is_empty() && !v.trim().is_empty() {
            properties.insert(h.clone(), Value::String(v.trim().to_string()));
        }
    }
    // Mapped now, so that a row's error can name its code (`--map code=编号`).
    map.apply(&mut properties);
    let code = crate::geojson::text_property(&properties, "code");
    let err = |field: &str, reason: String| RecordError::new("row", row, code.clone(), field, reason);
    let cell = |i: usize| record.get(i).map(str::trim).unwrap_or("");
    let geometry = match *geometry {
        Geometry::LonLat(lon, lat) => {
            let number = |i: usize| {
                let text = cell(i);
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| err(&headers[i], format!("{text:?} is not a number")))
            };
            if cell(lon).is_empty() && cell(lat).is_empty() {
                None
            } else {
                Some(RawGeometry::Point([number(lon)?, number(lat)?]))
            }
        }
        Geometry::Wkt(i) if cell(i).is_empty() => None,
        Geometry::Wkt(i) => Some(wkt::parse(cell(i)).map_err(|reason| err(&headers[i], reason))?),
    };
    Ok(Record { unit: "row", number: row, properties, geometry })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], map: &str) -> (Result<TableInfo, FileError>, Vec<Result<Record, RecordError>>) {
        let mut out = Vec::new();
        let map: FieldMap = map.parse().expect("map");
        let info = read_records(Path::new("t.csv"), bytes, None, &map, &mut |r| out.push(r));
        (info, out)
    }

    #[test]
    fn gbk_semicolons_and_chinese_headers() {
        let (bytes, _, _) =
            encoding_rs::GBK.encode("编码;名称;经度;纬度\nP1;东四菜市场;116.41;39.92\nP2;史家胡同;abc;39.9\n");
        let (info, rows) = read(&bytes, "code=编码,name=名称");
        assert_eq!(info.expect("info"), TableInfo { encoding: "gb18030", delimiter: ';' });
        let first = rows[0].as_ref().expect("row 1");
        assert_eq!(first.properties["名称"], "东四菜市场");
        assert_eq!(first.geometry, Some(RawGeometry::Point([116.41, 39.92])));
        let bad = rows[1].as_ref().expect_err("row 2");
        assert_eq!((bad.record, bad.field.as_str()), (2, "经度"));
    }

    #[test]
    fn wkt_columns_and_a_missing_geometry_column() {
        let (_, rows) = read(b"\xef\xbb\xbfid,wkt\n1,\"POLYGON((0 0,1 0,1 1,0 0))\"\n2,\n", "");
        assert_eq!(rows[0].as_ref().map(|r| r.geometry.as_ref().map(RawGeometry::kind)).ok(), Some(Some("Polygon")));
        assert!(rows[1].as_ref().is_ok_and(|r| r.geometry.is_none()));
        let (info, _) = read(b"id,a,b\n1,2,3\n", "");
        assert!(info.is_err_and(|e| e.to_string().contains("lon/lat")));
        let (_, rows) = read(b"id\tJD\tWD\nA\t116\t40\n", "lon=JD,lat=WD");
        assert_eq!(rows[0].as_ref().ok().and_then(|r| r.geometry.clone()), Some(RawGeometry::Point([116.0, 40.0])));
    }
}
