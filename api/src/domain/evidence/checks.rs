//! Tamper checks (防弄虚作假): does a photo fit the case it is attached to? Each failed check is
//! a flag shown to dispatchers and the office; closing a case on a flagged after-photo needs an
//! explicit override, which the audit log keeps.

use super::exif::Taken;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// At most this many of the 64 dHash bits differ between two copies of one picture (re-encoded,
/// resized, lightly edited). Different scenes differ in about half the bits.
pub const SAME_PICTURE_BITS: u32 = 6;

/// Which moment of a case a photo shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The problem as reported (整改前).
    Report,
    /// Work in progress (处置中).
    Handling,
    /// The fix, as the unit or the verifier shows it (整改后).
    Verification,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Report, Stage::Handling, Stage::Verification];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Report => "report",
            Stage::Handling => "handling",
            Stage::Verification => "verification",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Photos claiming to show work or the fix must be taken after the report.
    pub fn shows_the_fix(self) -> bool {
        self != Stage::Report
    }
}

/// One reason to doubt a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    /// No EXIF at all: a screenshot, an edited export, or a picture sent through a chat app.
    NoExif,
    /// EXIF without a capture time or a GPS position.
    NoTime,
    NoPosition,
    /// A GPS position no place on Earth has (latitude beyond ±90°, longitude beyond ±180°): a
    /// forged or broken EXIF, never a reason to skip the distance check.
    ImpossiblePosition {
        lon: f64,
        lat: f64,
    },
    /// Taken farther from the case than the limit.
    FarAway {
        distance_m: f64,
        limit_m: f64,
    },
    /// Claims to show the fix but was taken before the problem was reported.
    TakenBeforeReport {
        #[serde(with = "time::serde::rfc3339")]
        #[schema(value_type = String, format = DateTime)]
        taken_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        #[schema(value_type = String, format = DateTime)]
        reported_at: OffsetDateTime,
    },
    /// The same file, or the same picture re-encoded, is evidence for another case or another
    /// assessment point.
    Reused {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        problem_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        point: Option<String>,
        identical: bool,
    },
}

/// What a photo is evidence for: a case, or an assessment point (测评点位实景).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holder {
    Problem(i64),
    Point(String),
}

/// What the checks compare a photo with.
pub struct Case {
    pub lon: f64,
    pub lat: f64,
    pub reported_at: OffsetDateTime,
}

/// A photo already attached elsewhere that matches this one by SHA-256 or dHash.
pub struct Seen {
    pub holder: Holder,
    pub sha256: String,
    pub dhash: Option<u64>,
}

/// Every flag the photo earns. `taken` is its EXIF (`None`: none at all).
pub fn check(
    taken: Option<&Taken>,
    stage: Stage,
    case: &Case,
    limit_m: f64,
    sha256: &str,
    dhash: Option<u64>,
    elsewhere: &[Seen],
) -> Vec<Flag> {
    let mut flags = Vec::new();
    match taken {
        None => flags.push(Flag::NoExif),
        Some(t) => {
            match t.at {
                None => flags.push(Flag::NoTime),
                Some(at) if stage.shows_the_fix() && at < case.reported_at => {
                    flags.push(Flag::TakenBeforeReport { taken_at: at, reported_at: case.reported_at });
                }
                Some(_) => {}
            }
            match (t.lon, t.lat) {
                (Some(lon), Some(lat)) if !possible(lon, lat) => {
                    // NaN never survives JSON: an impossible position is shown as 0 where not a number.
                    let shown = |v: f64| if v.is_finite() { v } else { 0.0 };
                    flags.push(Flag::ImpossiblePosition { lon: shown(lon), lat: shown(lat) });
                }
                (Some(lon), Some(lat)) => {
                    let d =
                        spatial::geodesy::distance_m(geo::Point::new(case.lon, case.lat), geo::Point::new(lon, lat));
                    if d > limit_m {
                        flags.push(Flag::FarAway { distance_m: (d * 10.0).round() / 10.0, limit_m });
                    }
                }
                _ => flags.push(Flag::NoPosition),
            }
        }
    }
    // One flag per other case or point; identical when any of its files is this very file.
    let mut reused: std::collections::BTreeMap<&Holder, bool> = std::collections::BTreeMap::new();
    for s in elsewhere {
        let identical = s.sha256 == sha256;
        let similar = matches!((s.dhash, dhash), (Some(a), Some(b)) if (a ^ b).count_ones() <= SAME_PICTURE_BITS);
        if identical || similar {
            *reused.entry(&s.holder).or_default() |= identical;
        }
    }
    flags.extend(reused.into_iter().map(|(holder, identical)| match holder {
        Holder::Problem(id) => Flag::Reused { problem_id: Some(*id), point: None, identical },
        Holder::Point(code) => Flag::Reused { problem_id: None, point: Some(code.clone()), identical },
    }));
    flags
}

