//! Time is injected so deadlines, escalations and weeks can be tested without sleeping.

use time::OffsetDateTime;

/// A time as RFC 3339 text, as every response and export writes it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

// Days as `2026-11-23` (time's own serde writes a date as `[year, ordinal]`).
time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock, to the microsecond: what PostgreSQL keeps, so a stored time reads back equal.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1000 * 1000).unwrap_or(now)
    }
}

/// A clock that always says the same time (tests, deterministic seeding).
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// A clock that runs `rate` times faster than real time from `start`: for demos that replay a
/// working day in minutes, and for tests of escalation over the real binary.
pub struct SimulatedClock {
    start: OffsetDateTime,
    rate: f64,
    origin: std::time::Instant,
    /// The wall-clock time at which it reads `start`, when given: several processes then share
    /// one simulated clock (two API nodes in a test). Otherwise, the moment it was made.
    anchor: Option<OffsetDateTime>,
}

impl SimulatedClock {
    pub fn new(start: OffsetDateTime, rate: f64) -> Self {
        Self { start, rate: rate.max(0.0), origin: std::time::Instant::now(), anchor: None }
    }

    /// A clock that read `start` at the wall-clock time `anchor`.
    pub fn anchored(start: OffsetDateTime, rate: f64, anchor: OffsetDateTime) -> Self {
        Self { anchor: Some(anchor), ..Self::new(start, rate) }
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> OffsetDateTime {
        let real = match self.anchor {
            Some(anchor) => (OffsetDateTime::now_utc() - anchor).as_seconds_f64().max(0.0),
            None => self.origin.elapsed().as_secs_f64(),
        };
        let elapsed = real * self.rate;
        let t = self.start + time::Duration::seconds_f64(elapsed);
        t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
    }
}

/// A clock tests move by hand.
pub struct ManualClock(std::sync::Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(t: OffsetDateTime) -> Self {
        Self(std::sync::Mutex::new(t))
    }

    pub fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
