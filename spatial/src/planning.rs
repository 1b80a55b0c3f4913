//! Weekly patrol planning (巡查计划): one ordered route per working day that visits every due
//! stop within the day's working time and each stop's time window, as short as we can make it.
//!
//! The solver builds routes by regret insertion (the stop that would lose most by waiting is
//! placed first, at its cheapest feasible place), then improves them by local search: 2-opt
//! within a day, and Or-opt moves of one to three consecutive stops within or between days.
//! [`nearest_neighbour`] is the baseline a dispatcher would draw by hand; the benchmark
//! (`bench/plan.sh`) compares the two on the same instances.

use geo::Coord;
use serde::Serialize;

/// Something to visit: an assessment point's inspection, or a problem to verify (核查).
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub id: String,
    /// Stops of one group (the same point inspected twice a week) go on different days.
    pub group: String,
    pub position: Coord<f64>,
    /// Seconds spent at the stop.
    pub dwell_s: f64,
    /// Arrival must fall within this window (seconds since midnight, local time).
    pub window: Option<(f64, f64)>,
    /// Only on this weekday (1 = Monday): a fixed day such as a joint enforcement day.
    pub weekday: Option<u8>,
}

/// One working day: where it starts and ends and how long it may last.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    pub start: Coord<f64>,
    pub end: Coord<f64>,
    /// Seconds since midnight when the day starts.
    pub start_s: f64,
    /// Working seconds, from leaving the start to arriving at the end.
    pub budget_s: f64,
}

/// Distances in metres between positions; geodesic by default, or along streets
/// ([`crate::streets::StreetNetwork`]).
pub trait Distances {
    fn metres(&self, a: Coord<f64>, b: Coord<f64>) -> f64;

    /// Every pair at once, row-major (`n × n`): a street network runs one search per row.
    fn matrix(&self, positions: &[Coord<f64>]) -> Vec<f64> {
        let n = positions.len();
        let mut matrix = vec![0.0; n * n];
        for i in 0..n {
            for j in (i + 1)..n {
                let m = self.metres(positions[i], positions[j]);
                matrix[i * n + j] = m;
                matrix[j * n + i] = m;
            }
        }
        matrix
    }

    /// The line walked from `a` to `b` (both ends included), whose length is `metres(a, b)`.
    fn path(&self, a: Coord<f64>, b: Coord<f64>) -> Vec<Coord<f64>> {
        vec![a, b]
    }
}

/// On the WGS-84 ellipsoid.
pub struct Geodesic;

impl Distances for Geodesic {
    fn metres(&self, a: Coord<f64>, b: Coord<f64>) -> f64 {
        crate::geodesy::distance_m(a.into(), b.into())
    }
}

/// A stop in a day's route with its times (seconds since midnight).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visit {
    /// Index into the stops given.
    pub stop: usize,
    pub arrive_s: f64,
    /// Waiting for the window to open, before the visit.
    pub wait_s: f64,
    pub depart_s: f64,
}

/// A day's route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayPlan {
    pub weekday: u8,
    pub visits: Vec<Visit>,
    pub length_m: f64,
    /// Back at the end base.
    pub finish_s: f64,
}

/// Why a stop is in no route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unplanned {
    /// No day is left this week (re-planning on the last day, say).
    NoDayLeft,
    /// Even alone, no day can reach it within its window and the day's budget.
    Unreachable,
    /// It fits alone, but the week's days are full.
    NoRoom,
}

/// A week's plan: the routes, and each stop left out with its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub days: Vec<DayPlan>,
    pub unplanned: Vec<(usize, Unplanned)>,
}

impl Plan {
    pub fn length_m(&self) -> f64 {
        self.days.iter().map(|d| d.length_m).sum()
    }

    pub fn planned(&self) -> usize {
        self.days.iter().map(|d| d.visits.len()).sum()
    }
}

/// Walking speed and the problem's data, with distances cached per pair.
struct Instance<'a> {
    stops: &'a [Stop],
    days: &'a [Day],
    speed: f64,
    /// Node i < n is stop i; n + 2d and n + 2d + 1 are day d's start and end.
    matrix: Vec<f64>,
    nodes: usize,
}

impl<'a> Instance<'a> {
    fn new(stops: &'a [Stop], days: &'a [Day], speed_m_s: f64, distances: &dyn Distances) -> Self {
        let mut positions: Vec<Coord<f64>> = stops.iter().map(|s| s.position).collect();
        for d in days {
            positions.extend([d.start, d.end]);
        }
        let nodes = positions.len();
        let matrix = distances.matrix(&positions);
        Self { stops, days, speed: speed_m_s, matrix, nodes }
    }

