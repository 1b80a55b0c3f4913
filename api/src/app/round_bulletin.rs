//! The 督查通报: the numbers of a round's ledger — or of every round of a week, month or year —
//! written out as the office publishes them: a title numbered by the round or the period, the
//! office's foreword, one computed paragraph, the units ranked, the points, the findings still
//! open, the letters (督办函) sent over their cases, what the round or period before left open,
//! and the worst points with photos — as JSON, as HTML that prints on A4, as XLSX and as PDF.
//! No number is typed in.

use crate::app::pdf::{Document, Photo};
use crate::app::print::{a4_page, escape};
use crate::domain::clock::iso_date;
use crate::domain::letters::{Letter, LetterStatus};
use crate::domain::period::Period;
use crate::domain::supervision::{tallies, Ledger, LedgerItem, LedgerRow, Round, RoundKind, Standing, Tally, NO_POINT};
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

/// A 督查通报: of one round, or of the rounds of a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RoundBulletin {
    /// 督查通报（2026年第3期）, or of a period: 督查通报（2026年第47周）
    pub title: String,
    /// The period it covers; null for one round's bulletin.
    pub period: Option<Period>,
    /// The rounds it counts: the one, or those held in the period that the caller may see.
    pub rounds: Vec<Round>,
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
    /// The findings the round (or period) before left open (上期未整改), when the caller may
    /// see it.
    pub last_round: Option<LastRound>,
    /// The points with the most findings not rectified (问题较多点位), with their cases' photos
    /// before and after the fix.
    pub worst_points: Vec<WorstPoint>,
    /// The cases its findings were handed over as (for the letters over them).
    #[serde(skip)]
    cases: std::collections::BTreeSet<i64>,
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

/// How many assessment points a round checked: those it chose, else those its findings were
/// made at.
fn points_checked(round: &Round, items: &[LedgerItem]) -> usize {
    if !round.points.is_empty() {
        return round.points.len();
    }
    let at: std::collections::BTreeSet<&str> = items
        .iter()
        .filter(|i| i.finding.round_id == round.id)
        .filter_map(|i| i.finding.point_code.as_deref())
        .collect();
    at.len()
}

impl RoundBulletin {
    /// The bulletin of `ledger`'s round as it stands on `as_of`; `area` names the round's area
    /// as people say it (东城区, or 全市).
    pub fn of(ledger: Ledger, as_of: Date, area: &str) -> Self {
        let round = ledger.round;
        let lead = format!("{}至{}，对{}开展{}督查", round.starts_on, round.ends_on, area, round.kind.zh());
        let title = format!("督查通报（{}）", round.label());
        let foreword = round.foreword.clone();
        Self::counted(title, None, vec![round], ledger.items, lead, foreword, as_of)
    }

    /// The bulletin of a period (周通报, 月通报, 年度通报): the rounds held in it, their ledgers
    /// counted together; `area` names the caller's area.
    pub fn of_period(period: Period, ledgers: Vec<Ledger>, as_of: Date, area: &str) -> Self {
        let (first, last) = period.days(period.start.offset());
        let held: Vec<String> = [RoundKind::Open, RoundKind::Undercover, RoundKind::Special]
            .into_iter()
            .filter_map(|kind| {
                let n = ledgers.iter().filter(|l| l.round.kind == kind).count();
                (n > 0).then(|| format!("{}{n}次", kind.zh()))
            })
            .collect();
        let lead = match held.is_empty() {
            true => format!("{}（{first}至{last}），对{area}未开展督查", period.zh()),
            false => format!(
                "{}（{first}至{last}），对{area}开展督查{}次（{}）",
                period.zh(),
                ledgers.len(),
                held.join("、")
            ),
        };
        let title = format!("督查通报（{}）", period.zh());
        let (rounds, items): (Vec<Round>, Vec<Vec<LedgerItem>>) =
            ledgers.into_iter().map(|l| (l.round, l.items)).unzip();
        Self::counted(title, Some(period), rounds, items.into_iter().flatten().collect(), lead, None, as_of)
    }

    fn counted(
        title: String,
        period: Option<Period>,
        rounds: Vec<Round>,
        items: Vec<LedgerItem>,
        lead: String,
        foreword: Option<String>,
        as_of: Date,
    ) -> Self {
        let points_checked = rounds.iter().map(|r| points_checked(r, &items)).sum();
        let (t, by_unit, by_point) = tallies(&items);
        let summary = format!(
            "{lead}，共检查点位{points_checked}个，发现问题{}个。截至{as_of}，已整改{}个，未整改{}个（其中超期{}个），不属实{}个，整改率{}。",
            t.found,
            t.rectified,
            t.not_rectified,
            t.overdue,
            t.voided,
            percent(rate(&t)),
        );
        let mut units: Vec<UnitLine> =
            by_unit.into_iter().map(|r| UnitLine { rate: rate(&r.tally), unit: r.key, tally: r.tally }).collect();
        units.sort_by(|a, b| {
            b.rate
                .unwrap_or(-1.0)
                .total_cmp(&a.rate.unwrap_or(-1.0))
                .then(a.tally.not_rectified.cmp(&b.tally.not_rectified))
                .then_with(|| a.unit.cmp(&b.unit))
        });
        let worst_points = Self::worst(&by_point, &items);
        let cases = items.iter().filter_map(|i| i.finding.problem_id).collect();
        Self {
            cases,
            title,
            period,
            rounds,
            foreword,
            letters: Vec::new(),
            last_round: None,
            worst_points,
            as_of,
            points_checked,
            summary,
            total: t,
            units,
            points: by_point,
            open: still_open(items),
        }
    }

