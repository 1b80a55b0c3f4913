//! Camera-style photos for the evidence tests: a street scene encoded by the image crate, with
//! EXIF time, GPS and device written by a real tool (exiftool), as a phone camera writes them.

use std::path::Path;
use std::process::Command;
use time::{OffsetDateTime, UtcOffset};

/// A street scene: gradients and a checkerboard, so that pictures differ where it matters.
pub fn scene(mirrored: bool) -> image::RgbImage {
    image::RgbImage::from_fn(800, 600, |x, y| {
        let x = if mirrored { 799 - x } else { x };
        let board = if (x / 100 + y / 100) % 2 == 0 { 30 } else { 220 };
        image::Rgb([(x * 255 / 800) as u8, (y * 255 / 600) as u8, board])
    })
}

pub fn encode(picture: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    picture.write_to(&mut std::io::Cursor::new(&mut out), format).expect("encode");
    out
}

/// A JPEG of the scene with EXIF written by exiftool, as a phone camera writes it.
pub fn camera_jpeg(dir: &Path, name: &str, taken: OffsetDateTime, lon: f64, lat: f64) -> Vec<u8> {
    camera_jpeg_of(&scene(false), dir, name, taken, lon, lat)
}

/// Another street scene, different from [`scene`] and from every other `n` to a perceptual hash:
/// blocks of pseudo-random brightness.
pub fn other_scene(n: u32) -> image::RgbImage {
    let cell = |x: u32, y: u32| {
        let mut h = (x / 90 + 1).wrapping_mul(0x9E37_79B9)
            ^ (y / 75 + 1).wrapping_mul(0x85EB_CA6B)
            ^ n.wrapping_mul(0xC2B2_AE35);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        (h >> 24) as u8
    };
    image::RgbImage::from_fn(800, 600, |x, y| {
        let v = cell(x, y);
        image::Rgb([v, v / 2 + 40, 255 - v])
    })
}

/// A JPEG of `picture` with EXIF written by exiftool.
pub fn camera_jpeg_of(
    picture: &image::RgbImage,
    dir: &Path,
    name: &str,
    taken: OffsetDateTime,
    lon: f64,
    lat: f64,
) -> Vec<u8> {
    let path = dir.join(name);
    std::fs::write(&path, encode(picture, image::ImageFormat::Jpeg)).expect("write jpeg");
    let local = taken.to_offset(UtcOffset::from_hms(8, 0, 0).expect("offset"));
    let stamp = format!(
        "{:04}:{:02}:{:02} {:02}:{:02}:{:02}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    );
    let out = Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
            &format!("-DateTimeOriginal={stamp}"),
            "-OffsetTimeOriginal=+08:00",
            &format!("-GPSLatitude={}", lat.abs()),
            &format!("-GPSLatitudeRef={}", if lat < 0.0 { "S" } else { "N" }),
            &format!("-GPSLongitude={}", lon.abs()),
            &format!("-GPSLongitudeRef={}", if lon < 0.0 { "W" } else { "E" }),
            "-Make=HUAWEI",
            "-Model=Mate 60",
        ])
        .arg(&path)
        .output()
        .expect("exiftool runs (Debian's libimage-exiftool-perl)");
    assert!(out.status.success(), "exiftool: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(&path).expect("read back")
}

/// The same camera photo as HEIC (an iPhone's default), encoded by libheif's heif-enc, which
/// carries the EXIF across.
pub fn camera_heic(dir: &Path, name: &str, taken: OffsetDateTime, lon: f64, lat: f64) -> Vec<u8> {
    let jpeg = format!("{name}.source.jpg");
    camera_jpeg(dir, &jpeg, taken, lon, lat);
    let out = Command::new("heif-enc")
        .args(["-q", "80", "-o"])
        .arg(dir.join(name))
        .arg(dir.join(&jpeg))
        .output()
        .expect("heif-enc runs (Debian's libheif-examples)");
    assert!(out.status.success(), "heif-enc: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(dir.join(name)).expect("read back")
}
