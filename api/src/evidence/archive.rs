//! The evidence archive (网上申报材料): the closed cases of a period, per responsible unit, with
//! their before and after photos and each photo's check status, packed as a ZIP with an index an
//! office can open, print or submit (index.html) and sort (index.xlsx).

use crate::problem::Problem;
use crate::store::photos::Photo;
use std::io::Write;
use zip::write::SimpleFileOptions;

/// A closed case and its photos with their bytes.
pub struct ArchivedCase {
    pub problem: Problem,
    pub photos: Vec<(Photo, Vec<u8>)>,
}

/// Where a photo sits inside the archive: `photos/<unit>/<case>/<stage>-<n>.<ext>`.
pub fn path_in_archive(case: &ArchivedCase, photo: &Photo, n: usize) -> String {
    let unit = case.problem.responsible_unit.as_deref().unwrap_or("未分派");
    let ext = match photo.media {
        // HEIC goes in as its JPEG, which every office computer opens and prints.
        super::Media::Jpeg | super::Media::Heic => "jpg",
        super::Media::Png => "png",
        super::Media::Pdf => "pdf",
    };
    format!("photos/{}/{}/{}-{}.{ext}", safe_name(unit), case.problem.id, photo.stage.as_str(), n + 1)
}

/// A folder name without separators or control characters.
fn safe_name(text: &str) -> String {
    let name: String =
        text.chars().map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '_' } else { c }).collect();
    if name.trim_matches('.').is_empty() {
        "_".into()
    } else {
        name
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn flags_text(photo: &Photo) -> String {
    if photo.flags.is_empty() {
        return "通过 passed".into();
    }
    photo
        .flags
        .iter()
        .map(|f| serde_json::to_value(f).ok().and_then(|v| v["flag"].as_str().map(String::from)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ZIP: photos as sent, `index.html` and `index.xlsx`. Cases are grouped by unit, in order.
pub fn build(title: &str, cases: &[ArchivedCase]) -> Result<Vec<u8>, String> {
    let mut order: Vec<&ArchivedCase> = cases.iter().collect();
    order.sort_by(|a, b| (&a.problem.responsible_unit, a.problem.id).cmp(&(&b.problem.responsible_unit, b.problem.id)));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let e = |e: zip::result::ZipError| e.to_string();
    let mut html = format!(
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif}} table{{border-collapse:collapse}} td,th{{border:1px solid #999;padding:4px}}\
         img{{max-width:160px}} .flag{{color:#b00}}</style></head><body><h1>{t}</h1><p>{n} 件已结案件 closed cases</p>",
        t = escape(title),
        n = order.len()
    );
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name("佐证材料").map_err(|e| e.to_string())?;
    let head = [
        "责任单位 unit",
        "案件 case",
        "类别 category",
        "网格 grid",
        "上报 reported",
        "结案 closed",
        "阶段 stage",
        "文件 file",
        "拍摄时间 taken",
        "设备 device",
        "核验 checks",
        "SHA-256",
    ];
    for (c, h) in head.iter().enumerate() {
        sheet.write_with_format(0, c as u16, *h, &bold).map_err(|e| e.to_string())?;
    }
    let mut row = 1u32;
    let mut unit_shown: Option<&Option<String>> = None;
    for case in &order {
        let p = &case.problem;
        if unit_shown != Some(&p.responsible_unit) {
            if unit_shown.is_some() {
                html.push_str("</table>");
            }
            let unit = p.responsible_unit.as_deref().unwrap_or("未分派 unassigned");
            html.push_str(&format!(
                "<h2>{}</h2><table><tr><th>案件</th><th>类别</th><th>网格</th><th>上报</th><th>结案</th><th>整改前 before</th><th>整改后 after</th></tr>",
                escape(unit)
            ));
            unit_shown = Some(&p.responsible_unit);
        }
        let category = p.class.as_ref().map_or(p.category.clone(), |c| c.category_name.clone());
        let (mut before, mut after) = (String::new(), String::new());
        for (n, (photo, bytes)) in case.photos.iter().enumerate() {
            let path = path_in_archive(case, photo, n);
            zip.start_file(path.as_str(), if photo.media == super::Media::Pdf { deflated } else { stored })
                .map_err(e)?;
            zip.write_all(bytes).map_err(|e| e.to_string())?;
            let checks = flags_text(photo);
            let cell = format!(
                "<div><a href=\"{p}\">{img}</a><br><span class=\"{cls}\">{c}</span></div>",
                p = escape(&path),
                img = if photo.media.is_image() {
                    format!("<img src=\"{}\" alt=\"\">", escape(&path))
                } else {
                    "PDF".into()
                },
                cls = if photo.flags.is_empty() { "ok" } else { "flag" },
                c = escape(&checks)
            );
            if photo.stage.shows_the_fix() {
                after.push_str(&cell)
            } else {
                before.push_str(&cell)
            }
            let taken = photo.exif.as_ref().and_then(|t| t.at).map(crate::clock::rfc3339).unwrap_or_default();
            let device = photo.exif.as_ref().and_then(|t| t.device.clone()).unwrap_or_default();
            let values = [
                p.responsible_unit.clone().unwrap_or_default(),
                p.id.to_string(),
                category.clone(),
                p.grid_code.clone().unwrap_or_default(),
                crate::clock::rfc3339(p.created_at),
                p.case.closed_at.map(crate::clock::rfc3339).unwrap_or_default(),
                photo.stage.as_str().to_string(),
                path,
                taken,
                device,
                checks,
                photo.sha256.clone(),
            ];
            for (c, v) in values.iter().enumerate() {
                sheet.write(row, c as u16, v.as_str()).map_err(|e| e.to_string())?;
            }
            row += 1;
        }
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.id,
            escape(&category),
            escape(p.grid_code.as_deref().unwrap_or("")),
            crate::clock::rfc3339(p.created_at),
            p.case.closed_at.map(crate::clock::rfc3339).unwrap_or_default(),
            if before.is_empty() { "—".into() } else { before },
            if after.is_empty() {
                "<span class=\"flag\">缺整改后照片 no after-photo</span>".into()
            } else {
                after
            },
        ));
    }
    if unit_shown.is_some() {
        html.push_str("</table>");
    }
    html.push_str("</body></html>\n");
    zip.start_file("index.html", deflated).map_err(e)?;
    zip.write_all(html.as_bytes()).map_err(|e| e.to_string())?;
    zip.start_file("index.xlsx", stored).map_err(e)?;
    zip.write_all(&book.save_to_buffer().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    Ok(zip.finish().map_err(e)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_cannot_escape_the_archive() {
        assert_eq!(safe_name("东华门街道/../x"), "东华门街道_.._x");
        assert_eq!(safe_name(".."), "_");
        assert_eq!(escape("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}
