//! The assignment kernel alone, without CSV: points already in memory, one core and all cores,
//! the fast locator beside the R-tree path it replaced. Used by `bench/assign-peers.sh`.
//!
//! usage: cargo run --release -p gridwatch --example locate_kernel -- GRIDS.geojson POINTS.csv

use geo::Coord;
use std::time::Instant;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, grids, points] = &args[..] else {
        return Err("usage: locate_kernel GRIDS.geojson POINTS.csv".into());
    };
    let started = Instant::now();
    let index = gridwatch::cli::assign::load_index(std::path::Path::new(grids))?;
    let built = started.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(points).map_err(|e| format!("{points}: {e}"))?;
    let coords: Vec<Coord<f64>> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',').skip(1);
            Some(Coord { x: f.next()?.parse().ok()?, y: f.next()?.parse().ok()? })
        })
        .collect();
    let locator = index.locator();
    println!(
        "{} grids, {} points; index built in {built:.2} s; locator {:.1} MB, {:.0} % of cells answered without a test",
        index.len(),
        coords.len(),
        locator.heap_bytes() as f64 / 1e6,
        locator.settled_share() * 100.0
    );
    // Best of three runs each, so that a busy moment on the machine does not decide.
    let time = |f: &dyn Fn() -> usize| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let found = f();
                (t.elapsed().as_secs_f64(), found)
            })
            .fold((f64::INFINITY, 0), |best, run| if run.0 < best.0 { run } else { best })
    };
    // As `gridwatch assign` asks: batches of points at once.
    let (fast, found) = time(&|| {
        let mut answers = Vec::new();
        coords
            .chunks(8192)
            .map(|batch| {
                locator.locate_many(batch, &mut answers);
                answers.iter().filter(|a| a.is_some()).count()
            })
            .sum()
    });
    let (single, _) = time(&|| coords.iter().filter(|&&p| index.locate_index(p).is_some()).count());
    let (slow, found_slow) = time(&|| coords.iter().filter(|&&p| index.locate_index_rtree(p).is_some()).count());
    let same = coords.iter().all(|&p| index.locate_index(p) == index.locate_index_rtree(p));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (parallel, _) = time(&|| {
        let chunk = coords.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = coords
                .chunks(chunk)
                .map(|part| {
                    s.spawn(|| {
                        let mut answers = Vec::new();
                        locator.locate_many(part, &mut answers);
                        answers.iter().filter(|a| a.is_some()).count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        })
    });
    let rate = |s: f64| coords.len() as f64 / s;
    println!("locator, 1 thread:        {:>12.0} points/s ({found} covered)", rate(fast));
    println!("locator, {threads} threads:       {:>12.0} points/s", rate(parallel));
    println!("locator, one at a time:   {:>12.0} points/s", rate(single));
    println!("R-tree + whole rings, 1:  {:>12.0} points/s ({found_slow} covered)", rate(slow));
    println!("answers identical: {same}");
    if !same || found != found_slow {
        return Err("the locator and the R-tree path disagree".into());
    }
    Ok(())
}
