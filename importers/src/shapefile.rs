//! ESRI Shapefiles: geometry from the `.shp`, attributes from the `.dbf` (dBase III), the text
//! encoding from the `.cpg` (or the `.dbf`'s language driver, or given), the CRS from the
//! `.prj`. Records are numbered from 1, as in the `.dbf`.
//!
//! Both files are read record by record; every length and count is checked against the
//! record's own size before use, so a damaged file is an error, never a panic.

use crate::crs::Crs;
use crate::record::{Position, RawGeometry, Record};
use crate::{text, FileError, RecordError};
use encoding_rs::Encoding;
use serde_json::{Map, Number, Value};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The CRS the `.prj` declares, if there is one.
pub fn declared_crs(path: &Path) -> Result<Option<Crs>, FileError> {
    match sibling(path, "prj") {
        None => Ok(None),
        Some(prj) => {
            let name = prj.display().to_string();
            let wkt = std::fs::read_to_string(&prj).map_err(|source| FileError::Io { path: name.clone(), source })?;
            Crs::from_prj(&wkt).map(Some).map_err(|reason| FileError::Format { path: name, reason })
        }
    }
}

/// A sibling file with another extension, in either case (`.dbf` or `.DBF`).
fn sibling(path: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()]
        .into_iter()
        .map(|e| path.with_extension(e))
        .find(|p| p.exists())
}

/// Reads the shapefile at `path` (the `.shp`) with its `.dbf` and `.cpg`; returns the encoding
/// the attributes were read in.
pub fn read_records(
    path: &Path,
    shp: impl Read,
    encoding: Option<&'static Encoding>,
    sink: &mut dyn FnMut(Result<Record, RecordError>),
) -> Result<&'static str, FileError> {
    let name = path.display().to_string();
    let format = |reason: String| FileError::Format { path: name.clone(), reason };
    let open =
        |p: &Path| std::fs::File::open(p).map_err(|source| FileError::Io { path: p.display().to_string(), source });
    let cpg = match sibling(path, "cpg") {
        Some(cpg) => {
            let label = std::fs::read_to_string(&cpg)
                .map_err(|source| FileError::Io { path: cpg.display().to_string(), source })?;
            Some(
                text::encoding_for(&label)
                    .map_err(|reason| FileError::Format { path: cpg.display().to_string(), reason })?,
            )
        }
        None => None,
    };
    let dbf_path = sibling(path, "dbf").ok_or_else(|| format("the .dbf file with the attributes is missing".into()))?;
    let dbf = open(&dbf_path)?;
    read_streams(path, shp, &dbf_path, dbf, encoding.or(cpg), sink)
}

