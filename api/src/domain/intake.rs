//! Intake: validating a report and routing it to the grid that covers it.

use crate::domain::grids::Snapshot;
use crate::domain::problem::{CallerContact, Class, NearbyGrid, NewProblem, Source};
use crate::domain::workflow::catalogue::Kind;
use crate::domain::workflow::state::State;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

pub const MAX_CATEGORY_CHARS: usize = 100;
/// Grids this close to a report are shown to the dispatcher as alternatives.
pub const NEARBY_METRES: f64 = 30.0;
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
pub const MAX_ADDRESS_CHARS: usize = 200;

/// A field the report got wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

/// A report as submitted, checked but not yet routed. [`parse_report`] reads it (naming every
/// field at fault at once); the derived schema is what the API documents for it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lon": 116.41, "lat": 39.93, "category": "E01001", "description": "路边垃圾", "source": "officer"}))]
pub struct Report {
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// A catalogue code (e.g. E01001) or its Chinese or English name; see GET /api/v1/categories
    #[schema(min_length = 1, max_length = 100, example = "E01001")]
    pub category: String,
    #[schema(max_length = 4000)]
    pub description: String,
    pub source: Source,
    /// The owner of a component (部件权属单位): components go to their owner first
    #[schema(max_length = 100)]
    pub owner: Option<String>,
    /// Where it is, in words (地址), e.g. as the caller said it
    #[schema(max_length = 200)]
    pub address: Option<String>,
    /// The address book entry (GET /api/v1/addresses) it was found by; its name is the address when none is given
    pub address_id: Option<i64>,
    /// A hotline caller's contact (来电人): dispatchers and the office only; kept private
    pub caller: Option<CallerContact>,
}

const FIELDS: [&str; 9] =
    ["lon", "lat", "category", "description", "source", "owner", "address", "address_id", "caller"];

/// Checks a JSON report, naming every field at fault.
pub fn parse_report(body: &Value) -> Result<Report, Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError { field: "body", reason: "must be a JSON object".into() }]);
    };
    let mut errors = Vec::new();
    let mut err = |field: &'static str, reason: String| errors.push(FieldError { field, reason });
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) {
            err("body", format!("unknown field {key:?} (fields: {})", FIELDS.join(", ")));
        }
    }
    let lon = coordinate(obj, "lon", 180.0).map_err(|r| err("lon", r)).ok();
    let lat = coordinate(obj, "lat", 90.0).map_err(|r| err("lat", r)).ok();
    let category = text(obj, "category", MAX_CATEGORY_CHARS, false).map_err(|r| err("category", r)).ok();
    let description = text(obj, "description", MAX_DESCRIPTION_CHARS, true).map_err(|r| err("description", r)).ok();
    let source = text(obj, "source", 40, false).and_then(|s| s.parse::<Source>()).map_err(|r| err("source", r)).ok();
    let owner = match obj.get("owner") {
        None | Some(Value::Null) => Ok(None),
        Some(_) => text(obj, "owner", MAX_CATEGORY_CHARS, false).map(Some),
    }
    .map_err(|r| err("owner", r))
    .ok()
    .flatten();
    let address = match obj.get("address") {
        None | Some(Value::Null) => Ok(None),
        Some(_) => text(obj, "address", MAX_ADDRESS_CHARS, true).map(|a| Some(a).filter(|a| !a.is_empty())),
    }
    .map_err(|r| err("address", r))
    .ok()
    .flatten();
    let address_id = match obj.get("address_id") {
        None | Some(Value::Null) => None,
        Some(v) => v.as_i64().filter(|&id| id > 0).or_else(|| {
            err("address_id", format!("must be a positive whole number, not {v}"));
            None
        }),
    };
    let caller = match obj.get("caller") {
        None | Some(Value::Null) => None,
        Some(v) => serde_json::from_value::<CallerContact>(v.clone())
            .map_err(|e| e.to_string())
            .and_then(CallerContact::checked)
            .map_err(|r| err("caller", r))
            .ok(),
    };
    match (lon, lat, category, description, source) {
        (Some(lon), Some(lat), Some(category), Some(description), Some(source)) if errors.is_empty() => {
            Ok(Report { lon, lat, category, description, source, owner, address, address_id, caller })
        }
        _ => Err(errors),
    }
}

fn coordinate(obj: &Map<String, Value>, key: &str, limit: f64) -> Result<f64, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err("is required".into()),
        Some(Value::Number(n)) => {
            let v = n.as_f64().filter(|v| v.is_finite()).ok_or("is not a finite number")?;
            if v.abs() > limit {
                Err(format!("{v} is out of range (±{limit})"))
            } else {
                Ok(v)
            }
        }
        Some(other) => Err(format!("must be a number, not {other}")),
    }
}

fn text(obj: &Map<String, Value>, key: &str, max_chars: usize, may_be_empty: bool) -> Result<String, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Err("is required".into()),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.contains('\0') {
                Err("must not contain NUL characters".into())
            } else if s.is_empty() && !may_be_empty {
                Err("must not be empty".into())
            } else if s.chars().count() > max_chars {
                Err(format!("is longer than {max_chars} characters"))
            } else {
                Ok(s.to_string())
            }
        }
        Some(other) => Err(format!("must be a string, not {other}")),
    }
}

