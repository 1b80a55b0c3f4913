//! Point lists as CSV (`id,lon,lat` with a header), read as a stream.

use serde::Serialize;
use std::io::Read;

/// One point to assign. The id is kept verbatim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointRow {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
}

/// Many points read at once: their ids packed in one buffer (no allocation per point).
#[derive(Debug, Default, Clone)]
pub struct PointBatch {
    ids: Vec<u8>,
    ends: Vec<usize>,
    /// Longitude as x, latitude as y.
    pub coords: Vec<geo::Coord<f64>>,
}

impl PointBatch {
    pub fn len(&self) -> usize {
        self.coords.len()
    }

    pub fn is_empty(&self) -> bool {
        self.coords.is_empty()
    }

    pub fn clear(&mut self) {
        self.ids.clear();
        self.ends.clear();
        self.coords.clear();
    }

    /// The id of point `i`, as bytes exactly as read.
    pub fn id(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.ids[start..self.ends[i]]
    }

    fn push(&mut self, id: &[u8], lon: f64, lat: f64) {
        self.ids.extend_from_slice(id);
        self.ends.push(self.ids.len());
        self.coords.push(geo::Coord { x: lon, y: lat });
    }
}

/// A streaming reader over a point CSV; errors name the row (1-based, header excluded) and field.
pub struct PointReader<R: Read> {
    name: String,
    inner: csv::Reader<R>,
    columns: [usize; 3],
    record: csv::ByteRecord,
    row: usize,
}

impl<R: Read> PointReader<R> {
    /// Reads the header and finds the `id`, `lon` and `lat` columns (in any order).
    pub fn new(name: impl Into<String>, source: R) -> Result<Self, String> {
        let name = name.into();
        let mut inner = csv::ReaderBuilder::new().has_headers(true).from_reader(source);
        let headers = inner.headers().map_err(|e| format!("{name}: cannot read the header: {e}"))?.clone();
        let find = |want: &str| {
            headers
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}').trim().eq_ignore_ascii_case(want))
                .ok_or_else(|| format!("{name}: the header has no {want:?} column (expected id,lon,lat)"))
        };
        let columns = [find("id")?, find("lon")?, find("lat")?];
        Ok(Self { name, inner, columns, record: csv::ByteRecord::new(), row: 0 })
    }

    /// The next point, `None` at the end.
    pub fn next_point(&mut self) -> Option<Result<PointRow, String>> {
        let mut batch = PointBatch::default();
        match self.next_batch(&mut batch, 1) {
            Ok(0) => None,
            Ok(_) => Some(Ok(PointRow {
                id: String::from_utf8_lossy(batch.id(0)).into_owned(),
                lon: batch.coords[0].x,
                lat: batch.coords[0].y,
            })),
            Err(e) => Some(Err(e)),
        }
    }

    /// Appends up to `max` points to `batch`; returns how many (0 at the end).
    pub fn next_batch(&mut self, batch: &mut PointBatch, max: usize) -> Result<usize, String> {
        let mut read = 0;
        while read < max {
            match self.inner.read_byte_record(&mut self.record) {
                Ok(false) => break,
                Err(e) => return Err(format!("{}: row {}: {e}", self.name, self.row + 1)),
                Ok(true) => {
                    self.row += 1;
                    let (id, lon, lat) = self.parse()?;
                    batch.push(id, lon, lat);
                    read += 1;
                }
            }
        }
        Ok(read)
    }

    fn parse(&self) -> Result<(&[u8], f64, f64), String> {
        // Error texts are built only on error: this runs once per point.
        let field = |i: usize, label: &str| {
            self.record
                .get(self.columns[i])
                .map(<[u8]>::trim_ascii)
                .ok_or_else(|| format!("{}: row {}: field {label} is missing", self.name, self.row))
        };
        let coord = |i: usize, label: &str, range: f64| -> Result<f64, String> {
            let bytes = field(i, label)?;
            let text = std::str::from_utf8(bytes).unwrap_or("");
            let value: f64 = text.parse().map_err(|_| {
                format!(
                    "{}: row {}: field {label}: {:?} is not a number",
                    self.name,
                    self.row,
                    String::from_utf8_lossy(bytes)
                )
            })?;
            if !value.is_finite() || value.abs() > range {
                return Err(format!("{}: row {}: field {label}: {text} is out of range ±{range}", self.name, self.row));
            }
            Ok(value)
        };
        let id = field(0, "id")?;
        if std::str::from_utf8(id).is_err() {
            return Err(format!("{}: row {}: field id is not UTF-8 text", self.name, self.row));
        }
        Ok((id, coord(1, "lon", 180.0)?, coord(2, "lat", 90.0)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_columns_in_any_order_and_names_bad_rows() {
        let data = "lat,id,lon\n39.9,a,116.4\n40,b,116.5\nNaN,c,116\n";
        let mut r = PointReader::new("pts.csv", data.as_bytes()).expect("header");
        assert_eq!(r.next_point(), Some(Ok(PointRow { id: "a".into(), lon: 116.4, lat: 39.9 })));
        assert!(r.next_point().is_some_and(|p| p.is_ok()));
        let err = r.next_point().and_then(|p| p.err()).expect("error");
        assert!(err.contains("row 3") && err.contains("field lat"), "{err}");
        assert!(r.next_point().is_none());
    }

    #[test]
    fn a_missing_column_is_named() {
        let err = PointReader::new("pts.csv", "id,x,y\n".as_bytes()).err().expect("error");
        assert!(err.contains("\"lon\""));
    }
}