/// Reads a `.shp` and its `.dbf` side by side (named for messages); `encoding` is the one
/// given or from the `.cpg`.
pub fn read_streams(
    path: &Path,
    shp: impl Read,
    dbf_path: &Path,
    dbf: impl Read,
    encoding: Option<&'static Encoding>,
    sink: &mut dyn FnMut(Result<Record, RecordError>),
) -> Result<&'static str, FileError> {
    let name = path.display().to_string();
    let format = |reason: String| FileError::Format { path: name.clone(), reason };
    let mut dbf = Dbf::open(BufReader::new(dbf))
        .map_err(|reason| FileError::Format { path: dbf_path.display().to_string(), reason })?;
    let encoding = encoding.or(dbf.language_encoding());
    let mut shp = BufReader::with_capacity(1 << 16, shp);
    let mut header = [0u8; 100];
    shp.read_exact(&mut header).map_err(|_| format("the .shp is shorter than its 100-byte header".into()))?;
    if be_i32(&header[0..4]) != 9994 {
        return Err(format("not a shapefile (the .shp does not start with file code 9994)".into()));
    }
    // When no encoding is named, it is detected on the first records' text.
    let mut detected: Option<&'static Encoding> = encoding;
    let mut number = 0;
    loop {
        let mut record_header = [0u8; 8];
        match read_full(&mut shp, &mut record_header) {
            Ok(0) => break,
            Ok(8) => {}
            Ok(_) => return Err(format(format!("record {}: the .shp ends inside a record header", number + 1))),
            Err(source) => return Err(FileError::Io { path: name.clone(), source }),
        }
        number += 1;
        let words = be_i32(&record_header[4..8]);
        let length = usize::try_from(words)
            .ok()
            .filter(|w| *w <= 1 << 28)
            .map(|w| w * 2)
            .ok_or_else(|| format(format!("record {number}: content length {words} is impossible")))?;
        let mut content = vec![0u8; length];
        shp.read_exact(&mut content)
            .map_err(|_| format(format!("record {number}: the .shp ends inside the record")))?;
        let attributes = dbf.next_record().map_err(|reason| FileError::Format {
            path: dbf_path.display().to_string(),
            reason: format!("record {number}: {reason}"),
        })?;
        let Some((deleted, raw)) = attributes else {
            return Err(format(format!("record {number}: the .dbf has fewer records than the .shp")));
        };
        if deleted {
            continue;
        }
        let encoding = *detected.get_or_insert_with(|| {
            let sample: Vec<u8> = dbf.fields.iter().flat_map(|f| f.raw_name.clone()).chain(raw.concat()).collect();
            text::detect(&sample)
        });
        if dbf.fields.iter().any(|f| f.name.is_empty()) {
            for f in &mut dbf.fields {
                f.name = text::decode(encoding, &f.raw_name).0.trim().to_string();
            }
        }
        sink(record(number, &content, &dbf.fields, &raw, encoding));
    }
    Ok(detected.unwrap_or(encoding_rs::UTF_8).name())
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn record(
    number: usize,
    content: &[u8],
    fields: &[Field],
    raw: &[Vec<u8>],
    encoding: &'static Encoding,
) -> Result<Record, RecordError> {
    let mut properties = Map::new();
    for (field, bytes) in fields.iter().zip(raw) {
        let (text, bad) = text::decode(encoding, bytes);
        if bad {
            return Err(RecordError::new(
                "record",
                number,
                None,
                &field.name,
                format!("is not valid {} text; name the encoding with --encoding", encoding.name()),
            ));
        }
        if let Some(v) = field.value(text.trim()) {
            properties.insert(field.name.clone(), v);
        }
    }
    let code = crate::geojson::text_property(&properties, "code");
    let geometry = shape(content).map_err(|reason| RecordError::new("record", number, code, "geometry", reason))?;
    Ok(Record { unit: "record", number, properties, geometry })
}

