//! 核实: reports that did not come from the city's own people (a citizen, a citizen app, the
//! 12345 hotline) are confirmed on site by a grid officer before they become cases (GB/T 30428).
//! Which sources need it, and how soon, is the city's choice.

use super::calendar::LimitUnit;
use crate::domain::problem::Source;

/// The city's rule for confirming reports on site.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    /// Reports from these sources go to an officer when accepted (受理 → 核实 → 立案).
    pub sources: Vec<Source>,
    /// How long the officer has, in working hours (按时核实).
    pub within_working_hours: u32,
}

impl Default for Confirmation {
    fn default() -> Self {
        Self { sources: vec![Source::Citizen, Source::Hotline, Source::App], within_working_hours: 2 }
    }
}

impl Confirmation {
    /// Nobody confirms anything: accepted reports are registered straight away.
    pub const fn none() -> Self {
        Self { sources: Vec::new(), within_working_hours: 2 }
    }

    pub fn needed(&self, source: Source) -> bool {
        self.sources.contains(&source)
    }

    /// The time limit of a confirmation, as a deadline is counted.
    pub fn limit(&self) -> (u32, LimitUnit) {
        (self.within_working_hours, LimitUnit::WorkingHours)
    }

    /// Parses `citizen,hotline,app` (or `none`) as given on the command line.
    pub fn parse_sources(list: &str) -> Result<Vec<Source>, String> {
        if list.trim() == "none" {
            return Ok(Vec::new());
        }
        list.split(',').map(|s| s.trim().parse::<Source>()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_s_reports_are_confirmed_the_city_s_own_are_not() {
        let rule = Confirmation::default();
        assert!(rule.needed(Source::Hotline) && rule.needed(Source::Citizen) && rule.needed(Source::App));
        assert!(!rule.needed(Source::Officer) && !rule.needed(Source::Inspection));
        assert!(!Confirmation::none().needed(Source::Hotline));
        assert_eq!(Confirmation::parse_sources("hotline, app"), Ok(vec![Source::Hotline, Source::App]));
        assert_eq!(Confirmation::parse_sources("none"), Ok(vec![]));
        assert!(Confirmation::parse_sources("hotline,fax").is_err_and(|e| e.contains("fax")));
    }
}
