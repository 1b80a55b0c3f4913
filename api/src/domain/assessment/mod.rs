//! Mock assessment (模拟测评): the office draws assessment points at random, stratified by type
//! and district with a seed anyone can re-run, inspectors score each point's checklist, and the
//! score rate (得分率 = points scored / points possible) is reported overall, per type, per
//! unit and per district, as JSON or XLSX.

pub mod checklist;
pub mod draw;

use crate::domain::access::Area;
use crate::domain::patrol::StoredPoint;
use draw::{Candidate, Quota};
use geo::Centroid;
use serde::{Deserialize, Serialize};
use spatial::patrol::Criterion;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What to draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Spec {
    pub name: String,
    /// Points in all, spread over types and districts by their sizes (ignored with `per_type`).
    #[serde(default)]
    pub n: usize,
    pub seed: u64,
    /// Points per type (e.g. `{"market": 3}`), spread over that type's districts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_type: BTreeMap<String, usize>,
    /// Only these districts (6-digit codes); all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub districts: Vec<String>,
}

/// The most points one assessment may draw (one city drew 78).
pub const MAX_POINTS: usize = 5_000;

impl Spec {
    /// Reads a draw's settings from JSON (the API's body; the CLI builds the same from its
    /// flags): `name`, `n` or `per_type`, and optionally `seed` (a random one is chosen when
    /// absent, and kept with the draw) and `districts`. A fault names its field.
    pub fn from_json(value: &serde_json::Value) -> Result<Spec, (String, String)> {
        use serde_json::Value;
        let fault = |field: &str, reason: String| (field.to_string(), reason);
        let obj = value.as_object().ok_or_else(|| fault("body", "must be a JSON object".into()))?;
        let fields = ["name", "n", "seed", "per_type", "districts"];
        if let Some(k) = obj.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(fault("body", format!("unknown field {k:?} (fields: {})", fields.join(", "))));
        }
        let name = match obj.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 200 && !s.contains('\0') => {
                s.trim().to_string()
            }
            None | Some(Value::Null) => "模拟测评".to_string(),
            Some(_) => return Err(fault("name", "must be text of 1 to 200 characters".into())),
        };
        let count = |field: &str, v: &Value| -> Result<usize, (String, String)> {
            v.as_u64()
                .filter(|&n| (1..=MAX_POINTS as u64).contains(&n))
                .map(|n| n as usize)
                .ok_or_else(|| fault(field, format!("must be a whole number from 1 to {MAX_POINTS}")))
        };
        let mut per_type = BTreeMap::new();
        match obj.get("per_type") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (kind, n) in map {
                    let id = spatial::patrol::point_kind(kind)
                        .ok_or_else(|| fault("per_type", format!("{kind:?} is not a point type")))?;
                    per_type.insert(id.to_string(), count(&format!("per_type.{kind}"), n)?);
                }
            }
            Some(_) => return Err(fault("per_type", "must be an object of type: count".into())),
        }
        let n = match obj.get("n") {
            None | Some(Value::Null) if !per_type.is_empty() => per_type.values().sum(),
            None | Some(Value::Null) => return Err(fault("n", "is required (or per_type)".into())),
            Some(v) if per_type.is_empty() => count("n", v)?,
            Some(_) => return Err(fault("n", "give n or per_type, not both".into())),
        };
        if n > MAX_POINTS {
            return Err(fault("per_type", format!("draws at most {MAX_POINTS} points in all")));
        }
        let seed = match obj.get("seed") {
            None | Some(Value::Null) => {
                random_seed().ok_or_else(|| fault("seed", "no randomness available: give one".into()))?
            }
            Some(v) => v.as_u64().ok_or_else(|| fault("seed", "must be a whole number from 0 to 2^64-1".into()))?,
        };
        let district_list = || fault("districts", "must be a list of 6-digit district codes".into());
        let districts = match obj.get("districts") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|d| {
                    d.as_str().filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit())).map(str::to_string)
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(district_list)?,
            Some(_) => return Err(district_list()),
        };
        Ok(Spec { name, n, seed, per_type, districts })
    }
}

/// A seed nobody chose, below 2^53 so that JavaScript clients read it exactly.
fn random_seed() -> Option<u64> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(u64::from_le_bytes(bytes) >> 11)
}

/// One criterion's score at one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Score {
    /// From 0 to the criterion's weight.
    pub score: f64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(required = false)]
    pub note: String,
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// A drawn point with its checklist and the scores recorded so far (by criterion id).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = AssessmentItem)]
pub struct Item {
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub district: String,
    pub unit: Option<String>,
    pub grid_code: Option<String>,
    pub lon: f64,
    pub lat: f64,
    #[schema(value_type = Vec<crate::domain::patrol::CriterionSchema>)]
    pub checklist: Vec<Criterion>,
    pub scores: BTreeMap<String, Score>,
}

