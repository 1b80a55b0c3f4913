//! Group commit (成批提交) for intake: reports that arrive together are stored in one
//! transaction, so a burst of reports costs one commit (one WAL flush) instead of one each.
//! Every caller still waits for the commit that holds its own report: nothing is acknowledged
//! before it is durable. The batch's likely duplicates (open cases of the same category nearby)
//! are found in one query too, and so are the recently closed cases each report may recur (反弹).

use crate::app::hotspots::{near_probe, recur};
use crate::app::metrics::METRICS;
use crate::domain::hotspots::RecurrenceRule;
use crate::domain::problem::{Duplicate, NewProblem, Problem};
use crate::store::{KeyedProblem, NearProbe, Store, StoreError};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot, Mutex};

/// Reports at most in one transaction: enough to amortise the commit, few enough that the
/// first report in a batch does not wait long for the last.
pub const MAX_BATCH: usize = 128;
/// Transactions in flight at once: one fills while another commits.
pub const WRITERS: usize = 4;
/// Reports waiting for a writer before callers wait to queue (back-pressure).
const QUEUE: usize = 4_096;

type Reply = oneshot::Sender<Result<(Problem, bool), StoreError>>;

pub struct GroupCommit {
    store: Arc<Store>,
    /// Same-category open cases this close (metres) to a report are its likely duplicates.
    duplicate_metres: f64,
    /// A report this close to a case of its category closed this recently recurs it.
    recurrence: RecurrenceRule,
    /// Started on first use, inside the server's runtime.
    queue: OnceLock<mpsc::Sender<(KeyedProblem, Reply)>>,
}

impl GroupCommit {
    pub fn new(store: Arc<Store>, duplicate_metres: f64, recurrence: RecurrenceRule) -> Self {
        Self { store, duplicate_metres, recurrence, queue: OnceLock::new() }
    }

    /// Stores `report` (once per idempotency key) and returns after the commit that holds it.
    pub async fn submit(&self, report: KeyedProblem) -> Result<(Problem, bool), StoreError> {
        let queue = self.queue.get_or_init(|| start(self.store.clone(), self.duplicate_metres, self.recurrence));
        let (reply, answer) = oneshot::channel();
        METRICS.intake_queue.fetch_add(1, Relaxed);
        if let Err(mpsc::error::SendError((report, _))) = queue.send((report, reply)).await {
            METRICS.intake_queue.fetch_sub(1, Relaxed);
            // The writers are gone (shutting down): store it directly.
            return self.store.insert_problem_once(report.problem, report.idempotency, &report.actor).await;
        }
        answer.await.map_err(|_| StoreError::Corrupt("the intake writer stopped before answering".into()))?
    }
}

fn start(store: Arc<Store>, duplicate_metres: f64, recurrence: RecurrenceRule) -> mpsc::Sender<(KeyedProblem, Reply)> {
    let (sender, receiver) = mpsc::channel(QUEUE);
    let receiver = Arc::new(Mutex::new(receiver));
    // SQLite takes one writer at a time: a second transaction would wait for the lock in SQLite's
    // busy handler, which sleeps in steps of up to 100 ms — the tail of intake's latency.
    let writers = if store.is_shared() { WRITERS } else { 1 };
    for _ in 0..writers {
        tokio::spawn(writer(store.clone(), receiver.clone(), duplicate_metres, recurrence));
    }
    sender
}

/// Takes whatever reports are waiting (at least one), stores them in one transaction, answers.
async fn writer(
    store: Arc<Store>,
    queue: Arc<Mutex<mpsc::Receiver<(KeyedProblem, Reply)>>>,
    duplicate_metres: f64,
    recurrence: RecurrenceRule,
) {
    loop {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        {
            let mut queue = queue.lock().await;
            if queue.recv_many(&mut jobs, MAX_BATCH).await == 0 {
                return; // every sender dropped
            }
        }
        METRICS.intake_queue.fetch_sub(jobs.len() as i64, Relaxed);
        METRICS.intake_batch.observe(jobs.len() as f64);
        let started = std::time::Instant::now();
        let (mut reports, replies): (Vec<KeyedProblem>, Vec<Reply>) = jobs.into_iter().unzip();
        // One search finds both what each report may duplicate (open cases) and what it may
        // recur (cases closed recently): one scan of the category's index, not two.
        let reach = if recurrence.is_on() { duplicate_metres.max(recurrence.metres) } else { duplicate_metres };
        let probes: Vec<NearProbe> = reports
            .iter()
            .map(|r| {
                let since = recurrence.is_on().then(|| recurrence.since(r.problem.created_at));
                near_probe(&r.problem, reach, since)
            })
            .collect();
        match store.near(&probes).await {
            Ok(near) => {
                for (report, found) in reports.iter_mut().zip(near) {
                    let open = found.iter().filter(|n| n.closed_at.is_none()).cloned().collect();
                    report.problem.likely_duplicates = duplicates(&report.problem, open, duplicate_metres);
                    recur(&mut report.problem, &found, recurrence);
                }
            }
            // The database is away: storing would only wait for it again (and answer after twice
            // the pool's timeout). Every caller hears so now, and retries with its key.
            Err(e) if e.is_unavailable() => {
                unavailable(replies, &e);
                continue;
            }
            // Otherwise the reports are stored without the hints rather than refused.
            Err(e) => tracing::warn!(error = %e, "the search for cases nearby failed; storing without it"),
        }
        let stored = store.insert_problems_once(reports.clone()).await;
        METRICS.group_commit.observe_duration(started.elapsed());
        match stored {
            Ok(stored) => {
                for (reply, result) in replies.into_iter().zip(stored) {
                    let _ = reply.send(Ok(result)); // the caller may have gone (timeout)
                }
            }
            // Nothing was stored; one by one would wait for the database once per report.
            Err(e) if e.is_unavailable() => unavailable(replies, &e),
            // All or nothing failed: one report may be at fault (a key raced by another server),
            // or the database is away. Each report then gets its own transaction and answer.
            Err(e) if reports.len() > 1 => {
                tracing::debug!(error = %e, reports = reports.len(), "group commit failed; storing one by one");
                for (reply, r) in replies.into_iter().zip(reports) {
                    let _ = reply.send(store.insert_problem_once(r.problem, r.idempotency, &r.actor).await);
                }
            }
            Err(e) => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
        }
    }
}

/// Tells every caller of a batch that the database is away.
fn unavailable(replies: Vec<Reply>, cause: &StoreError) {
    tracing::warn!(error = %cause, reports = replies.len(), "the database is away; intake answers 503");
    for reply in replies {
        let _ = reply.send(Err(StoreError::Unavailable(cause.to_string())));
    }
}

/// The cases found in the box that lie within `radius` of the report, nearest first.
fn duplicates(p: &NewProblem, near: Vec<crate::store::Near>, radius: f64) -> Vec<Duplicate> {
    let here = geo::Point::new(p.lon, p.lat);
    let mut found: Vec<Duplicate> = near
        .into_iter()
        .map(|o| (spatial::geodesy::distance_m(here, geo::Point::new(o.lon, o.lat)), o))
        .filter(|(d, _)| *d <= radius)
        .map(|(d, o)| Duplicate {
            id: o.id,
            distance_m: (d * 10.0).round() / 10.0,
            grid_code: o.grid_code,
            responsible_unit: o.responsible_unit,
            reported_by: o.reported_by,
        })
        .collect();
    found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    found
}
