//! Deadlines (限时整改) on a city's working calendar: four units of time limit, weekends,
//! holidays and swapped working weekends (调休).

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// The unit a category's time limit is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// 紧急 — hours on the continuous clock.
    UrgentHours,
    /// 工作时 — hours inside working hours on working days.
    WorkingHours,
    /// 工作日 — working days (each one working day's worth of working hours).
    WorkingDays,
    /// 自然日 — calendar days on the continuous clock.
    NaturalDays,
}

impl LimitUnit {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "urgent_hours" => Ok(Self::UrgentHours),
            "working_hours" => Ok(Self::WorkingHours),
            "working_days" => Ok(Self::WorkingDays),
            "natural_days" => Ok(Self::NaturalDays),
            other => Err(format!(
                "unknown time-limit unit {other:?}: use urgent_hours, working_hours, working_days or natural_days"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UrgentHours => "urgent_hours",
            Self::WorkingHours => "working_hours",
            Self::WorkingDays => "working_days",
            Self::NaturalDays => "natural_days",
        }
    }
}

/// A city's working calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingCalendar {
    pub offset: UtcOffset,
    pub day_start: Time,
    pub day_end: Time,
    /// Weekdays that are not worked (public holidays).
    pub holidays: BTreeSet<Date>,
    /// Weekend days that are worked (调休).
    pub working_weekends: BTreeSet<Date>,
}

impl Default for WorkingCalendar {
    /// China Standard Time, 09:00–17:00, Monday to Friday, no holidays configured.
    fn default() -> Self {
        Self {
            offset: UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC),
            day_start: Time::from_hms(9, 0, 0).unwrap_or(Time::MIDNIGHT),
            day_end: Time::from_hms(17, 0, 0).unwrap_or(Time::MIDNIGHT),
            holidays: BTreeSet::new(),
            working_weekends: BTreeSet::new(),
        }
    }
}

/// A city's calendar as written in its JSON file (every field optional):
/// `{"utc_offset": "+08:00", "day_start": "09:00", "day_end": "17:00",
///   "holidays": ["2026-10-01", …], "working_weekends": ["2026-10-10", …]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    utc_offset: Option<String>,
    day_start: Option<String>,
    day_end: Option<String>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    working_weekends: Vec<String>,
}

impl WorkingCalendar {
    /// Reads a calendar file's JSON; every mistake is named with its field.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: CalendarFile = serde_json::from_str(text).map_err(|e| format!("calendar: {e}"))?;
        let mut cal = WorkingCalendar::default();
        if let Some(o) = file.utc_offset {
            let format = time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]");
            cal.offset = UtcOffset::parse(&o, format)
                .map_err(|_| format!("calendar: utc_offset {o:?} must look like +08:00"))?;
        }
        let hm = time::macros::format_description!("[hour]:[minute]");
        if let Some(t) = file.day_start {
            cal.day_start =
                Time::parse(&t, hm).map_err(|_| format!("calendar: day_start {t:?} must look like 09:00"))?;
        }
        if let Some(t) = file.day_end {
            cal.day_end = Time::parse(&t, hm).map_err(|_| format!("calendar: day_end {t:?} must look like 17:00"))?;
        }
        if cal.day_end <= cal.day_start {
            return Err("calendar: day_end must be after day_start".into());
        }
        let ymd = time::macros::format_description!("[year]-[month]-[day]");
        let dates = |list: Vec<String>, field: &str| -> Result<BTreeSet<Date>, String> {
            list.iter()
                .map(|d| Date::parse(d, ymd).map_err(|_| format!("calendar: {field}: {d:?} is not a date YYYY-MM-DD")))
                .collect()
        };
        cal.holidays = dates(file.holidays, "holidays")?;
        cal.working_weekends = dates(file.working_weekends, "working_weekends")?;
        Ok(cal)
    }
}

/// No calendar has more than ten years without a working day; stop looking after that.
const MAX_DAYS: i64 = 3660;