    fn metres(&self, a: usize, b: usize) -> f64 {
        self.matrix[a * self.nodes + b]
    }

    fn start(&self, day: usize) -> usize {
        self.stops.len() + 2 * day
    }

    fn end(&self, day: usize) -> usize {
        self.stops.len() + 2 * day + 1
    }

    /// The route's length, or `None` when it breaks a window or the budget.
    fn evaluate(&self, day: usize, route: &[usize]) -> Option<f64> {
        self.cost(day, route, false)
    }

    /// What an insertion is judged by: metres walked, or (to fit more stops) time used.
    fn cost(&self, day: usize, route: &[usize], by_time: bool) -> Option<f64> {
        self.schedule(day, route).map(|p| if by_time { p.finish_s } else { p.length_m })
    }

    fn schedule(&self, day: usize, route: &[usize]) -> Option<DayPlan> {
        let d = &self.days[day];
        let (mut t, mut at, mut length) = (d.start_s, self.start(day), 0.0);
        let mut visits = Vec::with_capacity(route.len());
        for &s in route {
            let metres = self.metres(at, s);
            length += metres;
            let arrive = t + metres / self.speed;
            let stop = &self.stops[s];
            if stop.weekday.is_some_and(|w| w != d.weekday) {
                return None;
            }
            let begin = match stop.window {
                Some((open, close)) if arrive > close || open > close => return None,
                Some((open, _)) => arrive.max(open),
                None => arrive,
            };
            t = begin + stop.dwell_s;
            visits.push(Visit { stop: s, arrive_s: arrive, wait_s: begin - arrive, depart_s: t });
            at = s;
        }
        let metres = self.metres(at, self.end(day));
        length += metres;
        let finish = t + metres / self.speed;
        (finish <= d.start_s + d.budget_s + 1e-6).then_some(DayPlan {
            weekday: d.weekday,
            visits,
            length_m: length,
            finish_s: finish,
        })
    }

    /// No other stop of `stop`'s group is on the route.
    fn group_free(&self, route: &[usize], stop: usize) -> bool {
        let group = &self.stops[stop].group;
        route.iter().all(|&s| s == stop || self.stops[s].group != *group)
    }

    /// The cheapest feasible place for `stop` in `day`: (added cost, position).
    fn best_insertion(&self, day: usize, route: &[usize], stop: usize, by_time: bool) -> Option<(f64, usize)> {
        if !self.group_free(route, stop) {
            return None;
        }
        let base = self.cost(day, route, by_time)?;
        let mut best: Option<(f64, usize)> = None;
        let mut trial = Vec::with_capacity(route.len() + 1);
        for pos in 0..=route.len() {
            let before = if pos == 0 { self.start(day) } else { route[pos - 1] };
            let after = if pos == route.len() { self.end(day) } else { route[pos] };
            // Added metres are a lower bound of either cost (time: metres over speed, and
            // waiting only adds), so most places are ruled out without a schedule.
            let added = self.metres(before, stop) + self.metres(stop, after) - self.metres(before, after);
            let bound = if by_time { added / self.speed } else { added };
            if best.is_some_and(|(b, _)| bound >= b + EPSILON_M) {
                continue;
            }
            trial.clear();
            trial.extend_from_slice(&route[..pos]);
            trial.push(stop);
            trial.extend_from_slice(&route[pos..]);
            if let Some(cost) = self.cost(day, &trial, by_time) {
                if best.is_none_or(|(b, _)| cost - base < b) {
                    best = Some((cost - base, pos));
                }
            }
        }
        best
    }
}

/// Plans a week: every stop that fits goes into some day's route, as short in total as the
/// local search can make it. `speed_m_s` is the walking speed (4.5 km/h is 1.25 m/s).
///
/// Three starts are polished and the best kept (most stops, then fewest metres): regret
/// insertion by distance, regret insertion by time (which fits more stops where windows and
/// budgets bind), and the nearest-neighbour routes, so the plan never covers fewer stops
/// than the baseline.
pub fn plan(stops: &[Stop], days: &[Day], speed_m_s: f64, distances: &dyn Distances) -> Plan {
    let inst = Instance::new(stops, days, speed_m_s, distances);
    let starts = [regret_insertion(&inst, false), regret_insertion(&inst, true), nearest_routes(&inst)];
    starts
        .into_iter()
        .map(|(mut routes, mut open)| {
            improve(&inst, &mut routes);
            if insert_cheapest(&inst, &mut routes, &mut open) {
                improve(&inst, &mut routes);
            }
            finish(&inst, routes, open)
        })
        .min_by(|a, b| b.planned().cmp(&a.planned()).then(a.length_m().total_cmp(&b.length_m())))
        .unwrap_or(Plan { days: Vec::new(), unplanned: Vec::new() })
}

