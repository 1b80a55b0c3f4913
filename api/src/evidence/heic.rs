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
