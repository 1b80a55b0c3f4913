//! The configuration of `gridwatch serve`: its flags (each with an environment variable), checked
//! once into [`ServeConfig`] before anything starts. A wrong value is a [`ConfigError`] naming
//! the flag and the value.

use super::error::ConfigError;
use crate::app::coverage::{parse_time_zone, parse_week_start, CoverageRules};
use crate::app::escalation::Webhook;
use crate::app::evidence::blobs::{Blobs, LocalBlobs};
use crate::app::evidence::s3::Bucket;
use crate::app::planning::PlanRules;
use crate::domain::clock::{Clock, SimulatedClock};
use crate::domain::evaluation::EvaluationRules;
use crate::domain::letters::LetterRules;
use crate::domain::workflow::calendar::WorkingCalendar;
use crate::domain::workflow::colour::Thresholds;
use crate::domain::workflow::confirmation::Confirmation;
use crate::http::guard::Limits;
use crate::http::server::ConnectionLimits;
use crate::http::{Basemap, Evidence, Settings};
use crate::store::DEFAULT_DATABASE_URL;
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;

/// How the service runs (checked): where it listens, what it serves and with which rules.
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub demo: bool,
    pub reload_interval: Duration,
    pub connections: crate::http::server::ConnectionLimits,
    /// Seconds between escalation passes.
    pub escalation_interval: Duration,
    pub webhook: Option<crate::app::escalation::Webhook>,
    /// Where the 12345 exchange sends its results.
    pub hotline: Option<crate::app::hotline::Exchange>,
    /// A clock other than the wall clock (demos and tests).
    pub clock: Option<Arc<dyn Clock>>,
    /// What the API itself is configured with (limits, calendar, colours, evidence, links …).
    pub api: crate::http::Settings,
}

/// Everything `gridwatch serve` runs with, checked.
pub struct ServeConfig {
    pub database_url: String,
    pub options: ServeOptions,
}

fn flag(flag: &'static str, value: impl std::fmt::Display, reason: impl Into<String>) -> ConfigError {
    ConfigError::Flag { flag, value: value.to_string(), reason: reason.into() }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })
}

#[derive(Args)]
pub(super) struct DatabaseArgs {
    /// postgres://… for PostGIS, sqlite://FILE for the embedded database.
    #[arg(long, env = "GRIDWATCH_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub(super) database_url: String,
}

