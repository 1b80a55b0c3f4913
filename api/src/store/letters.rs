//! Supervision letters (督办函) in storage: numbered per year and kind inside the transaction that
//! issues them; signing for and answering one are conditional updates, so of two racing writers
//! exactly one wins.

use super::db::sql;
use super::{audit, json_text, Store, StoreError};
use crate::domain::auth::Actor;
use crate::domain::letters::{label, status_of, Letter, LetterCase, LetterKind, LetterOrigin, NewLetter};
use crate::domain::workflow::colour::Colour;
use crate::domain::workflow::state::State;
use serde_json::json;
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct LetterRow {
    id: i64,
    year: i32,
    kind: String,
    number: i64,
    unit: String,
    reason: String,
    origin: String,
    issued_by: String,
    issued_at: OffsetDateTime,
    answer_by: OffsetDateTime,
    signed_by: Option<String>,
    signed_at: Option<OffsetDateTime>,
    answered_by: Option<String>,
    answered_at: Option<OffsetDateTime>,
    answer: Option<String>,
    evidence: String,
    escalated_from: Option<i64>,
    escalated_to: Option<i64>,
}

const LETTER_COLUMNS: &str = "id, year, kind, number, unit, reason, origin, issued_by, issued_at, answer_by, \
     signed_by, signed_at, answered_by, answered_at, answer, evidence, escalated_from, escalated_to";