/// Regret insertion: place first the stop whose best place beats its second best by most.
fn regret_insertion(inst: &Instance<'_>, by_time: bool) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut routes: Vec<Vec<usize>> = vec![Vec::new(); inst.days.len()];
    let mut open: Vec<usize> = (0..inst.stops.len()).collect();
    while !open.is_empty() {
        let mut choice: Option<(f64, usize, usize, usize, f64)> = None; // (regret, open idx, day, pos, added)
        for (k, &s) in open.iter().enumerate() {
            let mut options: Vec<(f64, usize, usize)> = (0..inst.days.len())
                .filter_map(|d| inst.best_insertion(d, &routes[d], s, by_time).map(|(added, pos)| (added, d, pos)))
                .collect();
            if options.is_empty() {
                continue;
            }
            options.sort_by(|a, b| a.0.total_cmp(&b.0));
            let regret = options.get(1).map_or(f64::MAX / 4.0, |second| second.0 - options[0].0);
            let (added, d, pos) = options[0];
            if choice.is_none_or(|(r, _, _, _, a)| regret > r || (regret == r && added < a)) {
                choice = Some((regret, k, d, pos, added));
            }
        }
        let Some((_, k, d, pos, _)) = choice else { break };
        let s = open.swap_remove(k);
        routes[d].insert(pos, s);
    }
    (routes, open)
}

