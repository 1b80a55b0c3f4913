//! Supervision letters (督办函) as use cases: issued when a pass turns cases blue, yellow or red
//! (the city's letter rules), by the office's hand, and again one kind higher when a unit leaves
//! one unanswered past its day.

use crate::app::pdf::Document;
use crate::app::print::{a4_page, escape};
use crate::domain::auth::Actor;
use crate::domain::letters::{
    escalation_of, ledger_letters, letters_for, Letter, LetterRules, NewLetter, OverdueFinding, Turned,
};
use crate::domain::supervision::Round;
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::store::{Store, StoreError};
use std::collections::BTreeMap;
use time::{OffsetDateTime, UtcOffset};

/// The year a letter issued at `at` is numbered in: the city's local year.
pub fn year_of(at: OffsetDateTime, calendar: &WorkingCalendar) -> i32 {
    at.to_offset(calendar.offset).year()
}

/// Issues the letters a pass's colour changes call for; the ids issued.
pub async fn issue_for_colours(
    store: &Store,
    turned: &[Turned],
    rules: &LetterRules,
    calendar: &WorkingCalendar,
    now: OffsetDateTime,
) -> Result<Vec<i64>, StoreError> {
    let interesting: Vec<i64> = turned.iter().filter(|t| rules.colours.contains(&t.colour)).map(|t| t.case).collect();
    if interesting.is_empty() {
        return Ok(Vec::new());
    }
    let named = store.letter_kinds_of(&interesting).await?;
    let mut issued = Vec::new();
    for letter in letters_for(turned, &named, rules, calendar, now) {
        issued.extend(issue(store, letter, calendar, now, &Actor::system()).await?);
    }
    Ok(issued)
}

/// Issues the letters the rounds' ledgers call for: a unit holding findings of a public round
/// unrectified past the round's rectify-by day (the city's days) gets the kind their count
/// reaches; the ids issued.
pub async fn issue_for_ledgers(
    store: &Store,
    rules: &LetterRules,
    calendar: &WorkingCalendar,
    now: OffsetDateTime,
) -> Result<Vec<i64>, StoreError> {
    if rules.ledger.is_empty() {
        return Ok(Vec::new());
    }
    let today = now.to_offset(calendar.offset).date();
    let past: BTreeMap<i64, Round> = store
        .rounds()
        .await?
        .into_iter()
        .filter(|r| r.is_public() && today > r.rectify_by)
        .map(|r| (r.id, r))
        .collect();
    let ids: Vec<i64> = past.keys().copied().collect();
    let overdue: Vec<OverdueFinding> = store
        .open_findings_of(&ids)
        .await?
        .into_iter()
        .filter_map(|(round_id, case, unit)| {
            let round = past.get(&round_id)?;
            Some(OverdueFinding { round: round.label(), round_id, rectify_by: round.rectify_by, case, unit })
        })
        .collect();
    if overdue.is_empty() {
        return Ok(Vec::new());
    }
    let cases: Vec<i64> = overdue.iter().map(|f| f.case).collect();
    let named = store.letter_kinds_of(&cases).await?;
    let mut issued = Vec::new();
    for letter in ledger_letters(&overdue, &named, rules, calendar, now) {
        issued.extend(issue(store, letter, calendar, now, &Actor::system()).await?);
    }
    Ok(issued)
}

/// Escalates every letter left unanswered past its day; the ids of the letters that followed.
pub async fn escalate_unanswered(
    store: &Store,
    rules: &LetterRules,
    calendar: &WorkingCalendar,
    now: OffsetDateTime,
) -> Result<Vec<i64>, StoreError> {
    if !rules.escalate {
        return Ok(Vec::new());
    }
    let mut issued = Vec::new();
    for late in store.letters_to_escalate(now).await? {
        if let Some(next) = escalation_of(&late, rules, calendar, now) {
            issued.extend(issue(store, next, calendar, now, &Actor::system()).await?);
        }
    }
    Ok(issued)
}

