//! The 督查通报 of a round: the numbers of its ledger written out as the office publishes them —
//! a title numbered by the round, the office's foreword, one computed paragraph, the units ranked,
//! the points, the findings still open, the letters (督办函) sent over its cases, and what the round
//! before left open — as JSON, as HTML that prints on A4, and as XLSX. No number is typed in.

use crate::app::print::{a4_page, escape};
use crate::domain::clock::iso_date;
use crate::domain::letters::{Letter, LetterStatus};
use crate::domain::supervision::NO_POINT;
use crate::domain::supervision::{Ledger, LedgerItem, LedgerRow, Round, Standing, Tally};
use serde::Serialize;
use time::Date;

/// A unit's line: its counts and its rectification rate (整改率).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UnitLine {
    pub unit: String,
    #[serde(flatten)]
    pub tally: Tally,
    /// Rectified of the findings that held (found less voided); null when none held.
    pub rate: Option<f64>,
}

/// A round's bulletin (督查通报).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RoundBulletin {
    /// 督查通报（2026年第3期）
    pub title: String,
    pub round: Round,
    /// The day the numbers stand at.
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    /// Assessment points checked: those the round chose, else those findings were made at.
    pub points_checked: usize,
    /// The paragraph that opens the bulletin, from the numbers.
    pub summary: String,
    pub total: Tally,
    /// Ranked: the highest rectification rate first, then the fewest open findings.
    pub units: Vec<UnitLine>,
    pub points: Vec<LedgerRow>,
    /// The findings not yet rectified, overdue first.
    pub open: Vec<LedgerItem>,
    /// The office's foreword (前言), as it wrote it.
    pub foreword: Option<String>,
    /// The letters sent over the round's cases.
    pub letters: Vec<LetterLine>,
    /// The findings the round before left open (上期未整改), when the caller may see that round.
    pub last_round: Option<LastRound>,
    /// The points with the most findings not rectified (问题较多点位), with their cases' photos
    /// before and after the fix.
    pub worst_points: Vec<WorstPoint>,
}

/// How many of the worst points a bulletin shows.
pub const WORST_POINTS: usize = 3;

/// A point among the worst, and its findings' cases with their photos.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorstPoint {
    pub point: String,
    #[serde(flatten)]
    pub tally: Tally,
    pub cases: Vec<BeforeAfter>,
}

/// A case's first photo as reported (整改前) and its first of the fix (整改后), by SHA-256
/// (`GET /api/v1/photos/{sha256}?size=thumb`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BeforeAfter {
    pub case: i64,
    pub description: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A letter (督办函) sent over some of the round's cases.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LetterLine {
    pub label: String,
    pub unit: String,
    pub status: LetterStatus,
    /// The round's cases it names.
    pub cases: Vec<i64>,
}

/// What the round before left open.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LastRound {
    /// 督查通报（2026年第2期）
    pub title: String,
    pub open: Vec<LedgerItem>,
}

/// The findings of a ledger not yet rectified (withheld ones too), overdue first.
fn still_open(items: Vec<LedgerItem>) -> Vec<LedgerItem> {
    let mut open: Vec<LedgerItem> =
        items.into_iter().filter(|i| matches!(i.standing, Standing::NotRectified | Standing::Withheld)).collect();
    open.sort_by_key(|i| (!i.overdue, i.finding.id));
    open
}

fn rate(t: &Tally) -> Option<f64> {
    let held = t.found.saturating_sub(t.voided);
    (held > 0).then(|| f64::from(t.rectified) / f64::from(held))
}

fn percent(r: Option<f64>) -> String {
    r.map_or("—".into(), |r| format!("{:.1}%", r * 100.0))
}

