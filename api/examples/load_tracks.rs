//! Loads a generated week of GPS tracks into a gridwatch store, one batch per officer-day as the
//! API stores them: `bench/coverage-store.sh` then times `gridwatch coverage` over it.
//!
//! usage: load_tracks DATABASE_URL CHUNKS.bin [OFFICERS]
//!
//! CHUNKS.bin is what `coverage_week … store` writes: per chunk a little-endian u32 count, then
//! per fix t (i64), lon and lat (f64). Five chunks (days) per officer; with OFFICERS, only the
//! first OFFICERS officers' chunks are loaded.

use spatial::track::RawFix;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(file)) = (args.get(1), args.get(2)) else {
        return Err("usage: load_tracks DATABASE_URL CHUNKS.bin [OFFICERS]".into());
    };
    let officers: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(usize::MAX);
    let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let store = gridwatch::store::connect(url).await.map_err(|e| e.to_string())?;
    let now = time::OffsetDateTime::now_utc();
    let (mut at, mut chunk, mut fixes) = (0usize, 0usize, 0usize);
    let number = |bytes: &[u8]| -> [u8; 8] { bytes.try_into().unwrap_or([0; 8]) };
    while at + 4 <= data.len() && chunk / 5 < officers {
        let count = u32::from_le_bytes(data[at..at + 4].try_into().unwrap_or([0; 4])) as usize;
        at += 4;
        let body = data.get(at..at + 24 * count).ok_or(format!("{file}: chunk {chunk} is cut short"))?;
        let track: Vec<RawFix> = body
            .chunks_exact(24)
            .map(|f| RawFix {
                t: i64::from_le_bytes(number(&f[0..8])),
                lon: f64::from_le_bytes(number(&f[8..16])),
                lat: f64::from_le_bytes(number(&f[16..24])),
                accuracy_m: None,
            })
            .collect();
        at += 24 * count;
        fixes += track.len();
        store.insert_track(format!("officer-{}", chunk / 5), track, now).await.map_err(|e| e.to_string())?;
        chunk += 1;
    }
    println!("{chunk} track batches, {fixes} fixes loaded");
    Ok(())
}
