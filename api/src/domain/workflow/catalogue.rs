//! The category catalogue (CJ/T 214): components 部件 and events 事件, each with the department
//! that answers for it (职能部门), its time limit and the colour serious matters start at.
//!
//! Codes are the kind's letter (`C` component, `E` event), the major class (2 digits) and the
//! minor class (3 digits: 001–079 standard, 080–999 local), e.g. `E01001` 暴露垃圾.

use super::calendar::LimitUnit;
use super::colour::Colour;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// 部件 — public facilities: owner first, then territory.
    Component,
    /// 事件 — events: territory first, then owner.
    Event,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Component => "component",
            Self::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "component" | "部件" => Ok(Self::Component),
            "event" | "事件" => Ok(Self::Event),
            other => Err(format!("unknown kind {other:?}: use component (部件) or event (事件)")),
        }
    }
}

/// A category of the catalogue (部件/事件): who handles it and how soon.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub code: String,
    pub kind: Kind,
    pub name_zh: String,
    pub name_en: String,
    pub department: String,
    pub time_limit: u32,
    pub limit_unit: LimitUnit,
    /// Serious matters start at yellow or red.
    pub severity: Colour,
}

/// The catalogue gridwatch ships (`api/catalogue/categories.csv`).
/// The general category (其他) of a problem whose own is not known: a failed inspection criterion
/// that names none, or a finding whose category left the catalogue.
pub const GENERAL_CATEGORY: &str = "E09001";

pub const DEFAULT_CSV: &str = include_str!("../../../catalogue/categories.csv");

/// One row as written in a CSV or JSON file: every field a string or number.
#[derive(Debug, Deserialize)]
struct Row {
    code: String,
    kind: String,
    name_zh: String,
    name_en: String,
    department: String,
    time_limit: serde_json::Value,
    limit_unit: String,
    #[serde(default)]
    severity: Option<String>,
}

fn check(row: Row, record: &str) -> Result<Category, String> {
    let err = |field: &str, reason: String| format!("{record}, {field}: {reason}");
    let kind = Kind::parse(row.kind.trim()).map_err(|e| err("kind", e))?;
    let code = row.code.trim().to_string();
    let letter = if kind == Kind::Component { 'C' } else { 'E' };
    let digits_ok = code.len() == 6 && code[1..].bytes().all(|b| b.is_ascii_digit());
    if !code.starts_with(letter) || !digits_ok {
        return Err(err("code", format!("{code:?} must be {letter} followed by 5 digits (major 2 + minor 3)")));
    }
    let time_limit = match &row.time_limit {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| (1..=10_000).contains(n))
    .ok_or_else(|| err("time_limit", format!("{} is not a whole number from 1 to 10000", row.time_limit)))?;
    let limit_unit = LimitUnit::parse(row.limit_unit.trim()).map_err(|e| err("limit_unit", e))?;
    let severity = Colour::parse(row.severity.as_deref().unwrap_or("none").trim()).map_err(|e| err("severity", e))?;
    if severity == Colour::Blue {
        return Err(err("severity", "a category may start at none, yellow or red".into()));
    }
    for (field, value) in [("name_zh", &row.name_zh), ("name_en", &row.name_en), ("department", &row.department)] {
        if value.trim().is_empty() {
            return Err(err(field, "must not be empty".into()));
        }
    }
    Ok(Category {
        code,
        kind,
        name_zh: row.name_zh.trim().into(),
        name_en: row.name_en.trim().into(),
        department: row.department.trim().into(),
        time_limit: time_limit as u32,
        limit_unit,
        severity,
    })
}

fn finish(categories: Vec<Category>, mut errors: Vec<String>, name: &str) -> Result<Vec<Category>, Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    for c in &categories {
        if !seen.insert(c.code.clone()) {
            errors.push(format!("{name}: code {} appears more than once", c.code));
        }
    }
    if categories.is_empty() && errors.is_empty() {
        errors.push(format!("{name}: no categories"));
    }
    if errors.is_empty() {
        Ok(categories)
    } else {
        Err(errors)
    }
}