#[derive(Args)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Address to listen on.
    #[arg(long, env = "GRIDWATCH_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seed the demo city (Dongcheng) into an empty database on first start.
    #[arg(long, env = "GRIDWATCH_DEMO")]
    demo: bool,
    /// Seconds between checks for grid changes made by other processes.
    #[arg(long, env = "GRIDWATCH_RELOAD_SECONDS", default_value_t = 5)]
    reload_seconds: u64,
    /// Requests per minute one token may make.
    #[arg(long, env = "GRIDWATCH_RATE_LIMIT_PER_TOKEN", default_value_t = 1200)]
    rate_limit_per_token: u32,
    /// Requests per minute one IP address may make.
    #[arg(long, env = "GRIDWATCH_RATE_LIMIT_PER_IP", default_value_t = 3000)]
    rate_limit_per_ip: u32,
    /// Seconds a request may take before it is stopped (503).
    #[arg(long, env = "GRIDWATCH_REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    request_timeout_seconds: u64,
    /// Seconds a client has to send a request's headers; also how long a kept-alive connection may
    /// sit idle.
    #[arg(long, env = "GRIDWATCH_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10)]
    header_read_timeout_seconds: u64,
    /// The address users reach the service at, behind a proxy (e.g. https://grid.example.cn):
    /// every link in OGC API and Open311 answers is built from it.
    #[arg(long, env = "GRIDWATCH_PUBLIC_URL", value_parser = public_url)]
    public_url: Option<String>,
    /// Reverse proxies (addresses or blocks, comma-separated: 127.0.0.1,10.0.0.0/8) whose
    /// X-Forwarded-For/-Proto/-Host and Forwarded headers are believed: for rate limits, the
    /// audit log's addresses and links. Their own connections are not capped per address.
    #[arg(long, env = "GRIDWATCH_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: String,
    /// Connections one client address may hold open at once.
    #[arg(long, env = "GRIDWATCH_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    max_connections_per_ip: usize,
    /// Live streams (server-sent events) this server holds open at once, for all users.
    #[arg(long, env = "GRIDWATCH_MAX_STREAMS", default_value_t = 5000)]
    max_streams: usize,
    /// Seconds a shutdown (SIGTERM) waits for requests to finish before closing what is left;
    /// live streams are ended at once with a `reconnect` event.
    #[arg(long, env = "GRIDWATCH_DRAIN_SECONDS", default_value_t = 10)]
    drain_seconds: u64,
    /// A token Prometheus sends (Authorization: Bearer …) to read /metrics; admins' tokens work too.
    #[arg(long, env = "GRIDWATCH_METRICS_TOKEN")]
    metrics_token: Option<String>,
    /// Hours a sign-in session lasts unused (it slides forward while used).
    #[arg(long, env = "GRIDWATCH_SESSION_HOURS", default_value_t = 12.0)]
    session_hours: f64,
    /// Largest bbox a layer request may cover, in km².
    #[arg(long, env = "GRIDWATCH_MAX_BBOX_KM2", default_value_t = 20000.0)]
    max_bbox_km2: f64,
    /// Seconds between escalation (三色督办) passes over open cases.
    #[arg(long, env = "GRIDWATCH_ESCALATION_SECONDS", default_value_t = 60.0)]
    escalation_seconds: f64,
    /// Where colour changes are POSTed (https://… or http://…), signed with --webhook-secret.
    #[arg(long, env = "GRIDWATCH_WEBHOOK_URL", value_parser = webhook_url)]
    webhook_url: Option<String>,
    /// The HMAC-SHA256 key for X-Gridwatch-Signature.
    #[arg(long, env = "GRIDWATCH_WEBHOOK_SECRET", default_value = "")]
    webhook_secret: String,
    /// Delivery attempts per change.
    #[arg(long, env = "GRIDWATCH_WEBHOOK_ATTEMPTS", default_value_t = 5)]
    webhook_attempts: u32,
    /// The 12345 platform's receiving URL: results of its orders (closed, sent back) are POSTed
    /// there, signed with --hotline-secret (docs/hotline.md).
    #[arg(long, env = "GRIDWATCH_HOTLINE_URL", value_parser = webhook_url)]
    hotline_url: Option<String>,
    /// The HMAC-SHA256 key shared with the 12345 platform.
    #[arg(long, env = "GRIDWATCH_HOTLINE_SECRET", default_value = "")]
    hotline_secret: String,
    /// The city's Open311 jurisdiction_id (e.g. its district code); requests naming another one
    /// are refused.
    #[arg(long, env = "GRIDWATCH_JURISDICTION_ID")]
    jurisdiction_id: Option<String>,
    /// The city's working calendar (JSON: utc_offset, day_start, day_end, holidays, working_weekends).
    #[arg(long, env = "GRIDWATCH_CALENDAR")]
    calendar: Option<PathBuf>,
    /// The city's rules for supervision letters (督办函), JSON: colours (which colour changes send
    /// one; default yellow and red), answer_days (working days per kind: reminder, notice, red;
    /// default 5, 3, 1), escalate (an unanswered letter is followed by one of the next kind).
    #[arg(long, env = "GRIDWATCH_LETTER_RULES", value_name = "FILE.json")]
    letter_rules: Option<PathBuf>,
    /// The city's evaluation rules (实绩考核), JSON: unit weights (cases, letters), post weights
    /// (confirm, verify, coverage, reporting) and grade bands ([{min, grade, colour}]).
    #[arg(long, env = "GRIDWATCH_EVALUATION_RULES", value_name = "FILE.json")]
    evaluation_rules: Option<PathBuf>,
    /// Share of a case's limit used that turns it blue.
    #[arg(long, env = "GRIDWATCH_BLUE_SHARE", default_value_t = 0.8)]
    blue_share: f64,
    /// Share of a case's limit used that turns it red (2.0 = overdue by its full limit again).
    #[arg(long, env = "GRIDWATCH_RED_SHARE", default_value_t = 2.0)]
    red_share: f64,
    /// Reworks that make a case yellow.
    #[arg(long, env = "GRIDWATCH_YELLOW_REWORKS", default_value_t = 1)]
    yellow_reworks: u32,
    /// Reworks that make a case red.
    #[arg(long, env = "GRIDWATCH_RED_REWORKS", default_value_t = 2)]
    red_reworks: u32,
    /// Reports from these sources are confirmed on site by an officer (核实) before they are
    /// registered: a comma-separated list of citizen, hotline, app, officer, undercover,
    /// assessment, inspection; or `none`.
    #[arg(long, env = "GRIDWATCH_CONFIRM_SOURCES", default_value = "citizen,hotline,app")]
    confirm_sources: String,
    /// Working hours an officer has to confirm a report on site (按时核实).
    #[arg(long, env = "GRIDWATCH_CONFIRM_HOURS", default_value_t = 2)]
    confirm_hours: u32,
    /// Same-category open cases this close (metres) to a new report are flagged as likely duplicates.
    #[arg(long, env = "GRIDWATCH_DUPLICATE_METRES", default_value_t = 50.0)]
    duplicate_metres: f64,
    /// A new case of the same category this close (metres) to one closed recently is linked to it
    /// as a recurrence (反弹), counted against the unit that closed it.
    #[arg(long, env = "GRIDWATCH_RECURRENCE_METRES", default_value_t = 50.0)]
    recurrence_metres: f64,
    /// How recently (days) the earlier case must have been closed for a recurrence.
    #[arg(long, env = "GRIDWATCH_RECURRENCE_DAYS", default_value_t = 30)]
    recurrence_days: u32,
    /// Where photo and document evidence is kept (content-addressed files and thumbnails).
    #[arg(long, env = "GRIDWATCH_MEDIA_DIR", default_value = "gridwatch-media")]
    media_dir: PathBuf,
    /// Keep evidence in an S3-compatible bucket instead (MinIO, Ceph, AWS S3):
    /// http(s)://host[:port]/bucket[/prefix]; keys in GRIDWATCH_S3_ACCESS_KEY and GRIDWATCH_S3_SECRET_KEY.
    #[arg(long, env = "GRIDWATCH_MEDIA_S3")]
    media_s3: Option<String>,
    /// The bucket's region (MinIO and most S3-compatible stores accept the default).
    #[arg(long, env = "GRIDWATCH_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
    /// A photo taken farther than this (metres, by its EXIF GPS) from its case is flagged.
    #[arg(long, env = "GRIDWATCH_PHOTO_MAX_METRES", default_value_t = 100.0)]
    photo_max_metres: f64,
    /// Run a simulated clock from this RFC 3339 time instead of the wall clock (demos, tests).
    #[arg(long, env = "GRIDWATCH_CLOCK_START")]
    clock_start: Option<String>,
    /// How many times faster than real time the simulated clock runs.
    #[arg(long, env = "GRIDWATCH_CLOCK_RATE", default_value_t = 1.0)]
    clock_rate: f64,
    /// The wall-clock time (RFC 3339) at which the simulated clock reads --clock-start (default:
    /// when the server starts); give several nodes the same to share one simulated clock.
    #[arg(long, env = "GRIDWATCH_CLOCK_ANCHOR")]
    clock_anchor: Option<String>,
    #[command(flatten)]
    coverage: CoverageArgs,
    #[command(flatten)]
    planning: PlanningArgs,
    /// A raster basemap for the web map, as an XYZ tile URL template, e.g.
    /// `https://tile.openstreetmap.org/{z}/{x}/{y}.png` (off by default: the map then needs no internet).
    #[arg(long, env = "GRIDWATCH_BASEMAP_URL")]
    basemap_url: Option<String>,
    /// The basemap's attribution, shown on the map (e.g. "© OpenStreetMap contributors" or "天地图").
    #[arg(long, env = "GRIDWATCH_BASEMAP_ATTRIBUTION")]
    basemap_attribution: Option<String>,
}