/// Issues one letter, numbered in the city's year.
pub async fn issue(
    store: &Store,
    letter: NewLetter,
    calendar: &WorkingCalendar,
    now: OffsetDateTime,
    actor: &Actor,
) -> Result<Option<i64>, StoreError> {
    store.issue_letter(letter, year_of(now, calendar), now, actor).await
}

/// Who signs the letters.
const ISSUER: &str = "创建办（督查室）";

/// 2026年11月23日09:00, in the city's time.
fn when(t: OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    format!("{}年{}月{}日{:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// The same letter as a PDF (A4).
pub fn to_pdf(letter: &Letter, offset: UtcOffset) -> Vec<u8> {
    let when = |t: OffsetDateTime| when(t, offset);
    let mut doc = Document::new(&letter.label);
    doc.line(&format!("{}：", letter.unit));
    doc.paragraph(&format!(
        "{}。以下问题请于{}前整改到位，并将整改情况书面反馈。",
        letter.reason,
        when(letter.answer_by)
    ));
    let cases: Vec<Vec<String>> = letter
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                (i + 1).to_string(),
                format!("#{}", c.id),
                c.category_name.clone(),
                c.description.clone(),
                c.deadline.map_or("—".to_string(), when),
                c.status.zh().to_string(),
            ]
        })
        .collect();
    doc.table(&["序号", "案件", "类别", "问题", "处置时限", "状态"], &[1.0, 1.2, 2.0, 4.0, 2.6, 1.2], &cases);
    doc.line(&format!("{ISSUER}　{}", when(letter.issued_at)));
    let signed = match (&letter.signed_by, letter.signed_at) {
        (Some(who), Some(at)) => format!("{who}（{}）", when(at)),
        _ => "＿＿＿＿＿＿".to_string(),
    };
    doc.line(&format!("签收：{signed}"));
    let answer = match (&letter.answer, letter.answered_at) {
        (Some(text), Some(at)) => format!(
            "{text}（{}，{}）",
            when(at),
            if letter.answered_on_time == Some(true) { "按期反馈" } else { "逾期反馈" }
        ),
        _ => String::new(),
    };
    doc.line(&format!("反馈意见：{answer}"));
    doc.finish()
}

/// A letter as a page that prints on A4: the addressee, the reason, the cases with their
/// deadlines, the day to answer by, and the unit's signature and answer once given.
pub fn to_html(letter: &Letter, offset: UtcOffset) -> String {
    let e = escape;
    let when = |t: OffsetDateTime| when(t, offset);
    let cases: String = letter
        .cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "<tr><td>{}</td><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                i + 1,
                c.id,
                e(&c.category_name),
                e(&c.description),
                c.deadline.map_or("—".to_string(), when),
                c.status.zh(),
            )
        })
        .collect();
    let signed = match (&letter.signed_by, letter.signed_at) {
        (Some(who), Some(at)) => format!("{}（{}）", e(who), when(at)),
        _ => "＿＿＿＿＿＿".to_string(),
    };
    let answer = match (&letter.answer, letter.answered_at) {
        (Some(text), Some(at)) => format!(
            "<p id=\"answer\">反馈意见：{}（{}，{}）</p>",
            e(text),
            when(at),
            if letter.answered_on_time == Some(true) { "按期反馈" } else { "逾期反馈" }
        ),
        _ => "<p id=\"answer\">反馈意见：</p>".to_string(),
    };
    let body = format!(
        "<p id=\"to\">{unit}：</p>\n<p id=\"reason\">{reason}。以下问题请于{answer_by}前整改到位，并将整改情况书面反馈。</p>\n\
         <table id=\"cases\"><tr><th>序号</th><th>案件</th><th>类别</th><th>问题</th><th>处置时限</th><th>状态</th></tr>{cases}</table>\n\
         <p class=\"sign\">{issuer}<br>{issued}</p>\n<p id=\"signed\">签收：{signed}</p>\n{answer}\n",
        unit = e(&letter.unit),
        reason = e(&letter.reason),
        answer_by = when(letter.answer_by),
        issuer = ISSUER,
        issued = when(letter.issued_at),
    );
    a4_page(&letter.label, &body)
}
