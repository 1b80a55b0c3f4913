//! The escalation scheduler (三色督办): recomputes every open case's colour on a timer, records
//! each change as a case step, and publishes it to server-sent-event subscribers and to a
//! signed webhook.

use crate::app::letters;
use crate::domain::clock::Clock;
use crate::domain::letters::{LetterRules, Turned};
use crate::domain::problem::Problem;
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::domain::workflow::case::colour_at;
use crate::domain::workflow::colour::{Colour, Thresholds};
use crate::store::{Keyset, Store, StoreError, Which, PAGE};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

/// One colour change, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// `http://host[:port]/path` (put a relay in front for https).
    pub url: String,
    pub secret: String,
    /// Attempts per change (with doubling pauses from one second).
    pub attempts: u32,
}

/// HMAC-SHA256 (RFC 2104), hex: what `X-Gridwatch-Signature: sha256=…` carries.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner_hash = Sha256::new().chain_update(&inner).chain_update(message).finalize();
    hex::encode(Sha256::new().chain_update(&outer).chain_update(inner_hash).finalize())
}

/// One POST over plain HTTP/1.1; Ok when the receiver answered 2xx.
async fn post(url: &str, body: &[u8], signature: &str) -> Result<(), String> {
    let rest = url.strip_prefix("http://").ok_or("the webhook URL must start with http://")?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    let address = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
    let connect = tokio::net::TcpStream::connect(&address);
    let mut stream = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         X-Gridwatch-Event: colour.changed\r\nX-Gridwatch-Signature: sha256={signature}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    stream.write_all(body).await.map_err(|e| e.to_string())?;
    let mut answer = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .map_err(|_| "no answer".to_string())?
        .map_err(|e| e.to_string())?;
    let status_line = String::from_utf8_lossy(&answer[..n]);
    match status_line.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(()),
        other => Err(format!("answered {other:?}")),
    }
}

impl Webhook {
    /// Delivers one change, retrying with doubling pauses; gives up after `attempts`.
    pub async fn deliver(&self, change: &ColourChange) -> Result<u32, String> {
        let body = serde_json::to_vec(change).map_err(|e| e.to_string())?;
        let signature = hmac_sha256_hex(self.secret.as_bytes(), &body);
        let mut pause = Duration::from_secs(1);
        let mut last = String::new();
        for attempt in 1..=self.attempts.max(1) {
            match post(&self.url, &body, &signature).await {
                Ok(()) => return Ok(attempt),
                Err(e) => last = e,
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
        let now = self.clock.now();
        let mut turned = Vec::new();
        let mut pages = Keyset::new(0);
        while let Some(after) = pages.next() {
            let page = self.store.problems_page(after, PAGE, Which::OpenOnMap).await?;
            pages.advance(&page, |p| p.id);
            for p in page {
                let colour = colour_at(&p, now, &self.calendar, &self.thresholds);
                if colour != p.colour && self.store.record_colour(p.id, p.status, p.colour, colour, now).await? {
                    let c = change(&p, colour, now);
                    self.publish(&c);
                    seen(&c);
                    turned.push(Turned { case: p.id, unit: p.responsible_unit.clone(), colour });
                }
            }
        }
        let issued = letters::issue_for_colours(&self.store, &turned, &self.letters, &self.calendar, now).await?;
        let ledgers = letters::issue_for_ledgers(&self.store, &self.letters, &self.calendar, now).await?;
        let escalated = letters::escalate_unanswered(&self.store, &self.letters, &self.calendar, now).await?;
        if !issued.is_empty() || !ledgers.is_empty() || !escalated.is_empty() {
            tracing::info!(
                issued = issued.len(),
                ledgers = ledgers.len(),
                escalated = escalated.len(),
                "supervision letters sent"
            );
        }
        Ok(())
    }

    fn publish(&self, c: &ColourChange) {
        let _ = self.changes.send(c.clone()); // nobody listening is fine
        if let Some(hook) = self.webhook.clone() {
            let c = c.clone();
            tokio::spawn(async move {
                if let Err(e) = hook.deliver(&c).await {
                    tracing::warn!(problem = c.problem_id, error = %e, "webhook delivery failed");
                }
            });
        }
    }

    /// Runs [`Escalator::tick`] every `every` until the task is dropped.
    pub async fn run(self, every: Duration) {
        let mut timer = tokio::time::interval(every);
        loop {
            timer.tick().await;
            let mut changed = 0usize;
            match self.pass(|_| changed += 1).await {
                Ok(()) if changed > 0 => tracing::info!(changes = changed, "colours changed"),
                Ok(()) => {}
                Err(e) => tracing::warn!(error = %e, "escalation pass failed; will retry"),
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(mac, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