impl ServeArgs {
    /// Checks every flag and builds the configuration; the first wrong one is named.
    pub(super) fn into_config(self) -> Result<ServeConfig, ConfigError> {
        for (name, value) in [
            ("--escalation-seconds", self.escalation_seconds),
            ("--clock-rate", self.clock_rate),
            ("--max-bbox-km2", self.max_bbox_km2),
            ("--duplicate-metres", self.duplicate_metres),
            ("--recurrence-metres", self.recurrence_metres),
            ("--photo-max-metres", self.photo_max_metres),
            ("--blue-share", self.blue_share),
            ("--red-share", self.red_share),
            ("--session-hours", self.session_hours),
        ] {
            if !value.is_finite() {
                return Err(flag(name, value, "must be a finite number"));
            }
        }
        let thresholds = Thresholds {
            blue_share: self.blue_share,
            red_share: self.red_share,
            yellow_reworks: self.yellow_reworks,
            red_reworks: self.red_reworks,
        };
        if !(0.0 < thresholds.blue_share
            && thresholds.blue_share <= 1.0
            && thresholds.red_share >= 1.0
            && thresholds.yellow_reworks <= thresholds.red_reworks)
        {
            return Err(ConfigError::Rule(
                "thresholds: need 0 < --blue-share ≤ 1 ≤ --red-share and --yellow-reworks ≤ --red-reworks",
            ));
        }
        if !(1.0 / 60.0..=24.0 * 90.0).contains(&self.session_hours) {
            return Err(flag("--session-hours", self.session_hours, "must be between 1/60 and 2160 (90 days)"));
        }
        let sources = Confirmation::parse_sources(&self.confirm_sources)
            .map_err(|reason| flag("--confirm-sources", &self.confirm_sources, reason))?;
        if !(1..=240).contains(&self.confirm_hours) {
            return Err(flag("--confirm-hours", self.confirm_hours, "must be between 1 and 240"));
        }
        let confirmation = Confirmation { sources, within_working_hours: self.confirm_hours };
        let calendar = match &self.calendar {
            None => WorkingCalendar::default(),
            Some(path) => WorkingCalendar::from_json(&read(path)?)
                .map_err(|reason| ConfigError::File { path: path.clone(), reason })?,
        };
        let letter_rules = match &self.letter_rules {
            None => LetterRules::default(),
            Some(path) => LetterRules::from_json(&read(path)?)
                .map_err(|reason| ConfigError::File { path: path.clone(), reason })?,
        };
        let evaluation_rules = match &self.evaluation_rules {
            None => EvaluationRules::default(),
            Some(path) => EvaluationRules::from_json(&read(path)?)
                .map_err(|reason| ConfigError::File { path: path.clone(), reason })?,
        };
        let clock = match &self.clock_start {
            None => None,
            Some(start) => {
                let start = time::OffsetDateTime::parse(start, &Rfc3339)
                    .map_err(|e| flag("--clock-start", start, e.to_string()))?;
                let clock = match &self.clock_anchor {
                    None => SimulatedClock::new(start, self.clock_rate),
                    Some(anchor) => SimulatedClock::anchored(
                        start,
                        self.clock_rate,
                        time::OffsetDateTime::parse(anchor, &Rfc3339)
                            .map_err(|e| flag("--clock-anchor", anchor, e.to_string()))?,
                    ),
                };
                Some(Arc::new(clock) as Arc<dyn crate::domain::clock::Clock>)
            }
        };
        let blobs = match &self.media_s3 {
            None => Blobs::Local(LocalBlobs::new(self.media_dir.clone())),
            Some(url) => Blobs::S3(
                Bucket::new(
                    url,
                    &self.s3_region,
                    &std::env::var("GRIDWATCH_S3_ACCESS_KEY").unwrap_or_default(),
                    &std::env::var("GRIDWATCH_S3_SECRET_KEY").unwrap_or_default(),
                )
                .map_err(|e| flag("--media-s3", url, e))?,
            ),
        };
        let basemap = match self.basemap_url {
            Some(url) if url.contains("{z}") && url.contains("{x}") && url.contains("{y}") => {
                Some(Basemap { url, attribution: self.basemap_attribution.unwrap_or_default() })
            }
            Some(url) => return Err(flag("--basemap-url", url, "needs {z}, {x} and {y} in it")),
            None => None,
        };
        let trusted_proxies = crate::http::forwarded::Cidr::parse_list(&self.trusted_proxies)
            .map_err(|e| flag("--trusted-proxies", &self.trusted_proxies, e))?;
        let api = Settings {
            limits: Limits {
                requests_per_minute_per_token: self.rate_limit_per_token,
                requests_per_minute_per_ip: self.rate_limit_per_ip,
                request_timeout: Duration::from_secs(self.request_timeout_seconds.max(1)),
                max_bbox_km2: self.max_bbox_km2,
                max_streams: self.max_streams.max(1),
            },
            calendar,
            thresholds,
            confirmation,
            duplicate_metres: self.duplicate_metres.clamp(0.0, 10_000.0),
            recurrence: crate::domain::hotspots::RecurrenceRule {
                metres: self.recurrence_metres.clamp(0.0, 10_000.0),
                days: self.recurrence_days.min(3_650),
            },
            evidence: Evidence { blobs, max_distance_m: self.photo_max_metres.clamp(1.0, 100_000.0) },
            coverage: self.coverage.rules()?,
            plan_rules: self.planning.rules()?,
            public_url: self.public_url,
            trusted_proxies: trusted_proxies.clone(),
            metrics_token: self.metrics_token.filter(|t| !t.is_empty()).map(|t| crate::domain::auth::hash_token(&t)),
            basemap,
            session_idle: time::Duration::seconds_f64(self.session_hours * 3600.0),
            letter_rules,
            evaluation_rules,
            jurisdiction: self.jurisdiction_id.filter(|j| !j.trim().is_empty()),
        };
        let options = ServeOptions {
            listen: self.listen,
            demo: self.demo,
            reload_interval: Duration::from_secs(self.reload_seconds.max(1)),
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds.max(1)),
                max_per_ip: self.max_connections_per_ip.max(1),
                drain: Duration::from_secs(self.drain_seconds.min(3600)),
                exempt: trusted_proxies,
            },
            escalation_interval: Duration::from_secs_f64(self.escalation_seconds.clamp(0.05, 86_400.0)),
            webhook: self.webhook_url.map(|url| Webhook {
                url,
                secret: self.webhook_secret,
                attempts: self.webhook_attempts,
            }),
            hotline: self.hotline_url.map(|url| crate::app::hotline::Exchange { url, secret: self.hotline_secret }),
            clock,
            api,
        };
        Ok(ServeConfig { database_url: self.database.database_url, options })
    }
}

