//! Responsibility grids (网格) and their levels.

use geo::MultiPolygon;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The levels of the grid hierarchy (Beijing DB11/T 2157-2023): district 区 → street 街道 →
/// community 社区 → unit grid 单元网格. Codes grow by 6, 9, 12 and 15 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GridLevel {
    District,
    Street,
    Community,
    Grid,
}

impl GridLevel {
    pub const ALL: [GridLevel; 4] = [Self::District, Self::Street, Self::Community, Self::Grid];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Street => "street",
            Self::Community => "community",
            Self::Grid => "grid",
        }
    }

    /// The level a code of the Beijing scheme implies by its length, if any.
    pub fn from_code(code: &str) -> Option<Self> {
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        match code.len() {
            6 => Some(Self::District),
            9 => Some(Self::Street),
            12 => Some(Self::Community),
            15 => Some(Self::Grid),
            _ => None,
        }
    }
}

impl fmt::Display for GridLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GridLevel {
    type Err = String;

    /// Accepts the English names, the Chinese terms and the numbers 1–4.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "district" | "区" | "1" => Ok(Self::District),
            "street" | "街道" | "2" => Ok(Self::Street),
            "community" | "社区" | "3" => Ok(Self::Community),
            "grid" | "unit" | "网格" | "单元网格" | "4" => Ok(Self::Grid),
            other => Err(format!(
                "unknown level {other:?}: use district, street, community or grid (区/街道/社区/网格, or 1-4)"
            )),
        }
    }
}

/// One grid as gridwatch knows it: its identity, its owners and its boundary in EPSG:4326.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub code: String,
    pub name: Option<String>,
    pub parent_code: Option<String>,
    pub level: Option<GridLevel>,
    /// 牵头部门
    pub lead_department: Option<String>,
    /// 责任单位
    pub responsible_unit: Option<String>,
    /// 网格员
    pub officer: Option<String>,
    pub geometry: MultiPolygon<f64>,
}

impl Grid {
    /// A grid with only a code and a boundary.
    pub fn new(code: impl Into<String>, geometry: MultiPolygon<f64>) -> Self {
        Self {
            code: code.into(),
            name: None,
            parent_code: None,
            level: None,
            lead_department: None,
            responsible_unit: None,
            officer: None,
            geometry,
        }
    }

    /// Same attributes (everything but the geometry).
    pub fn same_attributes(&self, other: &Grid) -> bool {
        self.code == other.code
            && self.name == other.name
            && self.parent_code == other.parent_code
            && self.level == other.level
            && self.lead_department == other.lead_department
            && self.responsible_unit == other.responsible_unit
            && self.officer == other.officer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_both_languages_and_from_codes() {
        assert_eq!("街道".parse::<GridLevel>(), Ok(GridLevel::Street));
        assert_eq!("Community".parse::<GridLevel>(), Ok(GridLevel::Community));
        assert_eq!("4".parse::<GridLevel>(), Ok(GridLevel::Grid));
        assert!("county".parse::<GridLevel>().is_err());
        assert_eq!(GridLevel::from_code("110101"), Some(GridLevel::District));
        assert_eq!(GridLevel::from_code("110101001001001"), Some(GridLevel::Grid));
        assert_eq!(GridLevel::from_code("11010100100"), None);
    }
}