impl RoundBulletin {
    /// The bulletin of `ledger` as it stands on `as_of`; `area` names the round's area as people
    /// say it (东城区, or 全市).
    pub fn of(ledger: Ledger, as_of: Date, area: &str) -> Self {
        let round = ledger.round;
        let points_checked = if round.points.is_empty() {
            let at: std::collections::BTreeSet<&str> =
                ledger.items.iter().filter_map(|i| i.finding.point_code.as_deref()).collect();
            at.len()
        } else {
            round.points.len()
        };
        let t = ledger.total;
        let summary = format!(
            "{}至{}，对{}开展{}督查，共检查点位{}个，发现问题{}个。截至{}，已整改{}个，未整改{}个（其中超期{}个），不属实{}个，整改率{}。",
            round.starts_on,
            round.ends_on,
            area,
            round.kind.zh(),
            points_checked,
            t.found,
            as_of,
            t.rectified,
            t.not_rectified,
            t.overdue,
            t.voided,
            percent(rate(&t)),
        );
        let mut units: Vec<UnitLine> = ledger
            .by_unit
            .into_iter()
            .map(|r| UnitLine { rate: rate(&r.tally), unit: r.key, tally: r.tally })
            .collect();
        units.sort_by(|a, b| {
            b.rate
                .unwrap_or(-1.0)
                .total_cmp(&a.rate.unwrap_or(-1.0))
                .then(a.tally.not_rectified.cmp(&b.tally.not_rectified))
                .then_with(|| a.unit.cmp(&b.unit))
        });
        let open = still_open(ledger.items);
        Self {
            title: format!("督查通报（{}）", round.label()),
            foreword: round.foreword.clone(),
            letters: Vec::new(),
            last_round: None,
            worst_points: Vec::new(),
            round,
            as_of,
            points_checked,
            summary,
            total: t,
            units,
            points: ledger.by_point,
            open,
        }
    }

    /// Adds the letters naming any of `ours`, the round's cases.
    pub fn with_letters(mut self, letters: Vec<Letter>, ours: &std::collections::BTreeSet<i64>) -> Self {
        self.letters = letters
            .into_iter()
            .filter_map(|l| {
                let cases: Vec<i64> = l.cases.iter().map(|c| c.id).filter(|id| ours.contains(id)).collect();
                (!cases.is_empty()).then_some(LetterLine { label: l.label, unit: l.unit, status: l.status, cases })
            })
            .collect();
        self
    }

    /// The worst points of the round: those with findings not rectified, most first (then most
    /// found), at most [`WORST_POINTS`], each with the cases of its findings (their photos left
    /// for the caller to find).
    pub fn worst(points: &[LedgerRow], items: &[LedgerItem]) -> Vec<WorstPoint> {
        let mut worst: Vec<&LedgerRow> =
            points.iter().filter(|p| p.tally.not_rectified > 0 && p.key != NO_POINT).collect();
        worst.sort_by(|a, b| {
            (b.tally.not_rectified, b.tally.found).cmp(&(a.tally.not_rectified, a.tally.found)).then(a.key.cmp(&b.key))
        });
        worst
            .into_iter()
            .take(WORST_POINTS)
            .map(|p| {
                let cases = items
                    .iter()
                    .filter(|i| i.finding.point_code.as_deref() == Some(p.key.as_str()))
                    .filter_map(|i| i.finding.problem_id.map(|case| (case, i.finding.description.clone())))
                    .map(|(case, description)| BeforeAfter { case, description, before: None, after: None })
                    .collect();
                WorstPoint { point: p.key.clone(), tally: p.tally, cases }
            })
            .collect()
    }

    /// Adds the worst points with their cases' photos.
    pub fn with_worst_points(mut self, worst: Vec<WorstPoint>) -> Self {
        self.worst_points = worst;
        self
    }

    /// Adds what the round before left open, from its ledger.
    pub fn with_last_round(mut self, ledger: Ledger) -> Self {
        let title = format!("督查通报（{}）", ledger.round.label());
        self.last_round = Some(LastRound { title, open: still_open(ledger.items) });
        self
    }