/// A mock assessment as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub id: i64,
    pub spec: Spec,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub items: Vec<Item>,
}

/// The district a point belongs to: the 6-digit prefix of its grid code (`unrouted` without one).
pub fn district_of(grid_code: Option<&str>) -> String {
    match grid_code {
        Some(code) if code.len() >= 6 && code.is_char_boundary(6) => code[..6].to_string(),
        Some(code) => code.to_string(),
        None => "unrouted".to_string(),
    }
}

/// Draws the sample for `spec` from the points within `area`, in stratum order.
pub fn sample(points: &[StoredPoint], area: &Area, spec: &Spec) -> Vec<Item> {
    let eligible: Vec<&StoredPoint> = points
        .iter()
        .filter(|p| area.sees_point(p))
        .filter(|p| spec.districts.is_empty() || spec.districts.contains(&district_of(p.grid_code.as_deref())))
        .collect();
    let candidates: Vec<Candidate> = eligible
        .iter()
        .map(|p| Candidate {
            code: p.code.clone(),
            kind: p.kind.clone(),
            district: district_of(p.grid_code.as_deref()),
        })
        .collect();
    let quota = Quota { total: spec.n, per_type: spec.per_type.clone() };
    draw::draw(&candidates, &quota, spec.seed)
        .into_iter()
        .map(|i| {
            let p = eligible[i];
            let centre = p.geometry.centroid().map_or((0.0, 0.0), |c| (c.x(), c.y()));
            Item {
                code: p.code.clone(),
                name: p.name.clone(),
                kind: p.kind.clone(),
                district: candidates[i].district.clone(),
                unit: p.responsible_unit.clone(),
                grid_code: p.grid_code.clone(),
                lon: centre.0,
                lat: centre.1,
                checklist: checklist::for_point(&p.kind, &p.criteria),
                scores: BTreeMap::new(),
            }
        })
        .collect()
}

/// A score as sent: a number of points, or pass/fail (the full weight or nothing).
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreInput {
    pub point: String,
    pub criterion: String,
    /// 0 to the criterion's weight.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub score: Option<f64>,
    /// Instead of score: the full weight or nothing.
    #[serde(default)]
    pub pass: Option<bool>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// One recorded score: (point code, criterion id, score).
pub type Scored = (String, String, Score);

/// A score that cannot be recorded: its place in the list, the field at fault and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreFault {
    pub index: usize,
    pub field: &'static str,
    pub reason: String,
}

/// Checks scores against the assessment's checklists: every fault is named by its place in the
/// list and its field, and any fault rejects them all.
pub fn check_scores(
    assessment: &Assessment,
    inputs: Vec<ScoreInput>,
    by: &str,
    at: OffsetDateTime,
) -> Result<Vec<Scored>, Vec<ScoreFault>> {
    let mut faults = Vec::new();
    let mut scored = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (index, s) in inputs.into_iter().enumerate() {
        let mut fault = |field, reason: String| faults.push(ScoreFault { index, field, reason });
        let Some(item) = assessment.items.iter().find(|i| i.code == s.point) else {
            fault("point", format!("{:?} was not drawn in this assessment", s.point));
            continue;
        };
        let Some(criterion) = item.checklist.iter().find(|c| c.id == s.criterion) else {
            fault("criterion", format!("{:?} is not on the checklist of {}", s.criterion, s.point));
            continue;
        };
        if !seen.insert((s.point.clone(), s.criterion.clone())) {
            fault("criterion", format!("{} {} is scored twice", s.point, s.criterion));
            continue;
        }
        let value = match (s.score, s.pass) {
            (Some(v), None) if v.is_finite() && (0.0..=criterion.weight).contains(&v) => v,
            (Some(v), None) => {
                fault("score", format!("{v} is not between 0 and the weight {}", criterion.weight));
                continue;
            }
            (None, Some(pass)) => {
                if pass {
                    criterion.weight
                } else {
                    0.0
                }
            }
            _ => {
                fault("score", "give either score or pass".into());
                continue;
            }
        };
        if s.note.chars().count() > 2000 || s.note.contains('\0') {
            fault("note", "must be text of at most 2000 characters".into());
            continue;
        }
        scored.push((s.point, s.criterion, Score { score: value, note: s.note.trim().to_string(), by: by.into(), at }));
    }
    if faults.is_empty() {
        Ok(scored)
    } else {
        Err(faults)
    }
}

