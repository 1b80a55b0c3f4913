//! Evidence (佐证材料) as the rules see it: the kinds of file accepted, what a photo says about
//! itself ([`exif`]) and whether it looks genuine ([`checks`]).

pub mod checks;
pub mod exif;

use serde::Serialize;

/// The most pixels an accepted image may declare: 50 megapixels, above every phone camera
/// (48 MP is 8064 × 6048). Larger ones are refused from their header, before any decoding.
pub const MAX_PIXELS: u64 = 50_000_000;

/// The kinds of file accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Media {
    Jpeg,
    Png,
    Pdf,
    /// Kept as sent, with a JPEG made from it beside it (`app::evidence::heic`).
    Heic,
}

impl Media {
    pub fn mime(self) -> &'static str {
        match self {
            Media::Jpeg => "image/jpeg",
            Media::Png => "image/png",
            Media::Pdf => "application/pdf",
            Media::Heic => "image/heic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Media::Jpeg, Media::Png, Media::Pdf, Media::Heic].into_iter().find(|m| m.mime() == s)
    }

    /// By the file's first bytes, never by its name or the type the client claims.
    pub fn sniff(bytes: &[u8]) -> Result<Self, Unaccepted> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Ok(Media::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Ok(Media::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Ok(Media::Pdf)
        } else if bytes.get(4..8) == Some(b"ftyp")
            && bytes.get(8..12).is_some_and(|brand| {
                [b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"].contains(&brand.try_into().unwrap_or(&[0; 4]))
            })
        {
            Ok(Media::Heic)
        } else {
            Err(Unaccepted::Type)
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, Media::Jpeg | Media::Png | Media::Heic)
    }
}

/// Why an upload is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Unaccepted {
    Type,
    /// A HEIC photo, and no `heif-convert` on the server to turn it into JPEG.
    HeicConverterMissing,
    /// An image whose pixels cannot be decoded.
    Broken(String),
    /// An image declaring more than [`MAX_PIXELS`] pixels (a decompression bomb, or a panorama).
    TooManyPixels {
        width: u32,
        height: u32,
    },
}

impl std::fmt::Display for Unaccepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unaccepted::Type => write!(f, "only JPEG, PNG, HEIC and PDF files are accepted"),
            Unaccepted::HeicConverterMissing => write!(
                f,
                "this server cannot convert HEIC photos (heif-convert, Debian package libheif-examples, is not \
                 installed): send JPEG, or set the phone camera to 'Most Compatible'"
            ),
            Unaccepted::Broken(why) => write!(f, "the image cannot be read: {why}"),
            Unaccepted::TooManyPixels { width, height } => write!(
                f,
                "the image declares {width} × {height} pixels; at most {} megapixels are accepted",
                MAX_PIXELS / 1_000_000
            ),
        }
    }
}
