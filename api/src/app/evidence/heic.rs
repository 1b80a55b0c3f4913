//! HEIC/HEIF photos (the iPhone's and many Android phones' default) turned into JPEG with
//! libheif's `heif-convert` (Debian: libheif-examples), which also carries the EXIF across. The
//! original is kept as sent; the JPEG is kept beside it for the map, the archive and printing.

use super::Unaccepted;
use std::path::PathBuf;
use std::process::Command;

/// The converter program: `heif-convert` on the PATH unless `GRIDWATCH_HEIF_CONVERT` names another.
fn program() -> PathBuf {
    std::env::var_os("GRIDWATCH_HEIF_CONVERT").map_or_else(|| PathBuf::from("heif-convert"), PathBuf::from)
}

/// The largest image size any `ispe` (image spatial extents) property of the file declares, read
/// from the bytes without decoding: each is a full box `ispe`, 4 bytes of version and flags, then
/// width and height as big-endian u32. `None` when the file declares none.
pub fn declared_size(heic: &[u8]) -> Option<(u32, u32)> {
    let u32_at = |i: usize| heic.get(i..i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    heic.windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"ispe")
        .filter_map(|(i, _)| Some((u32_at(i + 8)?, u32_at(i + 12)?)))
        .max_by_key(|(w, h)| u64::from(*w) * u64::from(*h))
}

/// The HEIC file's primary image as a JPEG (quality 90), with its EXIF.
pub fn to_jpeg(heic: &[u8]) -> Result<Vec<u8>, Unaccepted> {
    let mut random = [0u8; 8];
    getrandom::getrandom(&mut random).map_err(|e| Unaccepted::Broken(e.to_string()))?;
    let dir = std::env::temp_dir().join(format!("gridwatch-heic-{}", hex::encode(random)));
    std::fs::create_dir(&dir).map_err(|e| Unaccepted::Broken(format!("no scratch folder: {e}")))?;
    let result = convert(&dir, heic);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn convert(dir: &std::path::Path, heic: &[u8]) -> Result<Vec<u8>, Unaccepted> {
    let (input, output) = (dir.join("in.heic"), dir.join("out.jpg"));
    std::fs::write(&input, heic)
        .map_err(|e| Unaccepted::Broken(format!("cannot write the photo for conversion: {e}")))?;
    let ran = Command::new(program()).args(["-q", "90"]).arg(&input).arg(&output).output();
    let out = ran.map_err(|_| Unaccepted::HeicConverterMissing)?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().chars().take(300).collect::<String>();
        return Err(Unaccepted::Broken(format!("the HEIC photo cannot be converted: {why}")));
    }
    // One image in, one JPEG out (a burst or a depth map would add more; the first is the photo).
    std::fs::read(&output)
        .or_else(|_| std::fs::read(dir.join("out-1.jpg")))
        .map_err(|e| Unaccepted::Broken(format!("the HEIC photo gave no JPEG: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_declared_size_is_the_largest_ispe() {
        let mut file = b"....ftypheic....".to_vec();
        for (w, h) in [(512u32, 512u32), (20_000, 20_000), (64, 64)] {
            file.extend_from_slice(b"\0\0\0\x14ispe\0\0\0\0");
            file.extend_from_slice(&w.to_be_bytes());
            file.extend_from_slice(&h.to_be_bytes());
        }
        assert_eq!(super::declared_size(&file), Some((20_000, 20_000)));
        assert_eq!(super::declared_size(b"no boxes here"), None);
    }
}
