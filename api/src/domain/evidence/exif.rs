//! What a photo says about itself (EXIF): when it was taken, where, and with what device.

use exif::{In, Reader, Tag, Value};
use serde::Serialize;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The EXIF facts the tamper checks use. Missing tags stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Taken {
    /// `DateTimeOriginal`, in its own offset when the camera wrote one (`OffsetTimeOriginal`),
    /// else in the city's.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<OffsetDateTime>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Make and model, as the camera wrote them.
    pub device: Option<String>,
}

/// Reads a photo's EXIF; `None` when it has none at all (or none that parses).
pub fn read(bytes: &[u8], city_offset: UtcOffset) -> Option<Taken> {
    let exif = Reader::new().read_from_container(&mut std::io::Cursor::new(bytes)).ok()?;
    let text = |tag| {
        exif.get_field(tag, In::PRIMARY).and_then(|f| match &f.value {
            Value::Ascii(parts) => parts.first().map(|p| String::from_utf8_lossy(p).trim().to_string()),
            _ => None,
        })
    };
    let offset = text(Tag::OffsetTimeOriginal).and_then(|o| parse_offset(&o)).unwrap_or(city_offset);
    let at = text(Tag::DateTimeOriginal).or_else(|| text(Tag::DateTime)).and_then(|t| parse_time(&t, offset));
    let degrees = |value_tag, ref_tag, negative: &str| {
        let field = exif.get_field(value_tag, In::PRIMARY)?;
        let Value::Rational(parts) = &field.value else { return None };
        let [d, m, s] = parts.as_slice() else { return None };
        let value = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        if !value.is_finite() {
            return None;
        }
        Some(if text(ref_tag).as_deref() == Some(negative) { -value } else { value })
    };
    let lat = degrees(Tag::GPSLatitude, Tag::GPSLatitudeRef, "S");
    let lon = degrees(Tag::GPSLongitude, Tag::GPSLongitudeRef, "W");
    let device = match (text(Tag::Make), text(Tag::Model)) {
        (Some(make), Some(model)) if model.starts_with(&make) => Some(model),
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (one, other) => one.or(other),
    }
    .filter(|d| !d.is_empty());
    Some(Taken { at, lon, lat, device })
}

/// `2026:11:30 14:05:09` in `offset`.
fn parse_time(text: &str, offset: UtcOffset) -> Option<OffsetDateTime> {
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let date = Date::from_calendar_date(
        i32::try_from(number(0..4)?).ok()?,
        Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?,
        u8::try_from(number(8..10)?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(number(11..13)?).ok()?,
        u8::try_from(number(14..16)?).ok()?,
        u8::try_from(number(17..19)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// `+08:00`.
fn parse_offset(text: &str) -> Option<UtcOffset> {
    let sign = match text.get(0..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let hours: i8 = text.get(1..3)?.parse().ok()?;
    let minutes: i8 = text.get(4..6)?.parse().ok()?;
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn exif_times_and_offsets_parse() {
        assert_eq!(parse_time("2026:11:30 14:05:09", offset!(+8)), Some(datetime!(2026-11-30 14:05:09 +8)));
        assert_eq!(parse_time("2026:13:30 14:05:09", offset!(+8)), None);
        assert_eq!(parse_time("    :  :     :  :  ", offset!(+8)), None, "cameras write blanks when unset");
        assert_eq!(parse_offset("-03:30"), UtcOffset::from_hms(-3, -30, 0).ok());
        assert_eq!(parse_offset("08:00"), None);
    }

    #[test]
    fn bytes_without_exif_have_none() {
        assert_eq!(read(b"\xFF\xD8\xFF\xD9", offset!(+8)), None);
        assert_eq!(read(b"not an image", offset!(+8)), None);
    }
}
