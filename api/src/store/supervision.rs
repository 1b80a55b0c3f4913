//! Supervision rounds (督查) and their findings in storage. A finding handed over becomes a case
//! in the same transaction that records it (or that publishes its round).

use super::cases::insert_each;
use super::db::sql;
use super::{audit, json_text, Store, StoreError};
use crate::domain::auth::Actor;
use crate::domain::problem::{NewProblem, Problem};
use crate::domain::supervision::{Finding, NewRound, Round, RoundKind};
use serde_json::json;
use time::{Date, OffsetDateTime};

#[derive(sqlx::FromRow)]
struct RoundRow {
    id: i64,
    year: i32,
    number: i64,
    name: String,
    kind: String,
    starts_on: String,
    ends_on: String,
    rectify_by: String,
    area: String,
    points: String,
    inspectors: String,
    foreword: Option<String>,
    version: i64,
    created_by: String,
    created_at: OffsetDateTime,
    published_at: Option<OffsetDateTime>,
}

const ROUND_COLUMNS: &str = "id, year, number, name, kind, starts_on, ends_on, rectify_by, area, points, inspectors, \
     foreword, version, created_by, created_at, published_at";

impl RoundRow {
    fn into_round(self) -> Result<Round, StoreError> {
        let id = self.id;
        let corrupt = |what: &str| StoreError::Corrupt(format!("round {id}: {what}"));
        let day = |text: &str| {
            Date::parse(text, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| corrupt("a date"))
        };
        Ok(Round {
            id,
            year: self.year,
            number: self.number,
            name: self.name,
            kind: RoundKind::parse(&self.kind).ok_or_else(|| corrupt("its kind"))?,
            starts_on: day(&self.starts_on)?,
            ends_on: day(&self.ends_on)?,
            rectify_by: day(&self.rectify_by)?,
            area: serde_json::from_str(&self.area).map_err(|_| corrupt("its area"))?,
            points: serde_json::from_str(&self.points).map_err(|_| corrupt("its points"))?,
            inspectors: serde_json::from_str(&self.inspectors).map_err(|_| corrupt("its inspectors"))?,
            foreword: self.foreword,
            version: self.version,
            created_by: self.created_by,
            created_at: self.created_at,
            published_at: self.published_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FindingRow {
    id: i64,
    round_id: i64,
    point_code: Option<String>,
    lon: f64,
    lat: f64,
    category: String,
    description: String,
    found_by: String,
    found_at: OffsetDateTime,
    problem_id: Option<i64>,
    from_assessment: Option<String>,
}

impl From<FindingRow> for Finding {
    fn from(r: FindingRow) -> Self {
        Finding {
            id: r.id,
            round_id: r.round_id,
            point_code: r.point_code,
            lon: r.lon,
            lat: r.lat,
            category: r.category,
            description: r.description,
            found_by: r.found_by,
            found_at: r.found_at,
            problem_id: r.problem_id,
            from_assessment: r.from_assessment,
        }
    }
}

impl Store {
    /// Opens a round, numbered after the year's last one.
    pub async fn create_round(
        &self,
        round: NewRound,
        year: i32,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<Round, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        // Writers take turns on SQLite; on PostgreSQL two offices opening a round at the same
        // moment meet the UNIQUE (year, number), and the second is told to try again.
        let number: i64 =
            sql("SELECT COALESCE(MAX(number), 0) + 1 FROM rounds WHERE year = $1").bind(year).scalar(&mut tx).await?;
        let inserted = sql("INSERT INTO rounds (year, number, name, kind, starts_on, ends_on, rectify_by, area, \
             points, inspectors, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             RETURNING id")
        .bind(year)
        .bind(number)
        .bind(&round.name)
        .bind(round.kind.as_str())
        .bind(round.starts_on.to_string())
        .bind(round.ends_on.to_string())
        .bind(round.rectify_by.to_string())
        .bind(json_text(&round.area, "[]"))
        .bind(json_text(&round.points, "[]"))
        .bind(json_text(&round.inspectors, "[]"))
        .bind(&actor.name)
        .bind(now)
        .scalar::<i64>(&mut tx)
        .await;
        let id = match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict("another round was opened at the same moment; try again".into()));
            }
            other => other?,
        };
        let details = json!({"year": year, "number": number, "kind": round.kind.as_str(), "name": round.name});
        audit::record(&mut tx, now, &actor, "round.create", &format!("round/{id}"), &details).await?;
        tx.commit().await?;
        self.round(id).await?.ok_or_else(|| StoreError::Corrupt(format!("round {id} vanished")))
    }

    /// Sets a round's foreword if it is still at `version`; `false` (nothing written) when
    /// someone changed it meanwhile.
    pub async fn set_foreword(
        &self,
        round_id: i64,
        foreword: Option<&str>,
        version: i64,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let changed = sql("UPDATE rounds SET foreword = $1, version = version + 1 WHERE id = $2 AND version = $3")
            .bind(foreword)
            .bind(round_id)
            .bind(version)
            .execute(&mut tx)
            .await?;
        if changed == 1 {
            let details = json!({"version": version + 1});
            audit::record(&mut tx, now, &actor, "round.foreword", &format!("round/{round_id}"), &details).await?;
            tx.commit().await?;
        }
        Ok(changed == 1)
    }

    /// Every round, newest first.
    pub async fn rounds(&self) -> Result<Vec<Round>, StoreError> {
        let rows: Vec<RoundRow> =
            sql(format!("SELECT {ROUND_COLUMNS} FROM rounds ORDER BY year DESC, number DESC")).all(&self.pool).await?;
        rows.into_iter().map(RoundRow::into_round).collect()
    }

    pub async fn round(&self, id: i64) -> Result<Option<Round>, StoreError> {
        let row: Option<RoundRow> =
            sql(format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1")).bind(id).optional(&self.pool).await?;
        row.map(RoundRow::into_round).transpose()
    }

    /// A round's findings, in the order they were recorded.
    pub async fn findings(&self, round_id: i64) -> Result<Vec<Finding>, StoreError> {
        let rows: Vec<FindingRow> = sql("SELECT id, round_id, point_code, lon, lat, category, description, found_by, \
             found_at, problem_id, from_assessment FROM findings WHERE round_id = $1 ORDER BY id")
        .bind(round_id)
        .all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Finding::from).collect())
    }

