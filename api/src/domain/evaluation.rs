//! Evaluation (实绩考核) of areas, units and posts (each grid officer) over a week, month, quarter
//! or year: the figures each is judged by, one weighted score out of 100, a grade from the city's
//! bands, and a ranking. The weights and bands are the city's (`--evaluation-rules FILE.json`).
//!
//! - An **area** (a street) is scored by the case indicators' weighted score (docs/workflow.md).
//! - A **unit** by that score and the share of its letters (督办函) answered on time.
//! - A **post** by 核实 on time, 核查 on time, patrol coverage of its assessment points, and its
//!   reporting rate: its valid reports against the problems in its grids others found first (漏报).
//!
//! A part with nothing to judge (no letters, no points) is left out of the weighted mean rather
//! than counted as full or empty marks; a row with no part at all has no score and no rank.

use crate::domain::indicators::{Counts, Rates};
use serde::{Deserialize, Serialize};

/// What the rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EvaluateBy {
    /// Streets (街道).
    Area,
    /// Responsible units (责任单位).
    Unit,
    /// Posts: each grid officer (网格员).
    Post,
}

impl EvaluateBy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "area" => Some(Self::Area),
            "unit" => Some(Self::Unit),
            "post" => Some(Self::Post),
            _ => None,
        }
    }
}

/// A grade band: scores at or above `min` earn it (the highest band that fits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub min: f64,
    /// 优秀, 良好, 合格, 不合格 …
    pub grade: String,
    /// How the office's screen colours it (a CSS colour).
    pub colour: String,
}

/// Weights of a unit's parts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnitWeights {
    pub cases: f64,
    pub letters: f64,
}

impl Default for UnitWeights {
    fn default() -> Self {
        Self { cases: 80.0, letters: 20.0 }
    }
}

/// Weights of a post's parts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostWeights {
    pub confirm: f64,
    pub verify: f64,
    pub coverage: f64,
    pub reporting: f64,
}

impl Default for PostWeights {
    fn default() -> Self {
        Self { confirm: 25.0, verify: 25.0, coverage: 25.0, reporting: 25.0 }
    }
}

/// The city's evaluation rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluationRules {
    pub unit: UnitWeights,
    pub post: PostWeights,
    pub bands: Vec<Band>,
}

impl Default for EvaluationRules {
    fn default() -> Self {
        let band = |min: f64, grade: &str, colour: &str| Band { min, grade: grade.into(), colour: colour.into() };
        Self {
            unit: UnitWeights::default(),
            post: PostWeights::default(),
            bands: vec![
                band(90.0, "优秀", "#2e7d32"),
                band(80.0, "良好", "#1e6fd9"),
                band(60.0, "合格", "#e6a700"),
                band(0.0, "不合格", "#d7263d"),
            ],
        }
    }
}

impl EvaluationRules {
    pub fn from_json(text: &str) -> Result<Self, String> {
        let rules: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let weights = [rules.unit.cases, rules.unit.letters, rules.post.confirm, rules.post.verify]
            .into_iter()
            .chain([rules.post.coverage, rules.post.reporting]);
        if weights.into_iter().any(|w| !w.is_finite() || w < 0.0) {
            return Err("weights must be numbers of 0 or more".into());
        }
        if rules.unit.cases + rules.unit.letters <= 0.0 {
            return Err("unit: at least one weight must be above 0".into());
        }
        if rules.post.confirm + rules.post.verify + rules.post.coverage + rules.post.reporting <= 0.0 {
            return Err("post: at least one weight must be above 0".into());
        }
        if rules.bands.is_empty() || rules.bands.iter().any(|b| !b.min.is_finite() || b.grade.trim().is_empty()) {
            return Err("bands: give at least one band, each with a finite min and a grade".into());
        }
        Ok(rules)
    }

    /// The band a score falls in: the one with the highest `min` at or below it.
    pub fn band(&self, score: f64) -> Option<&Band> {
        self.bands.iter().filter(|b| score >= b.min).max_by(|a, b| a.min.total_cmp(&b.min))
    }
}

/// The weighted mean (0–100) of the parts that have a value (each a share, 0–1).
pub fn weighted(parts: &[(f64, Option<f64>)]) -> Option<f64> {
    let (sum, weight) =
        parts.iter().filter_map(|(w, v)| v.map(|v| (w * v, *w))).fold((0.0, 0.0), |(s, t), (x, w)| (s + x, t + w));
    (weight > 0.0).then(|| 100.0 * sum / weight)
}

/// A share, when there is something to share.
pub fn share(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

/// A unit's letters in the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LetterCounts {
    /// Letters issued to it in the period.
    pub issued: u32,
    /// Of those, due: answered, or past their day (a letter still within its time is not judged).
    pub due: u32,
    /// Of those, answered (by now or the end of the period).
    pub answered: u32,
    /// Of those, answered by their day.
    pub answered_on_time: u32,
}

/// A post's (grid officer's) figures in the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PostCounts {
    /// 有效上报: problems it reported that were not voided.
    pub valid_reports: u32,
    /// 漏报: problems in its grids found first by others (citizens, the hotline, rounds, assessors).
    pub missed: u32,
    /// Of the missed, those found by supervision rounds (督查) — the findings against the post.
    pub findings: u32,
    /// 应核实 / 按时核实: reports in its grids sent to be confirmed on site, and confirmed in time.
    pub to_confirm: u32,
    pub confirmed_on_time: u32,
    /// 应核查 / 按时核查: fixes in its grids to check, and checked within the on-site limit.
    pub to_verify: u32,
    pub verified_on_time: u32,
    /// Assessment points in its grids, and those it inspected in the period.
    pub points: u32,
    pub points_inspected: u32,
}