impl LetterRow {
    fn into_letter(self, cases: Vec<LetterCase>, now: OffsetDateTime) -> Result<Letter, StoreError> {
        let id = self.id;
        let corrupt = |what: &str| StoreError::Corrupt(format!("letter {id}: {what}"));
        let kind = LetterKind::parse(&self.kind).ok_or_else(|| corrupt("its kind"))?;
        let status = status_of(
            kind,
            self.signed_at.is_some(),
            self.answered_at.is_some(),
            self.escalated_to.is_some(),
            self.answer_by,
            now,
        );
        Ok(Letter {
            id,
            year: self.year,
            kind,
            number: self.number,
            label: label(kind, self.year, self.number),
            unit: self.unit,
            reason: self.reason,
            origin: LetterOrigin::parse(&self.origin).ok_or_else(|| corrupt("its origin"))?,
            status,
            issued_by: self.issued_by,
            issued_at: self.issued_at,
            answer_by: self.answer_by,
            signed_by: self.signed_by,
            signed_at: self.signed_at,
            answered_by: self.answered_by,
            answered_on_time: self.answered_at.map(|at| at <= self.answer_by),
            answered_at: self.answered_at,
            answer: self.answer,
            evidence: serde_json::from_str(&self.evidence).map_err(|_| corrupt("its evidence"))?,
            escalated_from: self.escalated_from,
            escalated_to: self.escalated_to,
            cases,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LetterCaseRow {
    letter_id: i64,
    id: i64,
    lon: f64,
    lat: f64,
    category: String,
    category_name: String,
    description: String,
    status: String,
    colour: String,
    grid_code: Option<String>,
    deadline: Option<OffsetDateTime>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct LetterFilter {
    /// Only the letters to this unit.
    pub unit: Option<String>,
}

impl Store {
    /// Issues a letter, numbered after the year's last of its kind. A letter that escalates an
    /// earlier one is issued only while that one is still unanswered and not escalated (`None`
    /// otherwise, and nothing is written).
    pub async fn issue_letter(
        &self,
        letter: NewLetter,
        year: i32,
        now: OffsetDateTime,
        actor: &Actor,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let number: i64 = sql("SELECT COALESCE(MAX(number), 0) + 1 FROM letters WHERE year = $1 AND kind = $2")
            .bind(year)
            .bind(letter.kind.as_str())
            .scalar(&mut tx)
            .await?;
        let inserted = sql("INSERT INTO letters (year, kind, number, unit, reason, origin, issued_by, issued_at, \
             answer_by, escalated_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
        .bind(year)
        .bind(letter.kind.as_str())
        .bind(number)
        .bind(&letter.unit)
        .bind(&letter.reason)
        .bind(letter.origin.as_str())
        .bind(&actor.name)
        .bind(now)
        .bind(letter.answer_by)
        .bind(letter.escalated_from)
        .scalar::<i64>(&mut tx)
        .await;
        // Two offices issuing at the same moment on PostgreSQL meet the UNIQUE (year, kind, number).
        let id = match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict("another letter was issued at the same moment; try again".into()));
            }
            other => other?,
        };
        if let Some(earlier) = letter.escalated_from {
            let escalated = sql("UPDATE letters SET escalated_to = $1 \
                 WHERE id = $2 AND escalated_to IS NULL AND answered_at IS NULL")
            .bind(id)
            .bind(earlier)
            .execute(&mut tx)
            .await?;
            if escalated == 0 {
                return Ok(None); // answered or escalated meanwhile; the transaction is dropped
            }
        }
        for case in &letter.cases {
            sql("INSERT INTO letter_cases (letter_id, problem_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*case)
                .execute(&mut tx)
                .await?;
        }
        let details = json!({
            "label": label(letter.kind, year, number), "unit": letter.unit, "cases": letter.cases,
            "origin": letter.origin.as_str(), "escalated_from": letter.escalated_from,
        });
        audit::record(&mut tx, now, actor, "letter.issue", &format!("letter/{id}"), &details).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Letters, newest first, with their cases as they stand now.
    pub async fn letters(&self, filter: &LetterFilter, now: OffsetDateTime) -> Result<Vec<Letter>, StoreError> {
        let rows: Vec<LetterRow> = match &filter.unit {
            Some(unit) => {
                sql(format!("SELECT {LETTER_COLUMNS} FROM letters WHERE unit = $1 ORDER BY id DESC"))
                    .bind(unit.as_str())
                    .all(&self.pool)
                    .await?
            }
            None => sql(format!("SELECT {LETTER_COLUMNS} FROM letters ORDER BY id DESC")).all(&self.pool).await?,
        };
        self.with_cases(rows, now).await
    }

    pub async fn letter(&self, id: i64, now: OffsetDateTime) -> Result<Option<Letter>, StoreError> {
        let rows: Vec<LetterRow> =
            sql(format!("SELECT {LETTER_COLUMNS} FROM letters WHERE id = $1")).bind(id).all(&self.pool).await?;
        Ok(self.with_cases(rows, now).await?.pop())
    }

    /// Letters not answered by their day and not yet escalated (red ones never escalate).
    pub async fn letters_to_escalate(&self, now: OffsetDateTime) -> Result<Vec<Letter>, StoreError> {
        let rows: Vec<LetterRow> = sql(format!(
            "SELECT {LETTER_COLUMNS} FROM letters WHERE answered_at IS NULL AND escalated_to IS NULL \
             AND kind <> 'red' AND {} < {} ORDER BY id",
            self.dialect.time("answer_by"),
            self.dialect.time("$1")
        ))
        .bind(now)
        .all(&self.pool)
        .await?;
        self.with_cases(rows, now).await
    }

    /// The strongest kind of letter each of `cases` was named in.
    pub async fn letter_kinds_of(&self, cases: &[i64]) -> Result<BTreeMap<i64, LetterKind>, StoreError> {
        if cases.is_empty() {
            return Ok(BTreeMap::new());
        }
        let rows: Vec<(i64, String)> = sql(format!(
            "SELECT c.problem_id, l.kind FROM letter_cases c JOIN letters l ON l.id = c.letter_id \
             WHERE c.problem_id IN ({})",
            self.dialect.json_ids(1)
        ))
        .bind(json_text(cases, "[]"))
        .all(&self.pool)
        .await?;
        let mut strongest = BTreeMap::new();
        for (case, kind) in rows {
            if let Some(kind) = LetterKind::parse(&kind) {
                let had = strongest.entry(case).or_insert(kind);
                *had = (*had).max(kind);
            }
        }
        Ok(strongest)
    }

    /// Signs for a letter (签收); `false` when it was signed for already.
    pub async fn sign_letter(&self, id: i64, now: OffsetDateTime, actor: &Actor) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let signed = sql("UPDATE letters SET signed_by = $1, signed_at = $2 WHERE id = $3 AND signed_at IS NULL")
            .bind(&actor.name)
            .bind(now)
            .bind(id)
            .execute(&mut tx)
            .await?;
        if signed == 1 {
            audit::record(&mut tx, now, actor, "letter.sign", &format!("letter/{id}"), &json!({})).await?;
            tx.commit().await?;
        }
        Ok(signed == 1)
    }

    /// Answers a letter (反馈), signing for it too if nobody had; `false` when it was answered
    /// already.
    pub async fn answer_letter(
        &self,
        id: i64,
        answer: &str,
        evidence: &[i64],
        now: OffsetDateTime,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let answered = sql("UPDATE letters SET answered_by = $1, answered_at = $2, answer = $3, evidence = $4, \
             signed_by = COALESCE(signed_by, $1), signed_at = COALESCE(signed_at, $2) \
             WHERE id = $5 AND answered_at IS NULL")
        .bind(&actor.name)
        .bind(now)
        .bind(answer)
        .bind(json_text(evidence, "[]"))
        .bind(id)
        .execute(&mut tx)
        .await?;
        if answered == 1 {
            let details = json!({"evidence": evidence});
            audit::record(&mut tx, now, actor, "letter.answer", &format!("letter/{id}"), &details).await?;
            tx.commit().await?;
        }
        Ok(answered == 1)
    }

    /// Reads the cases of `rows` in one query and builds the letters.
    async fn with_cases(&self, rows: Vec<LetterRow>, now: OffsetDateTime) -> Result<Vec<Letter>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let cases: Vec<LetterCaseRow> = sql(format!(
            "SELECT c.letter_id, p.id, {}, p.category, \
             COALESCE(p.category_name, p.category) AS category_name, p.description, p.status, p.colour, p.grid_code, p.deadline \
             FROM letter_cases c JOIN problems p ON p.id = c.problem_id WHERE c.letter_id IN ({}) \
             ORDER BY c.letter_id, p.id",
            self.dialect.case_position(),
            self.dialect.json_ids(1)
        ))
        .bind(json_text(&ids, "[]"))
        .all(&self.pool)
        .await?;
        let mut by_letter: BTreeMap<i64, Vec<LetterCase>> = BTreeMap::new();
        for c in cases {
            let corrupt = |what: &str| StoreError::Corrupt(format!("case {}: {what}", c.id));
            let case = LetterCase {
                id: c.id,
                lon: c.lon,
                lat: c.lat,
                status: c.status.parse::<State>().map_err(|_| corrupt("its status"))?,
                colour: Colour::parse(&c.colour).map_err(|_| corrupt("its colour"))?,
                category: c.category,
                category_name: c.category_name,
                description: c.description,
                grid_code: c.grid_code,
                deadline: c.deadline,
            };
            by_letter.entry(c.letter_id).or_default().push(case);
        }
        rows.into_iter()
            .map(|row| {
                let cases = by_letter.remove(&row.id).unwrap_or_default();
                row.into_letter(cases, now)
            })
            .collect()
    }
}
