//! Well-Known Text (OGC 06-103r4) geometries, as CSV exports carry them in a column. Z and M
//! values are read and dropped; an `SRID=…;` prefix (EWKT) is allowed.

use crate::record::{Position, RawGeometry};

/// Parses one WKT geometry. `EMPTY` geometries come back with no positions.
pub fn parse(text: &str) -> Result<RawGeometry, String> {
    let text = text.trim();
    let body = match text.split_once(';') {
        Some((srid, rest)) if srid.trim().to_ascii_uppercase().starts_with("SRID=") => rest,
        _ => text,
    };
    let mut p = Parser { s: body.as_bytes(), i: 0 };
    let g = p.geometry()?;
    p.skip_space();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the geometry at character {}", p.i + 1));
    }
    Ok(g)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn word(&mut self) -> String {
        self.skip_space();
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_alphabetic) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).to_ascii_uppercase()
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at character {}", c as char, self.i + 1))
        }
    }

    /// `EMPTY` or an opening parenthesis; true when empty.
    fn open(&mut self) -> Result<bool, String> {
        self.skip_space();
        let save = self.i;
        if self.word() == "EMPTY" {
            return Ok(true);
        }
        self.i = save;
        self.expect(b'(').map(|_| false)
    }

    fn number(&mut self) -> Result<f64, String> {
        self.skip_space();
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+')) {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{text:?} at character {} is not a finite number", start + 1))
    }

    fn position(&mut self) -> Result<Position, String> {
        let x = self.number()?;
        let y = self.number()?;
        // Z and M: read, then dropped.
        for _ in 0..2 {
            self.skip_space();
            if self.s.get(self.i).is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.')) {
                self.number()?;
            }
        }
        Ok([x, y])
    }

    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T, String>) -> Result<Vec<T>, String> {
        if self.open()? {
            return Ok(Vec::new());
        }
        let mut items = vec![item(self)?];
        while self.eat(b',') {
            items.push(item(self)?);
        }
        self.expect(b')')?;
        Ok(items)
    }

    fn points(&mut self) -> Result<Vec<Position>, String> {
        self.list(Self::position)
    }

    fn polygon(&mut self) -> Result<Vec<Vec<Position>>, String> {
        self.list(Self::points)
    }

    fn geometry(&mut self) -> Result<RawGeometry, String> {
        let kind = self.word();
        // Dimension markers: `POINT Z (…)`, `POINTZM(…)`.
        let save = self.i;
        let dims = self.word();
        if !matches!(dims.as_str(), "Z" | "M" | "ZM") {
            self.i = save;
        }
        let kind = kind.trim_end_matches("ZM").trim_end_matches(['Z', 'M']).to_string();
        Ok(match kind.as_str() {
            "POINT" => {
                if self.open()? {
                    RawGeometry::MultiPoint(Vec::new())
                } else {
                    let p = self.position()?;
                    self.expect(b')')?;
                    RawGeometry::Point(p)
                }
            }
            // Both `MULTIPOINT (1 2, 3 4)` and `MULTIPOINT ((1 2), (3 4))` are in use.
            "MULTIPOINT" => RawGeometry::MultiPoint(self.list(|p| {
                if p.eat(b'(') {
                    let pos = p.position()?;
                    p.expect(b')')?;
                    Ok(pos)
                } else {
                    p.position()
                }
            })?),
            "LINESTRING" => RawGeometry::LineString(self.points()?),
            "MULTILINESTRING" => RawGeometry::MultiLineString(self.list(Self::points)?),
            "POLYGON" => RawGeometry::Polygon(self.polygon()?),
            "MULTIPOLYGON" => RawGeometry::MultiPolygon(self.list(Self::polygon)?),
            "" => return Err("no geometry type (expected e.g. POINT or POLYGON)".into()),
            other => return Err(format!("{other} is not a Point, LineString or Polygon (or their Multi- kinds)")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_simple_kind_with_and_without_dimensions() {
        assert_eq!(parse("POINT (116.4 39.9)"), Ok(RawGeometry::Point([116.4, 39.9])));
        assert_eq!(parse("SRID=4326;point z(1 2 3)"), Ok(RawGeometry::Point([1.0, 2.0])));
        assert_eq!(parse("MULTIPOINT ((1 2), (3 4))"), parse("MULTIPOINT (1 2, 3 4)"));
        assert_eq!(
            parse("POLYGON ((0 0, 1 0, 1 1, 0 0), (0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.1))").map(|g| g.kind()),
            Ok("Polygon")
        );
        assert_eq!(
            parse("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))"),
            Ok(RawGeometry::MultiPolygon(vec![
                vec![vec![[0., 0.], [1., 0.], [1., 1.], [0., 0.]]],
                vec![vec![[5., 5.], [6., 5.], [6., 6.], [5., 5.]]]
            ]))
        );
        assert_eq!(parse("LINESTRING EMPTY"), Ok(RawGeometry::LineString(vec![])));
        assert_eq!(parse("LINESTRING ZM (1 2 3 4, 5 6 7 8)"), Ok(RawGeometry::LineString(vec![[1., 2.], [5., 6.]])));
    }

    #[test]
    fn faults_say_where() {
        assert!(parse("POINT (1)").expect_err("an error").contains("character"));
        assert!(parse("POINT (1 NaN)").expect_err("an error").contains("finite"));
        assert!(parse("POLYGON ((0 0, 1 0").is_err());
        assert!(parse("CIRCLE (1 2)").expect_err("an error").contains("CIRCLE"));
        assert!(parse("POINT (1 2) x").is_err());
        assert!(parse("").is_err());
    }
}