    /// The findings of `rounds` whose cases a unit holds and has not closed (nor were they
    /// voided): `(round, case, unit)`, for the ledger letters.
    pub async fn open_findings_of(&self, rounds: &[i64]) -> Result<Vec<(i64, i64, String)>, StoreError> {
        if rounds.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sql(format!(
            "SELECT f.round_id, p.id, p.responsible_unit FROM findings f JOIN problems p ON p.id = f.problem_id \
             WHERE f.round_id IN ({}) AND p.status NOT IN ('closed', 'void') AND p.responsible_unit IS NOT NULL \
             ORDER BY f.round_id, p.id",
            self.dialect.json_ids(1)
        ))
        .bind(json_text(rounds, "[]"))
        .all(&self.pool)
        .await?)
    }

    /// Records a finding; with `case`, hands it over as that case in the same transaction.
    pub async fn add_finding(
        &self,
        mut finding: Finding,
        case: Option<NewProblem>,
        actor: Actor,
    ) -> Result<(Finding, Option<Problem>), StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let opened = match case {
            Some(case) => {
                let id = insert_each(&mut tx, self.dialect, std::slice::from_ref(&case), &actor).await?[0];
                finding.problem_id = Some(id);
                Some(Problem::from_new(id, case))
            }
            None => None,
        };
        let inserted = sql("INSERT INTO findings (round_id, point_code, lon, lat, category, description, found_by, \
             found_at, problem_id, from_assessment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
        .bind(finding.round_id)
        .bind(&finding.point_code)
        .bind(finding.lon)
        .bind(finding.lat)
        .bind(&finding.category)
        .bind(&finding.description)
        .bind(&finding.found_by)
        .bind(finding.found_at)
        .bind(finding.problem_id)
        .bind(&finding.from_assessment)
        .scalar(&mut tx)
        .await;
        // An assessment's failed item becomes a round's finding once (two offices at once: one wins).
        finding.id = match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Conflict("that assessment item is a finding of this round already".into()));
            }
            other => other?,
        };
        let details = json!({"round": finding.round_id, "point": finding.point_code, "problem": finding.problem_id});
        audit::record(
            &mut tx,
            finding.found_at,
            &actor,
            "finding.create",
            &format!("finding/{}", finding.id),
            &details,
        )
        .await?;
        tx.commit().await?;
        Ok((finding, opened))
    }

    /// Publishes an undercover round: each finding not yet handed over becomes its case (given
    /// in `cases`, by finding id), all in one transaction. `false` when the round was published
    /// meanwhile (nothing is written then).
    pub async fn publish_round(
        &self,
        round_id: i64,
        cases: Vec<(i64, NewProblem)>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> Result<Option<Vec<Problem>>, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let published = sql("UPDATE rounds SET published_at = $1 WHERE id = $2 AND published_at IS NULL")
            .bind(now)
            .bind(round_id)
            .execute(&mut tx)
            .await?;
        if published == 0 {
            return Ok(None);
        }
        // A finding recorded after the caller read them would stay withheld: refuse, so that
        // publishing hands over exactly what is there.
        let waiting: i64 = sql("SELECT COUNT(*) FROM findings WHERE round_id = $1 AND problem_id IS NULL")
            .bind(round_id)
            .scalar(&mut tx)
            .await?;
        if waiting != cases.len() as i64 {
            return Err(StoreError::Conflict("a finding was recorded meanwhile; publish again".into()));
        }
        let (finding_ids, new): (Vec<i64>, Vec<NewProblem>) = cases.into_iter().unzip();
        let ids = insert_each(&mut tx, self.dialect, &new, &actor).await?;
        for (finding, problem) in finding_ids.iter().zip(&ids) {
            sql("UPDATE findings SET problem_id = $1 WHERE id = $2 AND round_id = $3 AND problem_id IS NULL")
                .bind(*problem)
                .bind(*finding)
                .bind(round_id)
                .execute(&mut tx)
                .await?;
        }
        let details = json!({"handed_over": ids.len()});
        audit::record(&mut tx, now, &actor, "round.publish", &format!("round/{round_id}"), &details).await?;
        tx.commit().await?;
        Ok(Some(ids.into_iter().zip(new).map(|(id, p)| Problem::from_new(id, p)).collect()))
    }
}
