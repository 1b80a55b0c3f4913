//! What evidence storage keeps and under which name: the same for a local directory
//! ([`super::blobs`]) and an S3-compatible bucket ([`super::s3`]).

/// Which file of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumbnail,
    /// A HEIC original as JPEG.
    Jpeg,
    /// What the public may see of a report photo its reporter agreed to publish (Open311's
    /// `media_url`): a JPEG at most [`super::PUBLIC_SIZE`] across, without the original's EXIF
    /// (no position, time or device).
    Public,
}

/// A file's name in the store: `ab/abcdef…` or `ab/abcdef….thumb.jpg`; `None` for anything that
/// is not a SHA-256 in lower-case hex (no path tricks).
pub fn object_name(sha256: &str, variant: Variant) -> Option<String> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    Some(match variant {
        Variant::Original => format!("{}/{sha256}", &sha256[..2]),
        Variant::Thumbnail => format!("{}/{sha256}.thumb.jpg", &sha256[..2]),
        Variant::Jpeg => format!("{}/{sha256}.jpg", &sha256[..2]),
        Variant::Public => format!("{}/{sha256}.public.jpg", &sha256[..2]),
    })
}