/// Little-endian reads within one record's content.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.i.checked_add(n).filter(|e| *e <= self.b.len()).ok_or("the record is shorter than its shape")?;
        let s = &self.b[self.i..end];
        self.i = end;
        Ok(s)
    }

    fn i32(&mut self) -> Result<i32, String> {
        self.take(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn count(&mut self, what: &str, each: usize) -> Result<usize, String> {
        let n = self.i32()?;
        usize::try_from(n)
            .ok()
            .filter(|n| n.saturating_mul(each) <= self.b.len() - self.i)
            .ok_or_else(|| format!("{what} count {n} does not fit the record"))
    }

    fn f64(&mut self) -> Result<f64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    fn position(&mut self) -> Result<Position, String> {
        let p = [self.f64()?, self.f64()?];
        if p[0].is_finite() && p[1].is_finite() {
            Ok(p)
        } else {
            Err(format!("position ({}, {}) is not finite", p[0], p[1]))
        }
    }
}

/// One shape: Null, Point, MultiPoint, PolyLine or Polygon, in 2D, Z or M form.
fn shape(content: &[u8]) -> Result<Option<RawGeometry>, String> {
    let mut c = Cursor { b: content, i: 0 };
    let kind = c.i32()?;
    Ok(Some(match kind {
        0 => return Ok(None),
        1 | 11 | 21 => RawGeometry::Point(c.position()?),
        8 | 18 | 28 => {
            c.take(32)?;
            let n = c.count("point", 16)?;
            RawGeometry::MultiPoint((0..n).map(|_| c.position()).collect::<Result<_, _>>()?)
        }
        3 | 13 | 23 | 5 | 15 | 25 => {
            c.take(32)?;
            let parts = c.count("part", 4)?;
            let points = c.count("point", 16)?;
            let starts = (0..parts).map(|_| c.i32()).collect::<Result<Vec<_>, _>>()?;
            let positions = (0..points).map(|_| c.position()).collect::<Result<Vec<_>, _>>()?;
            let mut rings = Vec::with_capacity(parts);
            for (k, start) in starts.iter().enumerate() {
                let end = starts.get(k + 1).copied().unwrap_or(points as i32);
                let (Ok(s), Ok(e)) = (usize::try_from(*start), usize::try_from(end)) else {
                    return Err(format!("part {k} starts at {start}, outside the record's points"));
                };
                if s > e || e > positions.len() {
                    return Err(format!("part {k} starts at {start}, outside the record's points"));
                }
                rings.push(positions[s..e].to_vec());
            }
            if matches!(kind, 3 | 13 | 23) {
                if rings.len() == 1 {
                    RawGeometry::LineString(rings.remove(0))
                } else {
                    RawGeometry::MultiLineString(rings)
                }
            } else {
                polygons_of(rings)
            }
        }
        other => return Err(format!("shape type {other} is not supported (MultiPatch?)")),
    }))
}

/// Shapefile polygons are a flat list of rings: outer rings run clockwise, holes counter-
/// clockwise. Each hole joins the smallest outer ring that holds its first vertex.
fn polygons_of(rings: Vec<Vec<Position>>) -> RawGeometry {
    let signed_area = |r: &[Position]| r.windows(2).map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1]).sum::<f64>() / 2.0;
    // Each outer ring with its area (to find the smallest one around a hole) and its holes.
    let mut outers: Vec<(f64, Vec<Vec<Position>>)> = Vec::new();
    let mut holes: Vec<Vec<Position>> = Vec::new();
    for ring in rings {
        let area = signed_area(&ring);
        if area <= 0.0 {
            outers.push((-area, vec![ring]));
        } else {
            holes.push(ring);
        }
    }
    for hole in holes {
        let Some(first) = hole.first().copied() else { continue };
        let home =
            outers.iter_mut().filter(|(_, rings)| ring_contains(&rings[0], first)).min_by(|a, b| a.0.total_cmp(&b.0));
        match home {
            Some((_, rings)) => rings.push(hole),
            // A hole in nothing: written with the wrong winding; keep it as a polygon of its own.
            None => outers.push((signed_area(&hole), vec![hole])),
        }
    }
    let mut polygons: Vec<Vec<Vec<Position>>> = outers.into_iter().map(|(_, rings)| rings).collect();
    if polygons.len() == 1 {
        RawGeometry::Polygon(polygons.remove(0))
    } else {
        RawGeometry::MultiPolygon(polygons)
    }
}

fn ring_contains(ring: &[Position], p: Position) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0] {
            inside = !inside;
        }
    }
    inside
}

/// One `.dbf` column.
struct Field {
    /// The name as stored: decoded once the encoding is known (ArcGIS writes GBK names too).
    raw_name: Vec<u8>,
    name: String,
    kind: u8,
    length: usize,
}

impl Field {
    fn value(&self, text: &str) -> Option<Value> {
        if text.is_empty() || text.bytes().all(|b| b == b'*') {
            return None;
        }
        Some(match self.kind {
            // Whole numbers stay exact; codes such as 110101001001 must not become floats.
            b'N' | b'F' | b'I' if text.parse::<i64>().is_ok() => Value::Number(text.parse::<i64>().ok()?.into()),
            b'N' | b'F' => {
                text.parse::<f64>().ok().and_then(Number::from_f64).map_or(Value::String(text.into()), Value::Number)
            }
            b'L' => match text {
                "T" | "t" | "Y" | "y" => Value::Bool(true),
                "F" | "f" | "N" | "n" => Value::Bool(false),
                _ => return None,
            },
            _ => Value::String(text.into()),
        })
    }
}

/// Whether a row is deleted, and each field's raw bytes.
type DbfRecord = (bool, Vec<Vec<u8>>);