/// Scores and possible points of a group of drawn points. The rate counts the scored criteria
/// only, so a half-finished assessment already shows where it stands; `scored` of `criteria`
/// says how far it has come.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub group: String,
    pub points: usize,
    pub criteria: usize,
    pub scored: usize,
    pub score: f64,
    pub possible: f64,
    /// 得分率: score / possible, `None` until something is scored.
    pub rate: Option<f64>,
}

impl Rate {
    fn of<'a>(group: String, items: impl Iterator<Item = &'a Item>) -> Self {
        let mut r = Rate { group, points: 0, criteria: 0, scored: 0, score: 0.0, possible: 0.0, rate: None };
        for item in items {
            r.points += 1;
            r.criteria += item.checklist.len();
            for c in &item.checklist {
                if let Some(s) = item.scores.get(&c.id) {
                    r.scored += 1;
                    r.score += s.score;
                    r.possible += c.weight;
                }
            }
        }
        r.rate = (r.possible > 0.0).then(|| r.score / r.possible);
        r
    }
}

/// The score rates overall and per type, unit and district, lowest rate first within each.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = AssessmentReport)]
pub struct Report {
    pub overall: Rate,
    pub by_type: Vec<Rate>,
    pub by_unit: Vec<Rate>,
    pub by_district: Vec<Rate>,
}

impl Assessment {
    pub fn report(&self) -> Report {
        let group = |key: &dyn Fn(&Item) -> String| {
            let mut groups: BTreeMap<String, Vec<&Item>> = BTreeMap::new();
            for item in &self.items {
                groups.entry(key(item)).or_default().push(item);
            }
            let mut rates: Vec<Rate> = groups.into_iter().map(|(g, items)| Rate::of(g, items.into_iter())).collect();
            // The weakest first: that is where the office sends people.
            rates.sort_by(|a, b| a.rate.unwrap_or(2.0).total_cmp(&b.rate.unwrap_or(2.0)).then(a.group.cmp(&b.group)));
            rates
        };
        Report {
            overall: Rate::of("overall".into(), self.items.iter()),
            by_type: group(&|i| i.kind.clone()),
            by_unit: group(&|i| i.unit.clone().unwrap_or_else(|| "(none)".into())),
            by_district: group(&|i| i.district.clone()),
        }
    }

    /// Every grid the drawn points lie in: a caller sees the assessment only when its area
    /// holds all of them.
    pub fn visible_to(&self, area: &Area) -> bool {
        self.items.iter().all(|i| area.sees(i.grid_code.as_deref(), i.unit.as_deref(), None))
    }

