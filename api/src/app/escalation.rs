//! The escalation scheduler (三色督办): recomputes every open case's colour on a timer, records
//! each change as a case step, and publishes it to server-sent-event subscribers and to a
//! signed webhook.

use crate::app::letters;
use crate::app::metrics::METRICS;
use crate::app::webhook::post_signed;
use crate::domain::clock::Clock;
use crate::domain::letters::{LetterRules, Turned};
use crate::domain::problem::Problem;
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::domain::workflow::case::colour_at;
use crate::domain::workflow::colour::{Colour, Thresholds};
use crate::store::cluster::{Leadership, COLOURS};
use crate::store::{Keyset, Store, StoreError, Which, PAGE};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::broadcast;

/// One colour change, as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColourChange {
    pub problem_id: i64,
    pub status: crate::domain::workflow::state::State,
    pub from: Colour,
    pub to: Colour,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    pub grid_code: Option<String>,
    pub responsible_unit: Option<String>,
    pub reported_by: Option<String>,
}

/// Where colour changes are POSTed.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// `http://` or `https://` host, port and path.
    pub url: String,
    pub secret: String,
    /// Attempts per change (with doubling pauses from one second).
    pub attempts: u32,
}

impl Webhook {
    /// Delivers one change, retrying with doubling pauses; gives up after `attempts`.
    pub async fn deliver(&self, change: &ColourChange) -> Result<u32, String> {
        let body = serde_json::to_vec(change).map_err(|e| e.to_string())?;
        let mut pause = Duration::from_secs(1);
        let mut last = String::new();
        for attempt in 1..=self.attempts.max(1) {
            let (url, body, secret) = (self.url.clone(), body.clone(), self.secret.clone());
            match tokio::task::spawn_blocking(move || post_signed(&url, "colour.changed", &secret, &body)).await {
                Ok(Ok(())) => return Ok(attempt),
                Ok(Err(e)) => last = e,
                Err(e) => last = e.to_string(),
            }
            if attempt < self.attempts {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        Err(last)
    }
}

/// Recomputes colours and publishes changes.
pub struct Escalator {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    pub calendar: Arc<WorkingCalendar>,
    pub thresholds: Arc<Thresholds>,
    pub changes: broadcast::Sender<ColourChange>,
    pub webhook: Option<Webhook>,
    /// Which colour changes send the unit a letter (督办函), and how soon it must answer.
    pub letters: Arc<LetterRules>,
    /// Whether this node leads (runs the passes and delivers the webhook) just now.
    pub leader: Arc<AtomicBool>,
}

impl Escalator {
    /// One pass over every open case. Returns the changes it recorded.
    pub async fn tick(&self) -> Result<Vec<ColourChange>, StoreError> {
        let mut changes = Vec::new();
        self.pass(|c| changes.push(c.clone())).await?;
        Ok(changes)
    }

    /// One pass, a page of cases at a time so that a city's million open cases are never in
    /// memory together; each recorded change is published and handed to `seen`. Then the
    /// letters: those the changes call for, those the rounds' ledgers call for, and those that
    /// follow letters left unanswered.
    async fn pass(&self, mut seen: impl FnMut(&ColourChange)) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let now = self.clock.now();
        let mut turned = Vec::new();
        let mut pages = Keyset::new(0);
        while let Some(after) = pages.next() {
            let page = self.store.problems_page(after, PAGE, Which::OpenWithoutTexts).await?;
            pages.advance(&page, |p| p.id);
            for p in page {
                let colour = colour_at(&p, now, &self.calendar, &self.thresholds);
                if colour != p.colour && self.store.record_colour(p.id, p.status, p.colour, colour, now).await? {
                    let c = change(&p, colour, now);
                    METRICS.escalation_changes.fetch_add(1, Relaxed);
                    self.publish(&c).await;
                    seen(&c);
                    turned.push(Turned { case: p.id, unit: p.responsible_unit.clone(), colour });
                }
            }
        }
        let issued = letters::issue_for_colours(&self.store, &turned, &self.letters, &self.calendar, now).await?;
        let ledgers = letters::issue_for_ledgers(&self.store, &self.letters, &self.calendar, now).await?;
        let escalated = letters::escalate_unanswered(&self.store, &self.letters, &self.calendar, now).await?;
        let letters = issued.len() + ledgers.len() + escalated.len();
        METRICS.letters_issued.fetch_add(letters as u64, Relaxed);
        METRICS.escalation_pass.observe_duration(started.elapsed());
        if letters > 0 {
            tracing::info!(
                issued = issued.len(),
                ledgers = ledgers.len(),
                escalated = escalated.len(),
                "supervision letters sent"
            );
        }
        Ok(())
    }

    async fn publish(&self, c: &ColourChange) {
        if self.store.is_shared() {
            // Every node's escalation streams, this one's too, hear it through the store.
            let payload = serde_json::to_string(c).unwrap_or_default();
            if let Err(e) = self.store.notify(COLOURS, &payload).await {
                tracing::warn!(error = %e, "a colour change could not be told to the other nodes");
            }
        } else {
            let _ = self.changes.send(c.clone()); // nobody listening is fine
        }
        if let Some(hook) = self.webhook.clone() {
            let c = c.clone();
            tokio::spawn(async move {
                match hook.deliver(&c).await {
                    Ok(_) => METRICS.webhook_delivered.fetch_add(1, Relaxed),
                    Err(e) => {
                        tracing::warn!(problem = c.problem_id, error = %e, "webhook delivery failed");
                        METRICS.webhook_failed.fetch_add(1, Relaxed)
                    }
                };
            });
        }
    }

    /// Runs [`Escalator::tick`] every `every` until the task is dropped — while this node leads:
    /// of several nodes on one PostgreSQL only the one holding the leader's lock runs the pass
    /// (and so delivers the webhook). Leadership is looked at every [`LEADERSHIP_CHECK`] (or
    /// `every`, if sooner), so that when the leader dies another takes over within seconds, and
    /// runs a pass at once.
    pub async fn run(self, every: Duration) {
        let mut timer = tokio::time::interval(every.min(LEADERSHIP_CHECK));
        let mut leadership = Leadership::default();
        let mut last_pass: Option<tokio::time::Instant> = None;
        loop {
            timer.tick().await;
            let leads = self.store.lead(&mut leadership).await;
            if self.leader.swap(leads, Relaxed) != leads {
                tracing::info!(leads, "escalation leadership changed");
                last_pass = None; // a new leader passes at once
            }
            if !leads || last_pass.is_some_and(|at| at.elapsed() < every) {
                continue;
            }
            last_pass = Some(tokio::time::Instant::now());
            let mut changed = 0usize;
            match self.pass(|_| changed += 1).await {
                Ok(()) if changed > 0 => tracing::info!(changes = changed, "colours changed"),
                Ok(()) => {}
                Err(e) => tracing::warn!(error = %e, "escalation pass failed; will retry"),
            }
        }
    }
}

/// How often a node asks whether it leads (or may now lead) the escalation.
const LEADERSHIP_CHECK: Duration = Duration::from_secs(2);

fn change(p: &Problem, to: Colour, at: OffsetDateTime) -> ColourChange {
    ColourChange {
        problem_id: p.id,
        status: p.status,
        from: p.colour,
        to,
        at,
        deadline: p.case.deadline,
        grid_code: p.grid_code.clone(),
        responsible_unit: p.responsible_unit.clone(),
        reported_by: p.reported_by.clone(),
    }
}
