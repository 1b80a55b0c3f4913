//! Character encodings of attribute text: named by the user, a `.cpg` file or a code page, or
//! detected. Chinese Excel and ArcGIS write GBK (a subset of GB18030) where nothing says so.

use encoding_rs::{Encoding, GB18030, GBK, UTF_8};

/// An encoding by label ("UTF-8", "GBK", "GB18030", "GB2312", "CP936", "latin1" …) or by
/// Windows code page number ("936", "65001"), as `.cpg` files hold them.
pub fn encoding_for(label: &str) -> Result<&'static Encoding, String> {
    let label = label.trim().trim_start_matches('\u{feff}').trim();
    let by_page = match label.to_ascii_lowercase().trim_start_matches("cp").trim_start_matches("windows-") {
        "936" => Some(GBK),
        "54936" => Some(GB18030),
        "65001" => Some(UTF_8),
        "950" => Encoding::for_label(b"big5"),
        "1252" => Encoding::for_label(b"windows-1252"),
        "437" | "850" => Encoding::for_label(b"windows-1252"),
        _ => None,
    };
    by_page
        .or_else(|| Encoding::for_label(label.as_bytes()))
        .ok_or_else(|| format!("encoding {label:?} is not known; use e.g. UTF-8, GBK or GB18030"))
}

/// The encoding of a sample of text: a byte-order mark if there is one, UTF-8 if the sample is
/// valid UTF-8 (a character cut off at the end of the sample is allowed), GB18030 otherwise.
pub fn detect(sample: &[u8]) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(sample) {
        return encoding;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => UTF_8,
        Err(e) if e.error_len().is_none() => UTF_8,
        Err(_) => GB18030,
    }
}

/// Decodes bytes that should be text; undecodable bytes become U+FFFD and are reported.
pub fn decode(encoding: &'static Encoding, bytes: &[u8]) -> (String, bool) {
    let (text, _, had_errors) = encoding.decode(bytes);
    (text.into_owned(), had_errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_is_told_from_utf8() {
        let (gbk, _, _) = GBK.encode("东华门街道,网格");
        assert_eq!(detect(&gbk), GB18030);
        assert_eq!(decode(detect(&gbk), &gbk).0, "东华门街道,网格");
        let utf8 = "东华门街道".as_bytes();
        assert_eq!(detect(utf8), UTF_8);
        assert_eq!(detect(&utf8[..utf8.len() - 1]), UTF_8, "a cut-off last character is still UTF-8");
        assert_eq!(encoding_for("936"), Ok(GBK));
        assert_eq!(encoding_for("UTF-8\r\n"), Ok(UTF_8));
        assert!(encoding_for("klingon").is_err());
    }
}