#[derive(Args)]
pub(super) struct PlanningArgs {
    /// The city's planning rules (JSON: day_start, day_hours, speed_kmh, workdays, verify_minutes,
    /// dwell_minutes, windows); default: 08:30 for 6 h, Monday to Friday, at 4.5 km/h.
    #[arg(long, env = "GRIDWATCH_PLAN_RULES", value_name = "FILE.json")]
    plan_rules: Option<PathBuf>,
}

impl PlanningArgs {
    pub(super) fn rules(&self) -> Result<PlanRules, ConfigError> {
        let Some(path) = &self.plan_rules else { return Ok(Default::default()) };
        PlanRules::from_json(&read(path)?).map_err(|reason| ConfigError::File { path: path.clone(), reason })
    }
}

#[derive(Args)]
pub(super) struct CoverageArgs {
    /// A track passing this close (metres) to an assessment point visits it.
    #[arg(long, env = "GRIDWATCH_COVERAGE_RADIUS", default_value_t = 30.0)]
    coverage_radius: f64,
    /// The city's time zone: a UTC offset such as +08:00, or Asia/Shanghai.
    #[arg(long, env = "GRIDWATCH_TIME_ZONE", default_value = "Asia/Shanghai")]
    time_zone: String,
    /// The day a patrol week begins (monday … sunday, or 周一 … 周日).
    #[arg(long, env = "GRIDWATCH_WEEK_START", default_value = "monday")]
    week_start: String,
}