    /// One page to print (A4): the title, the paragraph, the tables, and the worst points with
    /// their photos, embedded (`thumbnails`: JPEG bytes by SHA-256) so that the page stands alone.
    pub fn to_html(&self, thumbnails: &std::collections::HashMap<String, Vec<u8>>) -> String {
        let e = escape;
        let counts = |t: &Tally| {
            format!(
                "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                t.found, t.rectified, t.not_rectified, t.overdue, t.voided
            )
        };
        let head = "<th>发现</th><th>已整改</th><th>未整改</th><th>超期</th><th>不属实</th>";
        let units: String = self
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                format!(
                    "<tr><td>{}</td><td>{}</td>{}<td>{}</td></tr>",
                    i + 1,
                    e(&u.unit),
                    counts(&u.tally),
                    percent(u.rate)
                )
            })
            .collect();
        let points: String =
            self.points.iter().map(|p| format!("<tr><td>{}</td>{}</tr>", e(&p.key), counts(&p.tally))).collect();
        let open_rows = |items: &[LedgerItem]| -> String {
            items
                .iter()
                .map(|i| {
                    format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        i.finding.problem_id.map_or("—".into(), |id| format!("#{id}")),
                        e(i.finding.point_code.as_deref().unwrap_or("—")),
                        e(&i.finding.description),
                        e(i.unit.as_deref().unwrap_or("—")),
                        if i.overdue { "超期未整改" } else { "未整改" },
                    )
                })
                .collect()
        };
        let open = open_rows(&self.open);
        let letters: String = self
            .letters
            .iter()
            .map(|l| {
                let cases: Vec<String> = l.cases.iter().map(|c| format!("#{c}")).collect();
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    e(&l.label),
                    e(&l.unit),
                    cases.join("、"),
                    l.status.zh()
                )
            })
            .collect();
        let last = match &self.last_round {
            Some(last) => format!(
                "<h2>五、上期未整改问题（{}）</h2>\n<table id=\"last-round\"><tr><th>案件</th><th>点位</th><th>问题</th><th>责任单位</th><th>状态</th></tr>{}</table>\n",
                e(&last.title),
                open_rows(&last.open)
            ),
            None => String::new(),
        };
        let picture = |sha: &Option<String>, caption: &str| {
            match sha.as_ref().and_then(|s| thumbnails.get(s)) {
            Some(bytes) => format!(
                "<figure><img alt=\"{caption}\" src=\"data:image/jpeg;base64,{}\"><figcaption>{caption}</figcaption></figure>",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
            ),
            None => format!("<figure class=\"none\"><figcaption>{caption}：无照片</figcaption></figure>"),
        }
        };
        let worst: String = self
            .worst_points
            .iter()
            .map(|p| {
                let cases: String = p
                    .cases
                    .iter()
                    .map(|c| {
                        format!(
                            "<div class=\"pair\"><p>#{} {}</p>{}{}</div>",
                            c.case,
                            e(&c.description),
                            picture(&c.before, "整改前"),
                            picture(&c.after, "整改后")
                        )
                    })
                    .collect();
                format!("<h3>{}（未整改{}个，发现{}个）</h3>{cases}", e(&p.point), p.tally.not_rectified, p.tally.found)
            })
            .collect();
        let worst = if worst.is_empty() {
            String::new()
        } else {
            format!("<h2>六、问题较多点位</h2>\n<div id=\"worst-points\">{worst}</div>\n")
        };
        let foreword = self.foreword.as_deref().map_or(String::new(), |f| format!("<p id=\"foreword\">{}</p>\n", e(f)));
        let body = format!(
            "<p class=\"name\">{name}</p>\n{foreword}<p id=\"summary\">{summary}</p>\n\
             <h2>一、各责任单位整改情况</h2>\n<table id=\"units\"><tr><th>排名</th><th>责任单位</th>{head}<th>整改率</th></tr>{units}</table>\n\
             <h2>二、各点位问题情况</h2>\n<table id=\"points\"><tr><th>点位</th>{head}</tr>{points}</table>\n\
             <h2>三、未整改问题清单</h2>\n<table id=\"open\"><tr><th>案件</th><th>点位</th><th>问题</th><th>责任单位</th><th>状态</th></tr>{open}</table>\n\
             <h2>四、督办函</h2>\n<table id=\"letters\"><tr><th>文号</th><th>责任单位</th><th>案件</th><th>状态</th></tr>{letters}</table>\n{last}{worst}",
            name = e(&self.round.name),
            summary = e(&self.summary),
        );
        a4_page(&self.title, &body)
    }

    /// The same as a workbook: the paragraph, then a sheet per table.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, String> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let fail = |e: rust_xlsxwriter::XlsxError| e.to_string();
        let sheet = book.add_worksheet().set_name("通报").map_err(fail)?;
        sheet.write_string_with_format(0, 0, &self.title, &bold).map_err(fail)?;
        sheet.write_string(1, 0, &self.round.name).map_err(fail)?;
        sheet.write_string(2, 0, &self.summary).map_err(fail)?;
        if let Some(foreword) = &self.foreword {
            sheet.write_string(3, 0, foreword).map_err(fail)?;
        }
        let counts = ["发现", "已整改", "未整改", "超期", "不属实"];
        let numbers = |t: &Tally| [t.found, t.rectified, t.not_rectified, t.overdue, t.voided];
        let sheet = book.add_worksheet().set_name("各单位").map_err(fail)?;
        for (c, h) in ["排名", "责任单位"].iter().chain(&counts).chain(&["整改率"]).enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(fail)?;
        }
        for (r, u) in self.units.iter().enumerate() {
            let r = r as u32 + 1;
            sheet.write_number(r, 0, f64::from(r)).map_err(fail)?;
            sheet.write_string(r, 1, &u.unit).map_err(fail)?;
            for (c, n) in numbers(&u.tally).into_iter().enumerate() {
                sheet.write_number(r, c as u16 + 2, f64::from(n)).map_err(fail)?;
            }
            if let Some(rate) = u.rate {
                sheet.write_number(r, 7, rate).map_err(fail)?;
            }
        }
        let sheet = book.add_worksheet().set_name("各点位").map_err(fail)?;
        for (c, h) in ["点位"].iter().chain(&counts).enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(fail)?;
        }
        for (r, p) in self.points.iter().enumerate() {
            let r = r as u32 + 1;
            sheet.write_string(r, 0, &p.key).map_err(fail)?;
            for (c, n) in numbers(&p.tally).into_iter().enumerate() {
                sheet.write_number(r, c as u16 + 1, f64::from(n)).map_err(fail)?;
            }
        }
        let open_sheet = |book: &mut rust_xlsxwriter::Workbook, name: &str, items: &[LedgerItem]| {
            let sheet = book.add_worksheet().set_name(name)?;
            for (c, h) in ["案件", "点位", "问题", "责任单位", "状态"].iter().enumerate() {
                sheet.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            for (r, i) in items.iter().enumerate() {
                let r = r as u32 + 1;
                if let Some(id) = i.finding.problem_id {
                    sheet.write_number(r, 0, id as f64)?;
                }
                sheet.write_string(r, 1, i.finding.point_code.as_deref().unwrap_or("—"))?;
                sheet.write_string(r, 2, &i.finding.description)?;
                sheet.write_string(r, 3, i.unit.as_deref().unwrap_or("—"))?;
                sheet.write_string(r, 4, if i.overdue { "超期未整改" } else { "未整改" })?;
            }
            Ok::<(), rust_xlsxwriter::XlsxError>(())
        };
        open_sheet(&mut book, "未整改问题", &self.open).map_err(fail)?;
        let sheet = book.add_worksheet().set_name("督办函").map_err(fail)?;
        for (c, h) in ["文号", "责任单位", "案件", "状态"].iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(fail)?;
        }
        for (r, l) in self.letters.iter().enumerate() {
            let r = r as u32 + 1;
            let cases: Vec<String> = l.cases.iter().map(|c| format!("#{c}")).collect();
            sheet.write_string(r, 0, &l.label).map_err(fail)?;
            sheet.write_string(r, 1, &l.unit).map_err(fail)?;
            sheet.write_string(r, 2, cases.join("、")).map_err(fail)?;
            sheet.write_string(r, 3, l.status.zh()).map_err(fail)?;
        }
        if let Some(last) = &self.last_round {
            open_sheet(&mut book, "上期未整改", &last.open).map_err(fail)?;
        }
        book.save_to_buffer().map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_description_stays_text() {
        assert_eq!(
            escape("<script>alert('x')</script> & 垃圾"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; 垃圾"
        );
    }

    #[test]
    fn the_rate_counts_what_held() {
        let t = Tally { found: 5, rectified: 2, not_rectified: 2, overdue: 1, reopened: 0, voided: 1 };
        assert_eq!(rate(&t), Some(0.5));
        assert_eq!(rate(&Tally { found: 1, voided: 1, ..Tally::default() }), None);
        assert_eq!(percent(Some(0.5)), "50.0%");
    }
}
