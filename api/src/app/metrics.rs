//! What the running service measures, for Prometheus (`GET /metrics`, text format 0.0.4):
//! requests by route and status with their latency, intake's queue and batches, the group
//! commit, the escalation pass, webhook deliveries and the tile cache. Counters and histograms
//! are atomics in one process-wide [`METRICS`], written out by hand: no registry crate, and
//! recording is one atomic add.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::Duration;

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);

/// Latency buckets in seconds: 5 ms to 10 s.
const SECONDS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Batch-size buckets: reports per group commit.
const SIZES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// A cumulative histogram (Prometheus `_bucket`, `_sum`, `_count`).
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    /// The sum in millionths, so that it stays an atomic integer.
    sum_micro: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micro: 0.into(),
            count: 0.into(),
        }
    }

    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.counts[i].fetch_add(1, Relaxed);
        }
        self.sum_micro.fetch_add((value.max(0.0) * 1e6) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum_micro.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// One route's requests: its latency, and how many by method and status.
struct RouteStats {
    latency: Histogram,
    answered: Mutex<Vec<(&'static str, u16, u64)>>,
}

/// Everything counted.
pub struct Metrics {
    /// Route template → its requests. Read-locked on the hot path (a new route takes the write
    /// lock once): counting a request allocates nothing.
    routes: RwLock<HashMap<String, Arc<RouteStats>>>,
    /// Reports waiting for an intake writer.
    pub intake_queue: AtomicI64,
    pub intake_batch: Histogram,
    pub group_commit: Histogram,
    pub escalation_pass: Histogram,
    pub escalation_changes: AtomicU64,
    pub letters_issued: AtomicU64,
    pub webhook_delivered: AtomicU64,
    pub webhook_failed: AtomicU64,
    pub tile_hits: AtomicU64,
    pub tile_misses: AtomicU64,
    /// Cases the map layers read from the store, whole reads and catching up together.
    pub layer_cases_read: AtomicU64,
    /// Times the map layers read every case (at start, after an import or a lost connection).
    pub layer_whole_reads: AtomicU64,
    /// Times the recent cases were folded into the map layers' base.
    pub layer_folds: AtomicU64,
    /// Live streams (server-sent events) open now.
    pub live_streams: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            routes: RwLock::default(),
            intake_queue: 0.into(),
            intake_batch: Histogram::new(SIZES),
            group_commit: Histogram::new(SECONDS),
            escalation_pass: Histogram::new(SECONDS),
            escalation_changes: 0.into(),
            letters_issued: 0.into(),
            webhook_delivered: 0.into(),
            webhook_failed: 0.into(),
            tile_hits: 0.into(),
            tile_misses: 0.into(),
            layer_cases_read: 0.into(),
            layer_whole_reads: 0.into(),
            layer_folds: 0.into(),
            live_streams: 0.into(),
        }
    }
}

