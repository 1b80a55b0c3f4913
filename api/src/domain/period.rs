//! Reporting periods in the city's time zone: an ISO week (`2026-W47`), a month (`2026-11`), a
//! quarter (`2026-Q4`) or a year (`2026`), each from its first midnight to the next period's.

use serde::Serialize;
use time::{Date, Month, OffsetDateTime, Time, UtcOffset, Weekday};

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    Week,
    Month,
    Quarter,
    Year,
}

/// A period: `[start, end)`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Period {
    /// As written: 2026-W47, 2026-11, 2026-Q4, 2026.
    pub label: String,
    pub kind: PeriodKind,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub end: OffsetDateTime,
}

impl Period {
    /// Parses `2026-W47`, `2026-11`, `2026-Q4` or `2026`.
    pub fn parse(text: &str, offset: UtcOffset) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a period like 2026-W47, 2026-11, 2026-Q4 or 2026");
        let number = |s: &str| -> Result<i32, String> {
            if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse().map_err(|_| bad())
        };
        let midnight = |d: Date| d.with_time(Time::MIDNIGHT).assume_offset(offset);
        let first_of = |year: i32, month: u8| -> Result<Date, String> {
            let month = Month::try_from(month).map_err(|_| bad())?;
            Date::from_calendar_date(year, month, 1).map_err(|_| bad())
        };
        let (kind, label, start, end) = match text.split_once('-') {
            None => {
                let year = number(text)?;
                (PeriodKind::Year, format!("{year}"), first_of(year, 1)?, first_of(year + 1, 1)?)
            }
            Some((year, rest)) => {
                let year = number(year)?;
                if let Some(week) = rest.strip_prefix('W') {
                    let week = u8::try_from(number(week)?).map_err(|_| bad())?;
                    let monday = Date::from_iso_week_date(year, week, Weekday::Monday).map_err(|_| bad())?;
                    (PeriodKind::Week, format!("{year}-W{week:02}"), monday, monday + time::Duration::weeks(1))
                } else if let Some(quarter) = rest.strip_prefix('Q') {
                    let quarter = u8::try_from(number(quarter)?).map_err(|_| bad())?;
                    if !(1..=4).contains(&quarter) {
                        return Err(bad());
                    }
                    let start = first_of(year, 3 * quarter - 2)?;
                    let end = if quarter == 4 { first_of(year + 1, 1)? } else { first_of(year, 3 * quarter + 1)? };
                    (PeriodKind::Quarter, format!("{year}-Q{quarter}"), start, end)
                } else {
                    let month = u8::try_from(number(rest)?).map_err(|_| bad())?;
                    let start = first_of(year, month)?;
                    let end = if month == 12 { first_of(year + 1, 1)? } else { first_of(year, month + 1)? };
                    (PeriodKind::Month, format!("{year}-{month:02}"), start, end)
                }
            }
        };
        Ok(Self { label, kind, start: midnight(start), end: midnight(end) })
    }

    /// As people write it: 2026年第47周, 2026年11月, 2026年第四季度, 2026年.
    pub fn zh(&self) -> String {
        let first = self.start.date(); // its own offset is the city's
        let (year, month) = (first.year(), u8::from(first.month()));
        match self.kind {
            PeriodKind::Week => {
                let (year, week, _) = first.to_iso_week_date();
                format!("{year}年第{week}周")
            }
            PeriodKind::Month => format!("{year}年{month}月"),
            PeriodKind::Quarter => format!("{year}年第{}季度", ["一", "二", "三", "四"][usize::from((month - 1) / 3)]),
            PeriodKind::Year => format!("{year}年"),
        }
    }

    /// The period of the same length just before this one.
    pub fn previous(&self, offset: UtcOffset) -> Self {
        let last_day = (self.start.to_offset(offset) - time::Duration::days(1)).date();
        let label = match self.kind {
            PeriodKind::Week => {
                let (year, week, _) = last_day.to_iso_week_date();
                format!("{year}-W{week:02}")
            }
            PeriodKind::Month => format!("{}-{:02}", last_day.year(), u8::from(last_day.month())),
            PeriodKind::Quarter => format!("{}-Q{}", last_day.year(), u8::from(last_day.month()).div_ceil(3)),
            PeriodKind::Year => format!("{}", last_day.year()),
        };
        Self::parse(&label, offset).unwrap_or_else(|_| self.clone())
    }

    /// Its first and last day.
    pub fn days(&self, offset: UtcOffset) -> (Date, Date) {
        (self.start.to_offset(offset).date(), (self.end.to_offset(offset) - time::Duration::days(1)).date())
    }

    /// The month before the one that holds `t`: the last whole month, the one evaluated.
    pub fn month_before(t: OffsetDateTime, offset: UtcOffset) -> Self {
        let first = t.to_offset(offset).date().replace_day(1).unwrap_or(t.date());
        Self::month_of(first.midnight().assume_offset(offset) - time::Duration::days(1), offset)
    }

    /// The month that holds `t` (in the city's time zone).
    pub fn month_of(t: OffsetDateTime, offset: UtcOffset) -> Self {
        let d = t.to_offset(offset).date();
        let label = format!("{}-{:02}", d.year(), u8::from(d.month()));
        Self::parse(&label, offset).unwrap_or(Self { label, kind: PeriodKind::Month, start: t, end: t })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn weeks_months_quarters_and_years() {
        let cst = offset!(+8);
        let p = Period::parse("2026-11", cst).expect("month");
        assert_eq!(
            (p.kind, p.start, p.end),
            (PeriodKind::Month, datetime!(2026-11-01 0:00 +8), datetime!(2026-12-01 0:00 +8))
        );
        let p = Period::parse("2026-12", cst).expect("December");
        assert_eq!(p.end, datetime!(2027-01-01 0:00 +8));
        let p = Period::parse("2026-Q4", cst).expect("quarter");
        assert_eq!((p.start, p.end), (datetime!(2026-10-01 0:00 +8), datetime!(2027-01-01 0:00 +8)));
        let p = Period::parse("2026-Q1", cst).expect("quarter");
        assert_eq!((p.start, p.end), (datetime!(2026-01-01 0:00 +8), datetime!(2026-04-01 0:00 +8)));
        let p = Period::parse("2026", cst).expect("year");
        assert_eq!((p.kind, p.label.as_str(), p.end), (PeriodKind::Year, "2026", datetime!(2027-01-01 0:00 +8)));
        let p = Period::parse("2026-W47", cst).expect("week");
        assert_eq!((p.start, p.end), (datetime!(2026-11-16 0:00 +8), datetime!(2026-11-23 0:00 +8)));
        assert_eq!(Period::parse("2026-3", cst).expect("month").label, "2026-03");
        for wrong in ["", "2026-13", "2026-Q5", "2026-Q0", "2026-W54", "26-11-01", "2026-", "-11", "2026-+1", "x"] {
            assert!(Period::parse(wrong, cst).is_err(), "{wrong:?}");
        }
        assert_eq!(Period::month_of(datetime!(2026-11-30 17:00 UTC), cst).label, "2026-12");
        assert_eq!(Period::month_before(datetime!(2026-12-06 10:00 +8), cst).label, "2026-11");
        assert_eq!(Period::month_before(datetime!(2027-01-01 00:00 +8), cst).label, "2026-12");
    }

    #[test]
    fn periods_in_words_and_the_one_before() {
        let cst = offset!(+8);
        let named = |label: &str| {
            let p = Period::parse(label, cst).expect("period");
            (p.zh(), p.previous(cst).label)
        };
        assert_eq!(named("2026-W47"), ("2026年第47周".to_string(), "2026-W46".to_string()));
        assert_eq!(named("2026-W01"), ("2026年第1周".to_string(), "2025-W52".to_string()));
        assert_eq!(named("2027-W01"), ("2027年第1周".to_string(), "2026-W53".to_string()));
        assert_eq!(named("2026-01"), ("2026年1月".to_string(), "2025-12".to_string()));
        assert_eq!(named("2026-11"), ("2026年11月".to_string(), "2026-10".to_string()));
        assert_eq!(named("2026-Q1"), ("2026年第一季度".to_string(), "2025-Q4".to_string()));
        assert_eq!(named("2026-Q4"), ("2026年第四季度".to_string(), "2026-Q3".to_string()));
        assert_eq!(named("2026"), ("2026年".to_string(), "2025".to_string()));
        let week = Period::parse("2026-W47", cst).expect("week");
        assert_eq!(week.days(cst), (time::macros::date!(2026 - 11 - 16), time::macros::date!(2026 - 11 - 22)));
    }
}