/// A dBase III table read row by row.
struct Dbf<R> {
    source: R,
    fields: Vec<Field>,
    record_length: usize,
    remaining: u32,
    language: u8,
}

impl<R: Read> Dbf<R> {
    fn open(mut source: R) -> Result<Self, String> {
        let mut head = [0u8; 32];
        source.read_exact(&mut head).map_err(|_| "the .dbf is shorter than its header")?;
        let remaining = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let header_length = usize::from(u16::from_le_bytes([head[8], head[9]]));
        let record_length = usize::from(u16::from_le_bytes([head[10], head[11]]));
        if header_length < 33 {
            return Err(format!("header length {header_length} is too short"));
        }
        let mut rest = vec![0u8; header_length - 32];
        source.read_exact(&mut rest).map_err(|_| "the .dbf ends inside its header")?;
        let mut fields = Vec::new();
        let mut width = 1; // the deletion flag
        for d in rest.chunks_exact(32).take_while(|d| d[0] != 0x0d) {
            let name_end = d[..11].iter().position(|b| *b == 0).unwrap_or(11);
            let length = usize::from(d[16]);
            width += length;
            fields.push(Field { raw_name: d[..name_end].to_vec(), name: String::new(), kind: d[11], length });
        }
        // Found by fuzzing: a record must hold its deletion flag and every field.
        if width > record_length {
            return Err(format!("the fields ({width} bytes) are wider than a record ({record_length} bytes)"));
        }
        Ok(Dbf { source, fields, record_length, remaining, language: head[29] })
    }

    /// The encoding the language driver byte names (0x4D–0x4F are the Chinese code pages).
    fn language_encoding(&self) -> Option<&'static Encoding> {
        match self.language {
            0x4d | 0x7a => Some(encoding_rs::GBK),
            0x4f | 0x78 => Encoding::for_label(b"big5"),
            _ => None,
        }
    }

    /// The next record: whether it is deleted, and each field's raw bytes.
    fn next_record(&mut self) -> Result<Option<DbfRecord>, String> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        let mut row = vec![0u8; self.record_length];
        self.source.read_exact(&mut row).map_err(|_| "the .dbf ends inside a record")?;
        let mut at = 1;
        let mut values = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            values.push(row[at..at + f.length].to_vec());
            at += f.length;
        }
        Ok(Some((row[0] == b'*', values)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_join_the_ring_around_them() {
        let outer = vec![[0., 0.], [0., 10.], [10., 10.], [10., 0.], [0., 0.]]; // clockwise
        let hole = vec![[2., 2.], [4., 2.], [4., 4.], [2., 4.], [2., 2.]]; // counter-clockwise
        let island = vec![[20., 20.], [20., 21.], [21., 21.], [21., 20.], [20., 20.]];
        let RawGeometry::MultiPolygon(mp) = polygons_of(vec![outer, hole, island]) else { panic!("two polygons") };
        assert_eq!(mp.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    }

    #[test]
    fn damaged_shapes_are_errors() {
        assert!(shape(&[5, 0, 0]).is_err());
        let mut polygon = 5i32.to_le_bytes().to_vec();
        polygon.extend([0u8; 32]);
        polygon.extend(1i32.to_le_bytes());
        polygon.extend(1_000_000i32.to_le_bytes());
        assert!(shape(&polygon).expect_err("an error").contains("does not fit"));
        assert_eq!(shape(&0i32.to_le_bytes()), Ok(None));
    }

    #[test]
    fn a_dbf_record_too_short_for_its_fields_is_refused() {
        // The fuzzer's case: one field of length 0 in records of length 0.
        let mut dbf = vec![3u8, 0, 0, 0, 1, 0, 0, 0, 65, 0, 0, 0];
        dbf.resize(32, 0);
        let mut field = b"A".to_vec();
        field.resize(11, 0);
        field.push(b'C');
        field.resize(32, 0);
        dbf.extend(field);
        dbf.push(0x0d);
        assert!(Dbf::open(dbf.as_slice()).is_err());
    }
}
