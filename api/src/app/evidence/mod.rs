//! Photo and document evidence (佐证材料): what an upload is, what it says about itself, and
//! whether it looks genuine. Files are kept as sent, under their SHA-256 ([`blobs`]); thumbnails
//! are made beside them.

pub mod archive;
pub mod attach;
pub mod blobs;
pub mod heic;
pub mod objects;
pub mod s3;

pub use crate::domain::evidence::{Media, Unaccepted, MAX_PIXELS};
use image::imageops::FilterType;
use sha2::{Digest, Sha256};

/// An accepted upload, before it is stored.
#[derive(Debug, Clone)]
pub struct Upload {
    pub media: Media,
    pub sha256: String,
    /// 64-bit difference hash of the picture (dHash): near-identical for the same scene
    /// re-encoded, resized or lightly edited. `None` for documents.
    pub dhash: Option<u64>,
    /// A JPEG at most [`THUMB`] pixels across, for the map and lists. `None` for documents.
    pub thumbnail: Option<Vec<u8>>,
    /// For a HEIC photo: the same picture as a JPEG, EXIF included.
    pub converted: Option<Vec<u8>>,
}

/// Thumbnail size, pixels on the longer side.
pub const THUMB: u32 = 320;
/// The public rendition's largest side (pixels).
pub const PUBLIC_SIZE: u32 = 1280;

/// Refuses an image whose header declares more than [`MAX_PIXELS`].
fn check_pixels(width: u32, height: u32) -> Result<(), Unaccepted> {
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Unaccepted::TooManyPixels { width, height });
    }
    Ok(())
}

/// Checks the type, hashes the bytes and, for images, decodes them once for the perceptual hash
/// and the thumbnail. The size an image declares is checked before its pixels are decoded.
pub fn accept(bytes: &[u8]) -> Result<Upload, Unaccepted> {
    let media = Media::sniff(bytes)?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    if !media.is_image() {
        return Ok(Upload { media, sha256, dhash: None, thumbnail: None, converted: None });
    }
    let converted = if media == Media::Heic {
        if let Some((width, height)) = heic::declared_size(bytes) {
            check_pixels(width, height)?;
        }
        Some(heic::to_jpeg(bytes)?)
    } else {
        None
    };
    let picture = decode(bytes, media, converted.as_deref())?;
    let dhash = Some(difference_hash(&picture));
    let mut thumbnail = Vec::new();
    picture
        .thumbnail(THUMB, THUMB)
        .to_rgb8()
        .write_to(&mut std::io::Cursor::new(&mut thumbnail), image::ImageFormat::Jpeg)
        .map_err(|e| Unaccepted::Broken(e.to_string()))?;
    Ok(Upload { media, sha256, dhash, thumbnail: Some(thumbnail), converted })
}

/// The pixels of an image (a HEIC photo's from its JPEG), its declared size checked before they
/// are decoded.
fn decode(bytes: &[u8], media: Media, converted: Option<&[u8]>) -> Result<image::DynamicImage, Unaccepted> {
    let (pixels, format) = match (converted, media) {
        (Some(jpeg), _) => (jpeg, image::ImageFormat::Jpeg),
        (None, Media::Png) => (bytes, image::ImageFormat::Png),
        (None, _) => (bytes, image::ImageFormat::Jpeg),
    };
    let reader = || image::ImageReader::with_format(std::io::Cursor::new(pixels), format);
    let (width, height) = reader().into_dimensions().map_err(|e| Unaccepted::Broken(e.to_string()))?;
    check_pixels(width, height)?;
    let mut reader = reader();
    let mut limits = image::Limits::default();
    // RGBA at MAX_PIXELS, with room for the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    reader.decode().map_err(|e| Unaccepted::Broken(e.to_string()))
}

/// The public rendition of a photo (Open311's `media_url`): at most [`PUBLIC_SIZE`] pixels
/// across, re-encoded as JPEG, so that nothing of the original's EXIF (position, time, device)
/// goes out with it. `original` is the file as sent; a HEIC photo's JPEG is `converted`.
pub fn public_rendition(original: &[u8], converted: Option<&[u8]>) -> Result<Vec<u8>, Unaccepted> {
    let media = Media::sniff(original)?;
    if !media.is_image() {
        return Err(Unaccepted::Type);
    }
    let picture = decode(original, media, converted)?;
    // Smaller ones are only re-encoded, never enlarged.
    let picture = if picture.width().max(picture.height()) > PUBLIC_SIZE {
        picture.thumbnail(PUBLIC_SIZE, PUBLIC_SIZE)
    } else {
        picture
    };
    let mut out = Vec::new();
    picture
        .to_rgb8()
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .map_err(|e| Unaccepted::Broken(e.to_string()))?;
    Ok(out)
}

/// dHash: the picture in 9 × 8 grey pixels, one bit per neighbour pair (is the left brighter?).
pub fn difference_hash(picture: &image::DynamicImage) -> u64 {
    let small = picture.resize_exact(9, 8, FilterType::Triangle).to_luma8();
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            hash = (hash << 1) | u64::from(small.get_pixel(x, y)[0] > small.get_pixel(x + 1, y)[0]);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn scene(shift: u8) -> RgbImage {
        RgbImage::from_fn(640, 480, |x, y| {
            Rgb([
                ((x * 255 / 640) as u8).wrapping_add(shift),
                ((y * 255 / 480) as u8),
                if (x / 80 + y / 80) % 2 == 0 { 40 } else { 200 },
            ])
        })
    }

    fn encode(picture: &RgbImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        picture.write_to(&mut std::io::Cursor::new(&mut out), format).expect("encode");
        out
    }

    #[test]
    fn types_are_sniffed_from_the_bytes() {
        assert_eq!(Media::sniff(b"%PDF-1.7\n"), Ok(Media::Pdf));
        assert_eq!(Media::sniff(b"\0\0\0\x18ftypheic\0\0"), Ok(Media::Heic));
        assert_eq!(Media::sniff(b"GIF89a"), Err(Unaccepted::Type));
        assert_eq!(Media::sniff(b""), Err(Unaccepted::Type));
    }

    #[test]
    fn the_same_scene_re_encoded_keeps_its_perceptual_hash() {
        let jpeg = accept(&encode(&scene(0), image::ImageFormat::Jpeg)).expect("jpeg");
        let png = accept(&encode(&scene(0), image::ImageFormat::Png)).expect("png");
        let other =
            accept(&encode(&image::imageops::flip_horizontal(&scene(0)), image::ImageFormat::Png)).expect("png");
        assert_ne!(jpeg.sha256, png.sha256, "different bytes");
        let distance = |a: &Upload, b: &Upload| (a.dhash.unwrap_or(0) ^ b.dhash.unwrap_or(0)).count_ones();
        assert!(
            distance(&jpeg, &png) <= crate::domain::evidence::checks::SAME_PICTURE_BITS,
            "same picture: {}",
            distance(&jpeg, &png)
        );
        assert!(
            distance(&png, &other) > crate::domain::evidence::checks::SAME_PICTURE_BITS,
            "mirrored: {}",
            distance(&png, &other)
        );
        let thumb = image::load_from_memory(jpeg.thumbnail.as_deref().unwrap_or_default()).expect("thumbnail");
        assert_eq!((thumb.width(), thumb.height()), (THUMB, 240));
    }

    #[test]
    fn a_truncated_image_is_refused_not_panicked_on() {
        let bytes = encode(&scene(0), image::ImageFormat::Png);
        assert!(matches!(accept(&bytes[..bytes.len() / 2]), Err(Unaccepted::Broken(_))));
    }
}