impl CoverageArgs {
    pub(super) fn rules(&self) -> Result<CoverageRules, ConfigError> {
        if !(self.coverage_radius.is_finite() && (0.0..=10_000.0).contains(&self.coverage_radius)) {
            return Err(flag("--coverage-radius", self.coverage_radius, "must be between 0 and 10000 metres"));
        }
        Ok(CoverageRules {
            radius_m: self.coverage_radius,
            offset: parse_time_zone(&self.time_zone).map_err(|e| flag("--time-zone", &self.time_zone, e))?,
            week_start: parse_week_start(&self.week_start).map_err(|e| flag("--week-start", &self.week_start, e))?,
        })
    }
}

/// `--public-url`: an absolute http(s) URL without a query, links are built on it.
fn public_url(text: &str) -> Result<String, String> {
    let url = text.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ', '"', '<', '>']) => Ok(url.to_string()),
        _ => Err(format!("{text:?} is not an http(s) URL such as https://grid.example.cn")),
    }
}

/// `--webhook-url`: an absolute http(s) URL (a query is allowed: some receivers key on it).
fn webhook_url(text: &str) -> Result<String, String> {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !rest.contains([' ', '"', '<', '>']) => {
            Ok(text.to_string())
        }
        _ => Err(format!("{text:?} is not an http(s) URL such as https://relay.example.cn/gridwatch")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn config(flags: &[&str]) -> Result<ServeConfig, ConfigError> {
        let parsed = Serve::try_parse_from(std::iter::once("serve").chain(flags.iter().copied())).expect("flags parse");
        parsed.args.into_config()
    }

    #[test]
    fn each_wrong_flag_is_named_with_its_value_and_nothing_panics() {
        let named = |flags: &[&str], expected: &str| match config(flags) {
            Err(e) => assert!(e.to_string().contains(expected), "{flags:?}: {e}"),
            Ok(_) => panic!("{flags:?} was accepted"),
        };
        named(&["--escalation-seconds", "NaN"], "--escalation-seconds \"NaN\": must be a finite number");
        for wrong in ["ftp://relay", "https://", "http:///path", "relay.example.cn"] {
            assert!(webhook_url(wrong).is_err_and(|e| e.contains("is not an http(s) URL")), "{wrong}");
        }
        assert!(webhook_url("https://relay.example.cn:8443/hook?city=dc").is_ok());
        named(&["--confirm-sources", "hotline,fax"], "--confirm-sources \"hotline,fax\": unknown source \"fax\"");
        named(&["--confirm-hours", "0"], "--confirm-hours \"0\": must be between 1 and 240");
        named(&["--clock-rate", "inf"], "--clock-rate");
        named(&["--blue-share", "1.5"], "--blue-share ≤ 1");
        named(&["--basemap-url", "https://tiles.example.cn/a.png"], "--basemap-url");
        named(&["--clock-start", "yesterday"], "--clock-start \"yesterday\"");
        named(&["--coverage-radius", "20000"], "--coverage-radius");
        named(&["--time-zone", "Mars/Olympus"], "--time-zone \"Mars/Olympus\"");
        named(&["--calendar", "/nonexistent/calendar.json"], "cannot read /nonexistent/calendar.json");
    }

    #[test]
    fn the_defaults_make_a_working_configuration() {
        let config = config(&["--database-url", "sqlite://city.db", "--clock-start", "2026-11-23T10:00:00+08:00"])
            .expect("defaults are valid");
        assert_eq!(config.database_url, "sqlite://city.db");
        assert_eq!(config.options.escalation_interval, Duration::from_secs(60));
        assert!(config.options.clock.is_some() && config.options.webhook.is_none());
        assert_eq!(config.options.api.limits.requests_per_minute_per_token, 1200);
    }
}