/// Puts left-over stops where they now fit (after the routes got shorter), cheapest first.
fn insert_cheapest(inst: &Instance<'_>, routes: &mut [Vec<usize>], open: &mut Vec<usize>) -> bool {
    let mut any = false;
    loop {
        let fixed: &[Vec<usize>] = routes;
        let best = open
            .iter()
            .enumerate()
            .flat_map(|(k, &s)| {
                (0..fixed.len())
                    .filter_map(move |d| inst.best_insertion(d, &fixed[d], s, true).map(|(c, pos)| (c, k, d, pos)))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let Some((_, k, d, pos)) = best else { return any };
        let s = open.swap_remove(k);
        routes[d].insert(pos, s);
        any = true;
    }
}

/// The hand-drawn baseline: each day in turn, walk to the nearest stop that still fits.
pub fn nearest_neighbour(stops: &[Stop], days: &[Day], speed_m_s: f64, distances: &dyn Distances) -> Plan {
    let inst = Instance::new(stops, days, speed_m_s, distances);
    let (routes, open) = nearest_routes(&inst);
    finish(&inst, routes, open)
}

fn nearest_routes(inst: &Instance<'_>) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut open: Vec<usize> = (0..inst.stops.len()).collect();
    let mut routes = Vec::with_capacity(inst.days.len());
    for d in 0..inst.days.len() {
        let mut route: Vec<usize> = Vec::new();
        loop {
            let at = route.last().copied().unwrap_or(inst.start(d));
            let next = open
                .iter()
                .enumerate()
                .filter(|(_, &s)| inst.group_free(&route, s))
                .filter(|(_, &s)| {
                    let mut trial = route.clone();
                    trial.push(s);
                    inst.evaluate(d, &trial).is_some()
                })
                .min_by(|a, b| inst.metres(at, *a.1).total_cmp(&inst.metres(at, *b.1)))
                .map(|(k, _)| k);
            match next {
                Some(k) => route.push(open.swap_remove(k)),
                None => break,
            }
        }
        routes.push(route);
    }
    (routes, open)
}

/// Local search to a local optimum: 2-opt within a day, then Or-opt moves of segments of
/// 1–3 stops to any place in any day; first improvement, repeated until nothing improves.
fn improve(inst: &Instance<'_>, routes: &mut [Vec<usize>]) {
    let mut lengths: Vec<f64> = (0..routes.len()).map(|d| inst.evaluate(d, &routes[d]).unwrap_or(0.0)).collect();
    let mut improved = true;
    let mut rounds = 0;
    while improved && rounds < 100 {
        improved = false;
        rounds += 1;
        for d in 0..routes.len() {
            improved |= two_opt(inst, d, &mut routes[d], &mut lengths[d]);
        }
        improved |= or_opt(inst, routes, &mut lengths);
    }
}

const EPSILON_M: f64 = 1e-6;

fn two_opt(inst: &Instance<'_>, day: usize, route: &mut Vec<usize>, length: &mut f64) -> bool {
    let mut any = false;
    let mut again = true;
    while again {
        again = false;
        for i in 0..route.len() {
            for j in (i + 1)..route.len() {
                let mut trial = route.clone();
                trial[i..=j].reverse();
                if let Some(l) = inst.evaluate(day, &trial) {
                    if l < *length - EPSILON_M {
                        *route = trial;
                        *length = l;
                        again = true;
                        any = true;
                    }
                }
            }
        }
    }
    any
}

fn or_opt(inst: &Instance<'_>, routes: &mut [Vec<usize>], lengths: &mut [f64]) -> bool {
    for from in 0..routes.len() {
        for seg in 1..=3usize {
            let mut i = 0;
            while i + seg <= routes[from].len() {
                let segment: Vec<usize> = routes[from][i..i + seg].to_vec();
                let mut rest = routes[from].clone();
                rest.drain(i..i + seg);
                let Some(rest_len) = inst.evaluate(from, &rest) else {
                    i += 1;
                    continue;
                };
                for to in 0..routes.len() {
                    let target = if to == from { &rest } else { &routes[to] };
                    if to != from && !segment.iter().all(|&s| inst.group_free(target, s)) {
                        continue;
                    }
                    for pos in 0..=target.len() {
                        for reversed in [false, true] {
                            if to == from && pos == i && !reversed {
                                continue;
                            }
                            let mut trial = target.clone();
                            let mut piece = segment.clone();
                            if reversed {
                                piece.reverse();
                            }
                            trial.splice(pos..pos, piece);
                            let Some(new_len) = inst.evaluate(to, &trial) else { continue };
                            let (before, after) = if to == from {
                                (lengths[from], new_len)
                            } else {
                                (lengths[from] + lengths[to], rest_len + new_len)
                            };
                            if after < before - EPSILON_M {
                                if to == from {
                                    routes[from] = trial;
                                    lengths[from] = new_len;
                                } else {
                                    routes[from] = rest;
                                    lengths[from] = rest_len;
                                    routes[to] = trial;
                                    lengths[to] = new_len;
                                }
                                return true;
                            }
                        }
                    }
                }
                i += 1;
            }
        }
    }
    false
}

fn finish(inst: &Instance<'_>, routes: Vec<Vec<usize>>, open: Vec<usize>) -> Plan {
    let days = routes.iter().enumerate().filter_map(|(d, r)| inst.schedule(d, r)).collect();
    let mut unplanned: Vec<(usize, Unplanned)> = open
        .into_iter()
        .map(|s| {
            let reason = if inst.days.is_empty() {
                Unplanned::NoDayLeft
            } else if (0..inst.days.len()).any(|d| inst.evaluate(d, &[s]).is_some()) {
                Unplanned::NoRoom
            } else {
                Unplanned::Unreachable
            };
            (s, reason)
        })
        .collect();
    unplanned.sort_by_key(|(s, _)| *s);
    Plan { days, unplanned }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flat distances in a small test world: 1 unit of coordinate = 1 m.
    struct Flat;
    impl Distances for Flat {
        fn metres(&self, a: Coord<f64>, b: Coord<f64>) -> f64 {
            (a.x - b.x).hypot(a.y - b.y)
        }
    }

    fn stop(id: &str, x: f64, y: f64) -> Stop {
        Stop { id: id.into(), group: id.into(), position: Coord { x, y }, dwell_s: 60.0, window: None, weekday: None }
    }

    fn day(weekday: u8, budget_s: f64) -> Day {
        let base = Coord { x: 0.0, y: 0.0 };
        Day { weekday, start: base, end: base, start_s: 8.0 * 3600.0, budget_s }
    }

    #[test]
    fn a_square_is_walked_round_not_across() {
        let stops = [stop("a", 100.0, 0.0), stop("c", 100.0, 100.0), stop("b", 0.0, 100.0)];
        let plan = plan(&stops, &[day(1, 3600.0)], 1.0, &Flat);
        assert_eq!(plan.planned(), 3);
        assert!((plan.length_m() - 400.0).abs() < 1e-9, "{}", plan.length_m());
        let last = plan.days[0].visits.last().expect("visits");
        assert!((plan.days[0].finish_s - (last.depart_s + 100.0)).abs() < 1e-9);
    }

    #[test]
    fn budgets_windows_and_groups_are_kept_and_leftovers_explained() {
        let mut market = stop("market", 200.0, 0.0);
        market.window = Some((8.0 * 3600.0, 8.0 * 3600.0 + 300.0)); // arrive by 08:05
        let far = stop("far", 100_000.0, 0.0);
        let twice = [
            Stop { group: "p".into(), ..stop("p#1", 0.0, 50.0) },
            Stop { group: "p".into(), ..stop("p#2", 0.0, 50.0) },
        ];
        let mut stops = vec![market, far];
        stops.extend(twice);
        let days = [day(1, 1200.0), day(2, 1200.0)];
        let plan = plan(&stops, &days, 1.0, &Flat);
        assert_eq!(plan.unplanned, [(1, Unplanned::Unreachable)]);
        for d in &plan.days {
            assert!(d.finish_s <= days[0].start_s + 1200.0 + 1e-9);
            let groups: Vec<&str> = d.visits.iter().map(|v| stops[v.stop].group.as_str()).collect();
            assert!(groups.iter().filter(|g| **g == "p").count() <= 1, "one visit of p per day");
            for v in &d.visits {
                if let Some((open, close)) = stops[v.stop].window {
                    assert!(v.arrive_s <= close && v.arrive_s + v.wait_s >= open);
                }
            }
        }
        assert_eq!(plan.planned(), 3);
        assert_eq!(super::plan(&stops, &[], 1.0, &Flat).unplanned.len(), 4);
        let tight = super::plan(&stops[..1], &[day(1, 100.0)], 1.0, &Flat);
        assert_eq!(tight.unplanned, [(0, Unplanned::Unreachable)], "200 m out and back is over 100 s");
    }

    #[test]
    fn a_stop_of_a_fixed_day_goes_on_that_day_or_nowhere() {
        // Nearest to day 1's base either way; fixed to Wednesday, it waits for Wednesday.
        let fixed = Stop { weekday: Some(3), ..stop("joint", 10.0, 0.0) };
        let days = [day(1, 3600.0), day(3, 3600.0)];
        let plan = plan(&[fixed.clone(), stop("free", 20.0, 0.0)], &days, 1.0, &Flat);
        let day_of_joint = plan.days.iter().find(|d| d.visits.iter().any(|v| v.stop == 0)).map(|d| d.weekday);
        assert_eq!(day_of_joint, Some(3));
        assert_eq!(plan.planned(), 2);
        // No Wednesday in the week: left out.
        let none = super::plan(&[fixed], &days[..1], 1.0, &Flat);
        assert_eq!(none.planned(), 0);
        assert_eq!(none.unplanned.len(), 1);
    }

    #[test]
    fn a_full_week_leaves_the_rest_with_no_room() {
        // Five stops at one spot 100 m away, 250 s each: a 600 s day holds one (450 s), not two (700 s).
        let stops: Vec<Stop> = (0..5).map(|i| Stop { dwell_s: 250.0, ..stop(&format!("s{i}"), 100.0, 0.0) }).collect();
        let plan = plan(&stops, &[day(1, 600.0)], 1.0, &Flat);
        assert_eq!(plan.planned(), 1);
        assert!(plan.unplanned.iter().all(|(_, r)| *r == Unplanned::NoRoom));
    }

    #[test]
    fn it_beats_the_nearest_neighbour_on_a_scattered_district() {
        // A seeded scatter of 60 stops over 3 km, five 6-hour days from one base.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let stops: Vec<Stop> =
            (0..60).map(|i| stop(&format!("s{i}"), next() * 3000.0 - 1500.0, next() * 3000.0 - 1500.0)).collect();
        let days: Vec<Day> = (1..=5).map(|w| day(w, 6.0 * 3600.0)).collect();
        let ours = plan(&stops, &days, 1.25, &Flat);
        let nn = nearest_neighbour(&stops, &days, 1.25, &Flat);
        assert_eq!((ours.planned(), nn.planned()), (60, 60));
        assert!(ours.length_m() < nn.length_m(), "{} vs {}", ours.length_m(), nn.length_m());
    }
}