    /// XLSX for the office: a summary sheet (得分率 overall, per type, unit and district) and
    /// a detail sheet with every criterion of every drawn point.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, String> {
        use rust_xlsxwriter::{Format, Workbook};
        let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
        let report = self.report();
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let percent = Format::new().set_num_format("0.00%");
        let summary = book.add_worksheet();
        summary.set_name("得分率").map_err(e)?;
        summary
            .write_string_with_format(0, 0, format!("模拟测评 {} (seed {})", self.spec.name, self.spec.seed), &bold)
            .map_err(e)?;
        let headers = [
            "分组 by",
            "组 group",
            "点位 points",
            "测评项 criteria",
            "已评 scored",
            "得分 score",
            "应得 possible",
            "得分率 rate",
        ];
        for (c, h) in headers.iter().enumerate() {
            summary.write_string_with_format(2, c as u16, *h, &bold).map_err(e)?;
        }
        let sections = [
            ("总体 overall", std::slice::from_ref(&report.overall)),
            ("类型 type", &report.by_type[..]),
            ("单位 unit", &report.by_unit[..]),
            ("区 district", &report.by_district[..]),
        ];
        let mut row = 3u32;
        for (label, rates) in sections {
            for r in rates {
                summary.write_string(row, 0, label).map_err(e)?;
                summary.write_string(row, 1, &r.group).map_err(e)?;
                for (c, v) in
                    [(2, r.points as f64), (3, r.criteria as f64), (4, r.scored as f64), (5, r.score), (6, r.possible)]
                {
                    summary.write_number(row, c, v).map_err(e)?;
                }
                if let Some(rate) = r.rate {
                    summary.write_number_with_format(row, 7, rate, &percent).map_err(e)?;
                }
                row += 1;
            }
        }
        let detail = book.add_worksheet();
        detail.set_name("明细").map_err(e)?;
        let headers = [
            "点位 code",
            "名称 name",
            "类型 type",
            "区 district",
            "单位 unit",
            "网格 grid",
            "测评项 criterion",
            "标准 text",
            "分值 weight",
            "得分 score",
            "说明 note",
            "评分人 by",
            "时间 at",
        ];
        for (c, h) in headers.iter().enumerate() {
            detail.write_string_with_format(0, c as u16, *h, &bold).map_err(e)?;
        }
        let mut row = 1u32;
        for item in &self.items {
            for c in &item.checklist {
                let texts = [&item.code, &item.name, &item.kind, &item.district];
                for (col, t) in texts.iter().enumerate() {
                    detail.write_string(row, col as u16, *t).map_err(e)?;
                }
                detail.write_string(row, 4, item.unit.as_deref().unwrap_or("")).map_err(e)?;
                detail.write_string(row, 5, item.grid_code.as_deref().unwrap_or("")).map_err(e)?;
                detail.write_string(row, 6, &c.id).map_err(e)?;
                detail.write_string(row, 7, &c.text).map_err(e)?;
                detail.write_number(row, 8, c.weight).map_err(e)?;
                if let Some(s) = item.scores.get(&c.id) {
                    detail.write_number(row, 9, s.score).map_err(e)?;
                    detail.write_string(row, 10, &s.note).map_err(e)?;
                    detail.write_string(row, 11, &s.by).map_err(e)?;
                    detail.write_string(row, 12, crate::domain::clock::rfc3339(s.at)).map_err(e)?;
                }
                row += 1;
            }
        }
        book.save_to_buffer().map_err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, kind: &str, unit: &str, scores: &[(&str, f64)]) -> Item {
        let checklist = checklist::standard(kind);
        let at = OffsetDateTime::UNIX_EPOCH;
        Item {
            code: code.into(),
            name: code.into(),
            kind: kind.into(),
            district: "110101".into(),
            unit: Some(unit.into()),
            grid_code: Some("110101001001001".into()),
            lon: 116.4,
            lat: 39.9,
            checklist,
            scores: scores
                .iter()
                .map(|&(c, s)| (c.to_string(), Score { score: s, note: String::new(), by: "x".into(), at }))
                .collect(),
        }
    }

    fn assessment(items: Vec<Item>) -> Assessment {
        Assessment {
            id: 1,
            spec: Spec { name: "t".into(), n: items.len(), seed: 1, per_type: BTreeMap::new(), districts: vec![] },
            created_by: "office".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            items,
        }
    }

    #[test]
    fn score_rates_count_scored_criteria_per_group() {
        let a = assessment(vec![
            item("A", "market", "u1", &[("MK1", 1.0), ("MK2", 0.0), ("MK3", 0.5)]),
            item("B", "public_toilet", "u2", &[("PT1", 1.0), ("PT2", 1.0)]),
        ]);
        let r = a.report();
        assert_eq!((r.overall.points, r.overall.criteria, r.overall.scored), (2, 10, 5));
        assert!((r.overall.rate.unwrap_or(0.0) - 3.5 / 5.0).abs() < 1e-12);
        assert_eq!(r.by_type[0].group, "market", "the weakest type first");
        assert!((r.by_type[0].rate.unwrap_or(0.0) - 0.5).abs() < 1e-12);
        assert_eq!(r.by_unit[1].rate, Some(1.0));
    }

    #[test]
    fn scores_are_checked_against_the_checklist() {
        let a = assessment(vec![item("A", "market", "u1", &[])]);
        let at = OffsetDateTime::UNIX_EPOCH;
        let input = |point: &str, criterion: &str, score: Option<f64>, pass: Option<bool>| ScoreInput {
            point: point.into(),
            criterion: criterion.into(),
            score,
            pass,
            note: String::new(),
        };
        let ok =
            check_scores(&a, vec![input("A", "MK1", Some(0.5), None), input("A", "MK2", None, Some(true))], "x", at)
                .expect("valid");
        assert_eq!((ok[0].2.score, ok[1].2.score), (0.5, 1.0));
        let faults = check_scores(
            &a,
            vec![
                input("B", "MK1", Some(1.0), None),
                input("A", "ZZ", Some(1.0), None),
                input("A", "MK1", Some(1.5), None),
                input("A", "MK2", None, None),
                input("A", "MK3", Some(f64::NAN), None),
            ],
            "x",
            at,
        )
        .expect_err("faults");
        let places: Vec<(usize, &str)> = faults.iter().map(|f| (f.index, f.field)).collect();
        assert_eq!(places, [(0, "point"), (1, "criterion"), (2, "score"), (3, "score"), (4, "score")]);
        assert!(faults[2].reason.contains("weight 1"), "{faults:?}");
    }
}