/// Readings taken when the metrics are written: the store's pool, the grid index and the tile
/// cache.
pub struct Gauges {
    pub pool_size: u32,
    pub pool_idle: u32,
    pub grid_revision: i64,
    pub grids_indexed: usize,
    pub tile_cache_bytes: u64,
    pub tile_cache_tiles: usize,
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// Counts one answered request; `route` is the route's template (`/api/v1/problems/{id}`),
    /// so the labels stay few whatever the paths asked.
    pub fn request(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        let known = self.routes.read().unwrap_or_else(|e| e.into_inner()).get(route).cloned();
        let stats = known.unwrap_or_else(|| {
            let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
            let fresh = || Arc::new(RouteStats { latency: Histogram::new(SECONDS), answered: Mutex::default() });
            routes.entry(route.to_string()).or_insert_with(fresh).clone()
        });
        stats.latency.observe_duration(took);
        let mut answered = stats.answered.lock().unwrap_or_else(|e| e.into_inner());
        match answered.iter_mut().find(|(m, s, _)| *m == method && *s == status) {
            Some((_, _, n)) => *n += 1,
            None => answered.push((method, status, 1)),
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(16 << 10);
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        // Sorted, so that the text reads the same from one scrape to the next.
        let routes: BTreeMap<String, Arc<RouteStats>> =
            self.routes.read().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let requests = "gridwatch_http_requests_total";
        head(&mut out, requests, "counter", "HTTP requests answered, by route template, method and status.");
        for (route, stats) in &routes {
            let mut answered = stats.answered.lock().unwrap_or_else(|e| e.into_inner()).clone();
            answered.sort_unstable();
            for (method, status, n) in answered {
                let labels = format!("route=\"{}\",method=\"{method}\",status=\"{status}\"", label(route));
                let _ = writeln!(out, "{requests}{{{labels}}} {n}");
            }
        }
        let latency = "gridwatch_http_request_duration_seconds";
        head(&mut out, latency, "histogram", "Time to answer, by route template.");
        for (route, stats) in &routes {
            stats.latency.write(&mut out, latency, &format!("route=\"{}\"", label(route)));
        }
        let gauge = |out: &mut String, name: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        gauge(
            &mut out,
            "gridwatch_intake_queue_depth",
            "Reports waiting for an intake writer.",
            self.intake_queue.load(Relaxed).to_string(),
        );
        head(&mut out, "gridwatch_intake_batch_size", "histogram", "Reports stored per group commit.");
        self.intake_batch.write(&mut out, "gridwatch_intake_batch_size", "");
        head(&mut out, "gridwatch_group_commit_seconds", "histogram", "Time to store one intake batch.");
        self.group_commit.write(&mut out, "gridwatch_group_commit_seconds", "");
        head(&mut out, "gridwatch_escalation_pass_seconds", "histogram", "Time of one escalation (三色督办) pass.");
        self.escalation_pass.write(&mut out, "gridwatch_escalation_pass_seconds", "");
        counter(
            &mut out,
            "gridwatch_escalation_changes_total",
            "Colour changes recorded.",
            self.escalation_changes.load(Relaxed),
        );
        counter(
            &mut out,
            "gridwatch_letters_issued_total",
            "Supervision letters (督办函) issued by the escalation pass.",
            self.letters_issued.load(Relaxed),
        );
        head(&mut out, "gridwatch_webhook_deliveries_total", "counter", "Webhook deliveries, by result.");
        let _ = writeln!(
            out,
            "gridwatch_webhook_deliveries_total{{result=\"delivered\"}} {}",
            self.webhook_delivered.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "gridwatch_webhook_deliveries_total{{result=\"failed\"}} {}",
            self.webhook_failed.load(Relaxed)
        );
        head(
            &mut out,
            "gridwatch_tile_cache_requests_total",
            "counter",
            "Tiles asked for, by whether the cache had them.",
        );
        let _ = writeln!(out, "gridwatch_tile_cache_requests_total{{result=\"hit\"}} {}", self.tile_hits.load(Relaxed));
        let _ =
            writeln!(out, "gridwatch_tile_cache_requests_total{{result=\"miss\"}} {}", self.tile_misses.load(Relaxed));
        counter(
            &mut out,
            "gridwatch_map_layer_cases_read_total",
            "Cases the map layers read from the store.",
            self.layer_cases_read.load(Relaxed),
        );
        counter(
            &mut out,
            "gridwatch_map_layer_whole_reads_total",
            "Times the map layers read every case (at start, after an import or a lost connection).",
            self.layer_whole_reads.load(Relaxed),
        );
        counter(
            &mut out,
            "gridwatch_map_layer_folds_total",
            "Times the recently changed cases were folded into the map layers' base.",
            self.layer_folds.load(Relaxed),
        );
        gauge(&mut out, "gridwatch_tile_cache_bytes", "Bytes of tiles cached.", gauges.tile_cache_bytes.to_string());
        gauge(&mut out, "gridwatch_tile_cache_tiles", "Tiles cached.", gauges.tile_cache_tiles.to_string());
        gauge(
            &mut out,
            "gridwatch_live_streams",
            "Live streams (server-sent events) open.",
            self.live_streams.load(Relaxed).to_string(),
        );
        head(&mut out, "gridwatch_store_connections", "gauge", "The store's connection pool, by state.");
        let in_use = gauges.pool_size.saturating_sub(gauges.pool_idle);
        let _ = writeln!(out, "gridwatch_store_connections{{state=\"idle\"}} {}", gauges.pool_idle);
        let _ = writeln!(out, "gridwatch_store_connections{{state=\"in_use\"}} {in_use}");
        gauge(
            &mut out,
            "gridwatch_grid_index_revision",
            "The grid revision the index was built from.",
            gauges.grid_revision.to_string(),
        );
        gauge(&mut out, "gridwatch_grid_index_grids", "Grids in the index.", gauges.grids_indexed.to_string());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let metrics = Metrics::default();
        metrics.request("/api/v1/problems/{id}", "GET", 200, Duration::from_millis(3));
        metrics.request("/api/v1/problems/{id}", "GET", 200, Duration::from_millis(30));
        metrics.request("/odd\"route", "POST", 422, Duration::from_secs(20));
        let gauges = Gauges {
            pool_size: 5,
            pool_idle: 3,
            grid_revision: 7,
            grids_indexed: 1287,
            tile_cache_bytes: 0,
            tile_cache_tiles: 0,
        };
        let text = metrics.render(&gauges);
        assert!(text.contains(
            "gridwatch_http_requests_total{route=\"/api/v1/problems/{id}\",method=\"GET\",status=\"200\"} 2"
        ));
        let route = "route=\"/api/v1/problems/{id}\"";
        assert!(text.contains(&format!("gridwatch_http_request_duration_seconds_bucket{{{route},le=\"0.005\"}} 1")));
        assert!(text.contains(&format!("gridwatch_http_request_duration_seconds_bucket{{{route},le=\"0.05\"}} 2")));
        assert!(text.contains(&format!("gridwatch_http_request_duration_seconds_count{{{route}}} 2")));
        // Twenty seconds is above every bucket: only +Inf counts it.
        assert!(text.contains("gridwatch_http_request_duration_seconds_bucket{route=\"/odd\\\"route\",le=\"10\"} 0"));
        assert!(text.contains("gridwatch_http_request_duration_seconds_bucket{route=\"/odd\\\"route\",le=\"+Inf\"} 1"));
        assert!(text.contains("gridwatch_store_connections{state=\"in_use\"} 2"));
        assert!(text.contains("gridwatch_grid_index_grids 1287"));
    }
}