impl PostCounts {
    /// The four shares a post is scored on: 核实, 核查, coverage, reporting.
    pub fn shares(&self) -> [Option<f64>; 4] {
        [
            share(self.confirmed_on_time, self.to_confirm),
            share(self.verified_on_time, self.to_verify),
            share(self.points_inspected, self.points),
            share(self.valid_reports, self.valid_reports + self.missed),
        ]
    }

    pub fn score(&self, w: &PostWeights) -> Option<f64> {
        let [confirm, verify, coverage, reporting] = self.shares();
        weighted(&[(w.confirm, confirm), (w.verify, verify), (w.coverage, coverage), (w.reporting, reporting)])
    }
}

/// One row of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = EvaluationRow)]
pub struct Row {
    /// A street's code, a unit's name, an officer's user name.
    pub key: String,
    pub name: Option<String>,
    /// Place in the ranking (1 = best); rows with no score are not ranked.
    pub rank: Option<usize>,
    /// Out of 100.
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub colour: Option<String>,
    /// Areas and units: the case indicators.
    pub cases: Option<Counts>,
    pub rates: Option<Rates>,
    /// Units: their letters.
    pub letters: Option<LetterCounts>,
    /// Posts: their figures.
    pub post: Option<PostCounts>,
}

impl Row {
    pub fn new(key: String, name: Option<String>, score: Option<f64>) -> Self {
        Self {
            key,
            name,
            rank: None,
            score,
            grade: None,
            colour: None,
            cases: None,
            rates: None,
            letters: None,
            post: None,
        }
    }
}

/// Ranks rows by score (best first, then by key) and grades them.
pub fn rank(rows: &mut [Row], rules: &EvaluationRules) {
    rows.sort_by(|a, b| {
        let score = |r: &Row| r.score.unwrap_or(f64::NEG_INFINITY);
        score(b).total_cmp(&score(a)).then_with(|| a.key.cmp(&b.key))
    });
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = row.score.map(|_| i + 1);
        if let Some(band) = row.score.and_then(|s| rules.band(s)) {
            row.grade = Some(band.grade.clone());
            row.colour = Some(band.colour.clone());
        }
    }
}

/// A unit's score: its case score and its letters answered on time.
pub fn unit_score(rates: Option<&Rates>, letters: &LetterCounts, w: &UnitWeights) -> Option<f64> {
    weighted(&[(w.cases, rates.map(|r| r.score / 100.0)), (w.letters, share(letters.answered_on_time, letters.due))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_with_nothing_to_judge_are_left_out() {
        assert_eq!(weighted(&[(80.0, Some(0.5)), (20.0, None)]), Some(50.0));
        assert_eq!(weighted(&[(80.0, Some(0.5)), (20.0, Some(1.0))]), Some(60.0));
        assert_eq!(weighted(&[(80.0, None), (20.0, None)]), None);
        // A post: 3 of 4 confirmations on time, 1 of 2 checks, 5 of 10 points, 6 reports and 2 missed.
        let post = PostCounts {
            valid_reports: 6,
            missed: 2,
            findings: 1,
            to_confirm: 4,
            confirmed_on_time: 3,
            to_verify: 2,
            verified_on_time: 1,
            points: 10,
            points_inspected: 5,
        };
        // (0.75 + 0.5 + 0.5 + 0.75) / 4 = 0.625
        assert_eq!(post.score(&PostWeights::default()), Some(62.5));
        assert_eq!(PostCounts::default().score(&PostWeights::default()), None);
    }

    #[test]
    fn bands_and_ranks() {
        let rules = EvaluationRules::default();
        let mut rows = vec![
            Row::new("b".into(), None, Some(85.0)),
            Row::new("a".into(), None, None),
            Row::new("c".into(), None, Some(95.0)),
            Row::new("d".into(), None, Some(59.99)),
        ];
        rank(&mut rows, &rules);
        let ranked: Vec<(&str, Option<usize>, Option<&str>)> =
            rows.iter().map(|r| (r.key.as_str(), r.rank, r.grade.as_deref())).collect();
        assert_eq!(
            ranked,
            [
                ("c", Some(1), Some("优秀")),
                ("b", Some(2), Some("良好")),
                ("d", Some(3), Some("不合格")),
                ("a", None, None)
            ]
        );
    }

    #[test]
    fn rules_from_a_file_are_checked() {
        let rules = EvaluationRules::from_json(
            r#"{"unit": {"cases": 70, "letters": 30}, "bands": [{"min": 0, "grade": "达标", "colour": "green"}]}"#,
        )
        .expect("rules");
        assert_eq!((rules.unit.letters, rules.post.confirm, rules.bands.len()), (30.0, 25.0, 1));
        assert!(EvaluationRules::from_json(r#"{"unit": {"cases": -1}}"#).is_err());
        assert!(EvaluationRules::from_json(r#"{"bands": []}"#).is_err());
        assert!(EvaluationRules::from_json(r#"{"post": {"confirm": 0, "verify": 0, "coverage": 0, "reporting": 0}}"#)
            .is_err());
        assert!(EvaluationRules::from_json(r#"{"weights": {}}"#).is_err());
    }
}
