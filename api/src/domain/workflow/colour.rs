//! Three-colour escalation (三色督办): blue when a deadline approaches, yellow when overdue or
//! reworked, red when seriously overdue or reworked again. Thresholds are a city's to set.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    None,
    /// 蓝牌 — the deadline approaches.
    Blue,
    /// 黄牌 — overdue, or poor quality (a rework).
    Yellow,
    /// 红牌 — seriously overdue, or reworked again: formal notice, points deducted.
    Red,
}

impl Colour {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Blue => "blue",
            Self::Yellow => "yellow",
            Self::Red => "red",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "none" | "" => Ok(Self::None),
            "blue" => Ok(Self::Blue),
            "yellow" => Ok(Self::Yellow),
            "red" => Ok(Self::Red),
            other => Err(format!("unknown colour {other:?}: use none, blue, yellow or red")),
        }
    }
}

/// When each colour starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Share of the limit used that turns a case blue (default 0.8).
    pub blue_share: f64,
    /// Share of the limit used that turns a case red: 2.0 = overdue by its full limit again.
    pub red_share: f64,
    /// Reworks that make a case yellow (default 1) and red (default 2).
    pub yellow_reworks: u32,
    pub red_reworks: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { blue_share: 0.8, red_share: 2.0, yellow_reworks: 1, red_reworks: 2 }
    }
}

/// The colour of an open case that has used `share` of its limit (`None` before a deadline is
/// set) and been reworked `reworks` times; serious categories start at `floor`.
pub fn colour(share: Option<f64>, reworks: u32, floor: Colour, t: &Thresholds) -> Colour {
    let by_time = match share {
        Some(s) if s >= t.red_share => Colour::Red,
        Some(s) if s >= 1.0 => Colour::Yellow,
        Some(s) if s >= t.blue_share => Colour::Blue,
        _ => Colour::None,
    };
    let by_quality = if reworks >= t.red_reworks {
        Colour::Red
    } else if reworks >= t.yellow_reworks {
        Colour::Yellow
    } else {
        Colour::None
    };
    by_time.max(by_quality).max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_time_quality_and_severity() {
        let t = Thresholds::default();
        assert_eq!(colour(None, 0, Colour::None, &t), Colour::None);
        assert_eq!(colour(Some(0.5), 0, Colour::None, &t), Colour::None);
        assert_eq!(colour(Some(0.8), 0, Colour::None, &t), Colour::Blue);
        assert_eq!(colour(Some(1.0), 0, Colour::None, &t), Colour::Yellow);
        assert_eq!(colour(Some(1.99), 0, Colour::None, &t), Colour::Yellow);
        assert_eq!(colour(Some(2.0), 0, Colour::None, &t), Colour::Red);
        assert_eq!(colour(Some(0.1), 1, Colour::None, &t), Colour::Yellow);
        assert_eq!(colour(Some(0.1), 2, Colour::None, &t), Colour::Red);
        assert_eq!(colour(None, 0, Colour::Yellow, &t), Colour::Yellow, "serious matters start at yellow");
        let strict = Thresholds { blue_share: 0.5, ..t };
        assert_eq!(colour(Some(0.6), 0, Colour::None, &strict), Colour::Blue);
    }
}