impl WorkingCalendar {
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.working_weekends.contains(&date) {
            return true;
        }
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.holidays.contains(&date)
    }

    fn working_day_seconds(&self) -> i64 {
        (self.day_end - self.day_start).whole_seconds().max(0)
    }

    fn at(&self, date: Date, time: Time) -> OffsetDateTime {
        PrimitiveDateTime::new(date, time).assume_offset(self.offset)
    }

    /// The moment `seconds` of working time after `start`.
    fn add_working_seconds(&self, start: OffsetDateTime, seconds: i64) -> Option<OffsetDateTime> {
        let mut t = start.to_offset(self.offset);
        let mut remaining = seconds.max(0);
        for _ in 0..MAX_DAYS {
            let day = t.date();
            if self.is_working_day(day) {
                let (open, close) = (self.at(day, self.day_start), self.at(day, self.day_end));
                if t < open {
                    t = open;
                }
                if t < close {
                    let available = (close - t).whole_seconds();
                    if remaining <= available {
                        return Some(t + Duration::seconds(remaining));
                    }
                    remaining -= available;
                }
            }
            t = self.at(day.next_day()?, Time::MIDNIGHT);
        }
        None
    }

    /// Working time between two moments, in seconds (0 when `to` is not after `from`).
    pub fn working_seconds_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> i64 {
        if to <= from {
            return 0;
        }
        let (from, to) = (from.to_offset(self.offset), to.to_offset(self.offset));
        let mut total = 0;
        let mut day = from.date();
        for _ in 0..MAX_DAYS {
            if day > to.date() {
                break;
            }
            if self.is_working_day(day) {
                let open = self.at(day, self.day_start).max(from);
                let close = self.at(day, self.day_end).min(to);
                if close > open {
                    total += (close - open).whole_seconds();
                }
            }
            match day.next_day() {
                Some(d) => day = d,
                None => break,
            }
        }
        total
    }

    /// The deadline for a limit of `amount` `unit`s starting at `start`.
    pub fn deadline(&self, start: OffsetDateTime, amount: u32, unit: LimitUnit) -> Option<OffsetDateTime> {
        let amount = i64::from(amount);
        match unit {
            LimitUnit::UrgentHours => Some(start + Duration::hours(amount)),
            LimitUnit::NaturalDays => Some(start + Duration::days(amount)),
            LimitUnit::WorkingHours => self.add_working_seconds(start, amount * 3600),
            LimitUnit::WorkingDays => self.add_working_seconds(start, amount * self.working_day_seconds()),
        }
    }

    /// How much of the limit has been used at `now`, as a share (1.0 = deadline reached), measured
    /// in the limit's own clock.
    pub fn share_used(
        &self,
        start: OffsetDateTime,
        deadline: OffsetDateTime,
        now: OffsetDateTime,
        unit: LimitUnit,
    ) -> f64 {
        let (used, total) = match unit {
            LimitUnit::UrgentHours | LimitUnit::NaturalDays => {
                ((now - start).whole_seconds(), (deadline - start).whole_seconds())
            }
            LimitUnit::WorkingHours | LimitUnit::WorkingDays => {
                let total = self.working_seconds_between(start, deadline);
                let used = self.working_seconds_between(start, now);
                // After the deadline, count overdue time on the same clock, continuing past it.
                let overdue = if now > deadline { self.working_seconds_between(deadline, now) } else { 0 };
                (used.min(total) + overdue, total)
            }
        };
        if total <= 0 {
            return if now >= deadline { f64::INFINITY } else { 0.0 };
        }
        used as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    /// Mid-autumn week of a made-up year: Thu 2026-10-01 and Fri 10-02 are holidays, Sat 10-10 is
    /// a working weekend.
    fn calendar() -> WorkingCalendar {
        WorkingCalendar {
            holidays: [date!(2026 - 10 - 01), date!(2026 - 10 - 02)].into(),
            working_weekends: [date!(2026 - 10 - 10)].into(),
            ..WorkingCalendar::default()
        }
    }

    #[test]
    fn urgent_hours_and_natural_days_ignore_the_calendar() {
        let c = calendar();
        let start = datetime!(2026-09-30 16:00 +08:00);
        assert_eq!(c.deadline(start, 4, LimitUnit::UrgentHours), Some(datetime!(2026-09-30 20:00 +08:00)));
        assert_eq!(c.deadline(start, 3, LimitUnit::NaturalDays), Some(datetime!(2026-10-03 16:00 +08:00)));
    }

    #[test]
    fn working_hours_skip_nights_weekends_and_holidays() {
        let c = calendar();
        // Wed 16:00 + 4 working hours: 1 h Wednesday, then Thu/Fri holidays, Sat/Sun weekend → Mon 12:00.
        let start = datetime!(2026-09-30 16:00 +08:00);
        assert_eq!(c.deadline(start, 4, LimitUnit::WorkingHours), Some(datetime!(2026-10-05 12:00 +08:00)));
        // Started in the night: the clock starts at 09:00.
        let night = datetime!(2026-10-05 02:00 +08:00);
        assert_eq!(c.deadline(night, 2, LimitUnit::WorkingHours), Some(datetime!(2026-10-05 11:00 +08:00)));
        // The swapped Saturday is worked.
        let friday = datetime!(2026-10-09 15:00 +08:00);
        assert_eq!(c.deadline(friday, 3, LimitUnit::WorkingHours), Some(datetime!(2026-10-10 10:00 +08:00)));
        // Times given in UTC are read on the city's clock.
        assert_eq!(
            c.deadline(datetime!(2026-09-30 08:00 UTC), 4, LimitUnit::WorkingHours),
            Some(datetime!(2026-10-05 12:00 +08:00))
        );
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let c = calendar();
        // Wed 10:00 + 2 working days → Mon (1) … Tue 10:00 (2).
        let start = datetime!(2026-09-30 10:00 +08:00);
        assert_eq!(c.deadline(start, 2, LimitUnit::WorkingDays), Some(datetime!(2026-10-06 10:00 +08:00)));
    }

    #[test]
    fn share_used_counts_on_the_limits_clock() {
        let c = calendar();
        let start = datetime!(2026-10-05 09:00 +08:00);
        let deadline = c.deadline(start, 10, LimitUnit::WorkingHours).expect("deadline");
        assert_eq!(deadline, datetime!(2026-10-06 11:00 +08:00));
        // 8 of 10 working hours used by Monday 17:00; the night adds nothing.
        let share = c.share_used(start, deadline, datetime!(2026-10-06 08:00 +08:00), LimitUnit::WorkingHours);
        assert!((share - 0.8).abs() < 1e-9, "{share}");
        // Overdue by another full limit → 2.0.
        let late = c.deadline(deadline, 10, LimitUnit::WorkingHours).expect("late");
        let share = c.share_used(start, deadline, late, LimitUnit::WorkingHours);
        assert!((share - 2.0).abs() < 1e-9, "{share}");
        let urgent =
            c.share_used(start, start + Duration::hours(4), start + Duration::hours(3), LimitUnit::UrgentHours);
        assert!((urgent - 0.75).abs() < 1e-9);
    }

    #[test]
    fn calendars_are_read_from_json_and_mistakes_named() {
        let c = WorkingCalendar::from_json(
            r#"{"utc_offset": "+08:00", "day_start": "08:30", "day_end": "17:30",
                "holidays": ["2026-10-01", "2026-10-02"], "working_weekends": ["2026-10-10"]}"#,
        )
        .expect("calendar");
        assert!(!c.is_working_day(date!(2026 - 10 - 01)) && c.is_working_day(date!(2026 - 10 - 10)));
        // Wed 17:00 + 1 working hour: 30 min that evening, holidays, weekend, 30 min on Monday.
        assert_eq!(
            c.deadline(datetime!(2026-09-30 17:00 +08:00), 1, LimitUnit::WorkingHours),
            Some(datetime!(2026-10-05 09:00 +08:00))
        );
        assert!(WorkingCalendar::from_json(r#"{"holidays": ["1 Oct"]}"#).expect_err("bad").contains("holidays"));
        assert!(WorkingCalendar::from_json(r#"{"day_start": "18:00"}"#).expect_err("bad").contains("after"));
        assert!(WorkingCalendar::from_json(r#"{"weekend": []}"#).is_err());
    }

    #[test]
    fn a_calendar_without_working_days_gives_no_deadline() {
        let c = WorkingCalendar { day_end: Time::from_hms(9, 0, 0).expect("time"), ..WorkingCalendar::default() };
        assert_eq!(c.deadline(datetime!(2026-10-05 09:00 +08:00), 1, LimitUnit::WorkingHours), None);
    }
}