/// Routes a report to the grid that covers it (smallest code on a shared edge) and to the
/// department its class names. Events go to the territory first (the grid's unit, 先属地);
/// a component whose owner the report names goes to the owner first (先属主).
pub fn route(snapshot: &Snapshot, report: Report, class: Option<Class>, now: OffsetDateTime) -> NewProblem {
    let found = snapshot.index.locate(geo::Coord { x: report.lon, y: report.lat });
    let territory = found.grid.and_then(|e| e.payload.responsible_unit.clone());
    let responsible_unit = match (&class, report.owner) {
        (Some(c), Some(owner)) if c.kind == Kind::Component => Some(owner),
        _ => territory,
    };
    NewProblem {
        lon: report.lon,
        lat: report.lat,
        category: report.category,
        description: report.description,
        source: report.source,
        grid_code: found.grid.map(|e| e.code.clone()),
        grid_version: found.grid.map(|e| e.payload.version),
        responsible_unit,
        candidates: found.candidates.iter().map(|e| e.code.clone()).collect(),
        status: State::Reported, // 上报: where every case starts
        created_at: now,
        reported_by: None,
        class,
        nearby: snapshot
            .index
            .nearby(geo::Coord { x: report.lon, y: report.lat }, NEARBY_METRES)
            .into_iter()
            .map(|(e, d)| NearbyGrid { code: e.code.clone(), distance_m: (d * 10.0).round() / 10.0 })
            .collect(),
        likely_duplicates: Vec::new(),
        origin: None,
        address: report.address,
        address_id: report.address_id,
        caller: report.caller,
        recurrence: None,
    }
}

/// A backlog record (`gridwatch import problems`) as a new case, keyed by its code when it has
/// one: the same checks as a report over HTTP, the category from the catalogue, and
/// `reported_at` (RFC 3339, or `YYYY-MM-DD HH:MM[:SS]` in China time) as when it came in.
pub fn backlog_problem(
    snapshot: &Snapshot,
    r: &importers::load::PointRecord,
    now: OffsetDateTime,
) -> Result<(Option<String>, NewProblem), importers::RecordError> {
    let fail =
        |field: &str, reason: String| importers::RecordError::new(r.unit, r.number, r.code.clone(), field, reason);
    let text = |key: &str| importers::geojson::text_property(&r.properties, key);
    let mut body = serde_json::json!({
        "lon": r.lon,
        "lat": r.lat,
        "category": text("category"),
        "description": text("description").unwrap_or_default(),
        "source": text("source").unwrap_or_else(|| "citizen".into()),
    });
    if let Some(owner) = text("owner") {
        body["owner"] = Value::String(owner);
    }
    let mut report = parse_report(&body).map_err(|errors| {
        let e = &errors[0];
        fail(e.field, e.reason.clone())
    })?;
    let category = crate::domain::workflow::catalogue::find(&snapshot.categories, &report.category)
        .ok_or_else(|| fail("category", format!("{:?} is not in the catalogue", report.category)))?;
    report.category = category.code.clone();
    let class = Some(Class::from(category));
    let at = match text("reported_at") {
        None => now,
        Some(t) => importers::record::parse_time(&t)
            .ok_or_else(|| fail("reported_at", format!("{t:?} is not RFC 3339 or YYYY-MM-DD HH:MM[:SS]")))?,
    };
    if at > now {
        return Err(fail("reported_at", "is in the future".into()));
    }
    let mut problem = route(snapshot, report, class, at);
    problem.reported_by = text("reported_by");
    Ok((r.code.clone(), problem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_parser_reads_the_fields_the_schema_documents() {
        let schema = serde_json::to_value(<Report as utoipa::PartialSchema>::schema()).expect("schema");
        let documented: Vec<&str> =
            schema["properties"].as_object().expect("properties").keys().map(String::as_str).collect();
        let mut read = FIELDS.to_vec();
        read.sort_unstable();
        assert_eq!(documented, read);
        // What the schema requires, the parser requires.
        let example = schema["example"].clone();
        assert!(parse_report(&example).is_ok(), "the documented example is accepted");
        for field in schema["required"].as_array().expect("required") {
            let mut without = example.clone();
            without.as_object_mut().expect("object").remove(field.as_str().expect("name"));
            assert!(parse_report(&without).is_err(), "{field} is required");
        }
    }

    #[test]
    fn a_good_report_passes() {
        let r = parse_report(
            &json!({"lon": 116.4, "lat": 39.9, "category": "暴露垃圾", "description": "", "source": "hotline"}),
        );
        assert_eq!(r.map(|r| r.source), Ok(Source::Hotline));
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = parse_report(&json!({"lon": 181, "lat": "39.9", "category": " ", "source": "fax", "extra": 1}))
            .expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["body", "lon", "lat", "category", "description", "source"]);
        assert!(errors[5].reason.contains("hotline"));
        assert!(errors[0].reason.contains("owner"), "the known fields are listed");
        assert!(parse_report(&json!([1, 2])).is_err());
    }
}