    /// Adds the letters naming any of its cases.
    pub fn with_letters(mut self, letters: Vec<Letter>) -> Self {
        let ours = &self.cases;
        self.letters = letters
            .into_iter()
            .filter_map(|l| {
                let cases: Vec<i64> = l.cases.iter().map(|c| c.id).filter(|id| ours.contains(id)).collect();
                (!cases.is_empty()).then_some(LetterLine { label: l.label, unit: l.unit, status: l.status, cases })
            })
            .collect();
        self
    }

    /// The worst points: those with findings not rectified, most first (then most found), at
    /// most [`WORST_POINTS`], each with the cases of its findings (their photos left for the
    /// caller to find).
    fn worst(points: &[LedgerRow], items: &[LedgerItem]) -> Vec<WorstPoint> {
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

    /// Adds what the bulletin before (`title`) left open, from its findings.
    pub fn with_last(mut self, title: String, items: Vec<LedgerItem>) -> Self {
        self.last_round = Some(LastRound { title, open: still_open(items) });
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
            name = e(&self.names()),
            summary = e(&self.summary),
        );
        a4_page(&self.title, &body)
    }

    /// The same as a PDF (A4): the sections of the printed page, the worst points' photos from
    /// `thumbnails` (JPEG bytes by SHA-256).
    pub fn to_pdf(&self, thumbnails: &std::collections::HashMap<String, Vec<u8>>) -> Vec<u8> {
        let mut doc = Document::new(&self.title);
        doc.subtitle(&self.names());
        if let Some(foreword) = &self.foreword {
            doc.paragraph(foreword);
        }
        doc.paragraph(&self.summary);
        let counts = |t: &Tally| [t.found, t.rectified, t.not_rectified, t.overdue, t.voided].map(|n| n.to_string());
        let head = ["发现", "已整改", "未整改", "超期", "不属实"];
        doc.heading("一、各责任单位整改情况");
        let units: Vec<Vec<String>> = self
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let mut row = vec![(i + 1).to_string(), u.unit.clone()];
                row.extend(counts(&u.tally));
                row.push(percent(u.rate));
                row
            })
            .collect();
        let unit_head: Vec<&str> = ["排名", "责任单位"].into_iter().chain(head).chain(["整改率"]).collect();
        doc.table(&unit_head, &[1.0, 4.0, 1.0, 1.2, 1.2, 1.0, 1.2, 1.4], &units);
        doc.heading("二、各点位问题情况");
        let points: Vec<Vec<String>> =
            self.points.iter().map(|p| std::iter::once(p.key.clone()).chain(counts(&p.tally)).collect()).collect();
        let point_head: Vec<&str> = ["点位"].into_iter().chain(head).collect();
        doc.table(&point_head, &[4.0, 1.0, 1.2, 1.2, 1.0, 1.2], &points);
        let open_rows = |items: &[LedgerItem]| -> Vec<Vec<String>> {
            items
                .iter()
                .map(|i| {
                    vec![
                        i.finding.problem_id.map_or("—".into(), |id| format!("#{id}")),
                        i.finding.point_code.clone().unwrap_or_else(|| "—".into()),
                        i.finding.description.clone(),
                        i.unit.clone().unwrap_or_else(|| "—".into()),
                        if i.overdue { "超期未整改" } else { "未整改" }.to_string(),
                    ]
                })
                .collect()
        };
        let open_head = ["案件", "点位", "问题", "责任单位", "状态"];
        let open_widths = [1.0, 1.6, 4.0, 2.4, 1.4];
        doc.heading("三、未整改问题清单");
        doc.table(&open_head, &open_widths, &open_rows(&self.open));
        doc.heading("四、督办函");
        let letters: Vec<Vec<String>> = self
            .letters
            .iter()
            .map(|l| {
                let cases: Vec<String> = l.cases.iter().map(|c| format!("#{c}")).collect();
                vec![l.label.clone(), l.unit.clone(), cases.join("、"), l.status.zh().to_string()]
            })
            .collect();
        doc.table(&["文号", "责任单位", "案件", "状态"], &[2.4, 2.6, 2.6, 1.4], &letters);
        if let Some(last) = &self.last_round {
            doc.heading(&format!("五、上期未整改问题（{}）", last.title));
            doc.table(&open_head, &open_widths, &open_rows(&last.open));
        }
        if !self.worst_points.is_empty() {
            doc.heading("六、问题较多点位");
            for p in &self.worst_points {
                doc.paragraph(&format!("{}（未整改{}个，发现{}个）", p.point, p.tally.not_rectified, p.tally.found));
                for c in &p.cases {
                    let photo = |sha: &Option<String>, caption| Photo {
                        jpeg: sha.as_ref().and_then(|s| thumbnails.get(s)).map(Vec::as_slice),
                        caption,
                    };
                    let line = format!("#{} {}", c.case, c.description);
                    doc.photos(&line, &[photo(&c.before, "整改前"), photo(&c.after, "整改后")]);
                }
            }
        }
        doc.finish()
    }

    /// The names of its rounds, as a line under the title.
    fn names(&self) -> String {
        let names: Vec<&str> = self.rounds.iter().map(|r| r.name.as_str()).collect();
        names.join("、")
    }

    /// The same as a workbook: the paragraph, then a sheet per table.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, String> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let fail = |e: rust_xlsxwriter::XlsxError| e.to_string();
        let sheet = book.add_worksheet().set_name("通报").map_err(fail)?;
        sheet.write_string_with_format(0, 0, &self.title, &bold).map_err(fail)?;
        sheet.write_string(1, 0, self.names()).map_err(fail)?;
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