/// Is (lon, lat) a place on Earth?
fn possible(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn case() -> Case {
        Case { lon: 116.4, lat: 39.9, reported_at: datetime!(2026-11-30 09:00 +8) }
    }

    fn taken(at: OffsetDateTime, lon: f64, lat: f64) -> Taken {
        Taken { at: Some(at), lon: Some(lon), lat: Some(lat), device: Some("Phone".into()) }
    }

    #[test]
    fn a_genuine_after_photo_has_no_flag() {
        let t = taken(datetime!(2026-11-30 15:00 +8), 116.4005, 39.9);
        assert_eq!(check(Some(&t), Stage::Verification, &case(), 100.0, "a", Some(0), &[]), vec![]);
    }

    #[test]
    fn far_early_missing_and_reused_photos_are_flagged() {
        let early_and_far = taken(datetime!(2026-11-29 15:00 +8), 116.41, 39.9);
        let flags = check(Some(&early_and_far), Stage::Verification, &case(), 100.0, "a", None, &[]);
        assert!(matches!(flags[0], Flag::TakenBeforeReport { .. }), "{flags:?}");
        assert!(
            matches!(flags[1], Flag::FarAway { distance_m, .. } if (850.0..860.0).contains(&distance_m)),
            "{flags:?}"
        );
        // An impossible EXIF position is a flag of its own, never a way around the distance check.
        for (lon, lat) in [(116.4, 1000.0), (116.4, 90.0001), (116.4, -1000.0), (181.0, 39.9), (f64::NAN, 39.9)] {
            let forged = taken(datetime!(2026-11-30 15:00 +8), lon, lat);
            let flags = check(Some(&forged), Stage::Verification, &case(), 100.0, "a", None, &[]);
            assert!(matches!(flags.as_slice(), [Flag::ImpossiblePosition { .. }]), "{lon},{lat}: {flags:?}");
        }
        // A report photo may predate the report (it shows the problem).
        assert_eq!(check(Some(&early_and_far), Stage::Report, &case(), 1000.0, "a", None, &[]), vec![]);
        assert_eq!(check(None, Stage::Report, &case(), 100.0, "a", None, &[]), vec![Flag::NoExif]);
        let seen = [
            Seen { holder: Holder::Problem(7), sha256: "z".into(), dhash: Some(1) },
            Seen { holder: Holder::Problem(7), sha256: "a".into(), dhash: None },
            Seen { holder: Holder::Problem(8), sha256: "b".into(), dhash: Some(0b1111) },
            Seen { holder: Holder::Problem(9), sha256: "c".into(), dhash: Some(u64::MAX) },
            Seen { holder: Holder::Point("P1".into()), sha256: "d".into(), dhash: Some(0b11) },
        ];
        let t = taken(datetime!(2026-11-30 15:00 +8), 116.4, 39.9);
        assert_eq!(
            check(Some(&t), Stage::Report, &case(), 100.0, "a", Some(0), &seen),
            vec![
                Flag::Reused { problem_id: Some(7), point: None, identical: true },
                Flag::Reused { problem_id: Some(8), point: None, identical: false },
                Flag::Reused { problem_id: None, point: Some("P1".into()), identical: false },
            ]
        );
    }
}