/// Reads a catalogue CSV (header: code,kind,name_zh,name_en,department,time_limit,limit_unit,severity).
pub fn parse_csv(text: &str, name: &str) -> Result<Vec<Category>, Vec<String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let (mut categories, mut errors) = (Vec::new(), Vec::new());
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let record = format!("{name}: row {}", i + 1);
        match row.map_err(|e| format!("{record}: {e}")).and_then(|r| check(r, &record)) {
            Ok(c) => categories.push(c),
            Err(e) => errors.push(e),
        }
    }
    finish(categories, errors, name)
}

/// Reads a catalogue JSON: an array of objects with the CSV's fields.
pub fn parse_json(text: &str, name: &str) -> Result<Vec<Category>, Vec<String>> {
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| vec![format!("{name}: not a JSON array of categories: {e}")])?;
    let (mut categories, mut errors) = (Vec::new(), Vec::new());
    for (i, value) in rows.into_iter().enumerate() {
        let record = format!("{name}: item {i}");
        let row = serde_json::from_value::<Row>(value).map_err(|e| format!("{record}: {e}"));
        match row.and_then(|r| check(r, &record)) {
            Ok(c) => categories.push(c),
            Err(e) => errors.push(e),
        }
    }
    finish(categories, errors, name)
}

/// The category a report names, by code or by its Chinese or English name.
pub fn find<'a>(categories: &'a [Category], key: &str) -> Option<&'a Category> {
    let key = key.trim();
    categories.iter().find(|c| c.code == key || c.name_zh == key || c.name_en.eq_ignore_ascii_case(key))
}

/// The shipped catalogue.
pub fn default_catalogue() -> Vec<Category> {
    parse_csv(DEFAULT_CSV, "catalogue/categories.csv").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalogue_covers_domain_classes() {
        let all = default_catalogue();
        assert!(all.len() >= 15);
        assert!(all.iter().any(|c| c.kind == Kind::Component) && all.iter().any(|c| c.kind == Kind::Event));
        let collapse = all.iter().find(|c| c.name_zh == "路面塌陷").expect("road collapse");
        assert_eq!((collapse.severity, collapse.limit_unit), (Colour::Red, LimitUnit::UrgentHours));
        for unit in [LimitUnit::UrgentHours, LimitUnit::WorkingHours, LimitUnit::WorkingDays] {
            assert!(all.iter().any(|c| c.limit_unit == unit), "{unit:?}");
        }
    }

    #[test]
    fn bad_rows_are_named() {
        let csv = "code,kind,name_zh,name_en,department,time_limit,limit_unit,severity\n\
                   E01001,event,暴露垃圾,Garbage,环卫,4,working_hours,none\n\
                   C0100,component,井盖,Cover,水务,4,urgent_hours,yellow\n\
                   E01002,event,乱堆,Piles,城管,0,working_days,none\n\
                   E01003,event,违建,Structure,城管,5,fortnights,none\n\
                   E01001,event,重复,Dup,城管,5,working_days,none\n";
        let errors = parse_csv(csv, "cat.csv").expect_err("invalid");
        assert!(errors[0].contains("cat.csv: row 2, code"), "{errors:?}");
        assert!(errors[1].contains("row 3, time_limit"), "{errors:?}");
        assert!(errors[2].contains("row 4, limit_unit"), "{errors:?}");
        assert!(errors[3].contains("E01001 appears more than once"), "{errors:?}");
        let json = r#"[{"code":"E01001","kind":"事件","name_zh":"暴露垃圾","name_en":"Garbage","department":"环卫","time_limit":4,"limit_unit":"working_hours"}]"#;
        let ok = parse_json(json, "cat.json").expect("valid");
        assert_eq!(find(&ok, "暴露垃圾").map(|c| c.code.as_str()), Some("E01001"));
        assert_eq!(find(&ok, "garbage").map(|c| c.code.as_str()), Some("E01001"));
        assert!(find(&ok, "E99999").is_none());
        assert_eq!((ok[0].kind, ok[0].severity), (Kind::Event, Colour::None));
    }
}
