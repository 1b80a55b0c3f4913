//! The 12345 exchange (12345 热线工单对接): work orders the city's hotline platform sends, keyed by
//! its own order id, and the results sent back — the case closed (办结), or the order sent back
//! (退单) as outside the city's remit, with a reason. docs/hotline.md is the contract.

use crate::domain::problem::CallerContact;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// At most this many characters in an order id.
pub const MAX_ORDER_ID_CHARS: usize = 64;
/// At most this many characters in a send-back reason.
pub const MAX_REASON_CHARS: usize = 500;

/// A work order (工单) as the platform sends it. The place is `lon`/`lat` (WGS-84) or, without
/// them, `address`, found in the address book.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"order_id": "GD202612060001", "category": "E01001", "description": "小区门口垃圾堆放",
    "address": "多福巷社区居委会", "caller": {"name": "王女士", "phone": "13912345678"}}))]
pub struct Order {
    /// The platform's order id (工单编号): letters, digits, `-` and `_`; the same id twice is one case
    #[schema(min_length = 1, max_length = 64)]
    pub order_id: String,
    /// A catalogue code or name (GET /api/v1/categories)
    #[schema(min_length = 1, max_length = 100)]
    pub category: String,
    #[schema(max_length = 4000)]
    pub description: String,
    /// Where, in words; searched in the address book when lon/lat are not given
    #[schema(max_length = 200)]
    pub address: Option<String>,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    /// The caller (来电人): kept private, like a call taken at the desk
    pub caller: Option<CallerContact>,
}

/// Whether an order id is one this exchange keeps as it is (it travels back in results and URLs).
pub fn valid_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= MAX_ORDER_ID_CHARS
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// What became of an order, for the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 办结: the case was closed after the fix was checked.
    Closed,
    /// 退单: outside the city's remit; the reason says why.
    SentBack,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::SentBack => "sent_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Closed, Self::SentBack].into_iter().find(|o| o.as_str() == s)
    }
}

/// One order as the exchange keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderState {
    pub order_id: String,
    pub problem_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: OffsetDateTime,
    /// Set once the case is closed or the order sent back.
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub outcome_at: Option<OffsetDateTime>,
    /// When the platform acknowledged the result (2xx); null until then.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub pushed_at: Option<OffsetDateTime>,
}

/// The result POSTed to the platform (signed: `X-Gridwatch-Signature: sha256=<HMAC of the body>`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderResult {
    pub order_id: String,
    pub problem_id: i64,
    pub outcome: Outcome,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// The send-back reason, or the closing step's note.
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_plain_and_bounded() {
        assert!(valid_order_id("GD-2026_12060001"));
        assert!(!valid_order_id(""));
        assert!(!valid_order_id("GD 1"));
        assert!(!valid_order_id("../x"));
        assert!(!valid_order_id("工单1"));
        assert!(!valid_order_id(&"9".repeat(65)));
        assert_eq!(Outcome::parse("sent_back"), Some(Outcome::SentBack));
        assert_eq!(Outcome::parse("open"), None);
    }
}
