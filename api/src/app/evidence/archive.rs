//! The evidence archive (网上申报材料): the closed cases of a period, per responsible unit, with
//! their before and after photos and each photo's check status, packed as a ZIP with an index an
//! office can open, print or submit (index.html) and sort (index.xlsx).

use crate::app::print::escape;
use crate::domain::problem::Problem;
use crate::store::photos::Photo;
use std::io::Write;
use zip::write::SimpleFileOptions;

/// A closed case and its photos with their bytes.
pub struct ArchivedCase {
    pub problem: Problem,
    pub photos: Vec<(Photo, Vec<u8>)>,
}

/// An assessment point with the period's inspections of it and its on-site photos (实景图片).
pub struct ArchivedPoint {
    pub point: crate::domain::patrol::StoredPoint,
    pub inspections: Vec<crate::domain::patrol::Inspection>,
    pub photos: Vec<(crate::store::photos::PointPhoto, Vec<u8>)>,
}

/// The extension a file keeps in the archive (HEIC goes in as its JPEG, which every office
/// computer opens and prints).
fn extension(media: super::Media) -> &'static str {
    match media {
        super::Media::Jpeg | super::Media::Heic => "jpg",
        super::Media::Png => "png",
        super::Media::Pdf => "pdf",
    }
}

/// Where a point photo sits: `points/<unit>/<point>/<criterion>-<n>.<ext>` (`whole` for the
/// whole point).
fn point_path(
    point: &crate::domain::patrol::StoredPoint,
    photo: &crate::store::photos::PointPhoto,
    n: usize,
) -> String {
    let unit = point.responsible_unit.as_deref().unwrap_or("未分派");
    let criterion = if photo.criterion.is_empty() { "whole" } else { photo.criterion.as_str() };
    format!(
        "points/{}/{}/{}-{}.{}",
        safe_name(unit),
        safe_name(&point.code),
        safe_name(criterion),
        n + 1,
        extension(photo.file.media)
    )
}

/// The best evidence among photos: one that passed every check before one that did not, then
/// the newest.
fn best<'a>(
    photos: &[&'a (crate::store::photos::PointPhoto, Vec<u8>)],
) -> Option<&'a (crate::store::photos::PointPhoto, Vec<u8>)> {
    photos.iter().copied().min_by_key(|(p, _)| (!p.file.flags.is_empty(), std::cmp::Reverse(p.file.uploaded_at)))
}

/// Where a photo sits inside the archive: `photos/<unit>/<case>/<stage>-<n>.<ext>`.
pub fn path_in_archive(case: &ArchivedCase, photo: &Photo, n: usize) -> String {
    let unit = case.problem.responsible_unit.as_deref().unwrap_or("未分派");
    format!(
        "photos/{}/{}/{}-{}.{}",
        safe_name(unit),
        case.problem.id,
        photo.stage.as_str(),
        n + 1,
        extension(photo.file.media)
    )
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

fn checks_text(flags: &[crate::domain::evidence::checks::Flag]) -> String {
    if flags.is_empty() {
        return "通过 passed".into();
    }
    flags
        .iter()
        .map(|f| serde_json::to_value(f).ok().and_then(|v| v["flag"].as_str().map(String::from)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ZIP: photos as sent, `index.html` and `index.xlsx`. Cases are grouped by unit, in order;
/// then the assessment points, per unit, with each criterion's inspection results and photos.
pub fn build(title: &str, cases: &[ArchivedCase], points: &[ArchivedPoint]) -> Result<Vec<u8>, String> {
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
            zip.start_file(path.as_str(), if photo.file.media == super::Media::Pdf { deflated } else { stored })
                .map_err(e)?;
            zip.write_all(bytes).map_err(|e| e.to_string())?;
            let checks = checks_text(&photo.file.flags);
            let cell = format!(
                "<div><a href=\"{p}\">{img}</a><br><span class=\"{cls}\">{c}</span></div>",
                p = escape(&path),
                img = if photo.file.media.is_image() {
                    format!("<img src=\"{}\" alt=\"\">", escape(&path))
                } else {
                    "PDF".into()
                },
                cls = if photo.file.flags.is_empty() { "ok" } else { "flag" },
                c = escape(&checks)
            );
            if photo.stage.shows_the_fix() {
                after.push_str(&cell);
            } else {
                before.push_str(&cell);
            }
            let taken =
                photo.file.exif.as_ref().and_then(|t| t.at).map(crate::domain::clock::rfc3339).unwrap_or_default();
            let device = photo.file.exif.as_ref().and_then(|t| t.device.clone()).unwrap_or_default();
            let values = [
                p.responsible_unit.clone().unwrap_or_default(),
                p.id.to_string(),
                category.clone(),
                p.grid_code.clone().unwrap_or_default(),
                crate::domain::clock::rfc3339(p.created_at),
                p.case.closed_at.map(crate::domain::clock::rfc3339).unwrap_or_default(),
                photo.stage.as_str().to_string(),
                path,
                taken,
                device,
                checks,
                photo.file.sha256.clone(),
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
            crate::domain::clock::rfc3339(p.created_at),
            p.case.closed_at.map(crate::domain::clock::rfc3339).unwrap_or_default(),
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
    write_points(&mut zip, &mut book, &mut html, points)?;
    html.push_str("</body></html>\n");
    zip.start_file("index.html", deflated).map_err(e)?;
    zip.write_all(html.as_bytes()).map_err(|e| e.to_string())?;
    zip.start_file("index.xlsx", stored).map_err(e)?;
    zip.write_all(&book.save_to_buffer().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    Ok(zip.finish().map_err(e)?.into_inner())
}

/// The points' part: per unit and point, one row per criterion (and one for photos of the whole
/// point) with the period's inspection results and the best photo; every photo in the ZIP and on
/// the sheet 测评点位实景.
fn write_points(
    zip: &mut zip::ZipWriter<std::io::Cursor<Vec<u8>>>,
    book: &mut rust_xlsxwriter::Workbook,
    html: &mut String,
    points: &[ArchivedPoint],
) -> Result<(), String> {
    let x = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut order: Vec<&ArchivedPoint> = points.iter().collect();
    order.sort_by(|a, b| (&a.point.responsible_unit, &a.point.code).cmp(&(&b.point.responsible_unit, &b.point.code)));
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name("测评点位实景").map_err(x)?;
    let head = [
        "责任单位 unit",
        "点位 point",
        "名称 name",
        "标准 criterion",
        "内容 text",
        "检查 inspections",
        "不达标 failed",
        "文件 file",
        "拍摄时间 taken",
        "设备 device",
        "核验 checks",
        "最佳 best",
        "SHA-256",
    ];
    for (c, h) in head.iter().enumerate() {
        sheet.write_with_format(0, c as u16, *h, &bold).map_err(x)?;
    }
    html.push_str(&format!("<h1>测评点位实景 assessment points</h1><p>{} 个点位 points</p>", order.len()));
    let mut row = 1u32;
    for archived in order {
        let point = &archived.point;
        html.push_str(&format!(
            "<h2>{} {} <small>{}</small></h2><table><tr><th>标准 criterion</th><th>检查 inspections</th><th>实景 best photo</th><th>其他 more</th></tr>",
            escape(&point.code),
            escape(&point.name),
            escape(point.responsible_unit.as_deref().unwrap_or("未分派 unassigned"))
        ));
        let mut paths = std::collections::HashMap::new();
        for (n, (photo, bytes)) in archived.photos.iter().enumerate() {
            let path = point_path(point, photo, n);
            let method = if photo.file.media == super::Media::Pdf {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            zip.start_file(path.as_str(), SimpleFileOptions::default().compression_method(method))
                .map_err(|e| e.to_string())?;
            zip.write_all(bytes).map_err(|e| e.to_string())?;
            paths.insert(photo.id, path);
        }
        let whole = spatial::patrol::Criterion {
            id: String::new(),
            text: "整体 whole point".into(),
            weight: 1.0,
            category: None,
        };
        for criterion in point.criteria.iter().chain(std::iter::once(&whole)) {
            let photos: Vec<_> = archived.photos.iter().filter(|(p, _)| p.criterion == criterion.id).collect();
            let results: Vec<bool> = archived
                .inspections
                .iter()
                .flat_map(|i| i.results.iter().filter(|r| r.criterion == criterion.id).map(|r| r.pass))
                .collect();
            if criterion.id.is_empty() && photos.is_empty() {
                continue;
            }
            let failed = results.iter().filter(|pass| !**pass).count();
            let chosen = best(&photos);
            let cell = chosen.map_or_else(
                || "<span class=\"flag\">缺实景照片 no photo</span>".to_string(),
                |(photo, _)| {
                    let path = escape(&paths[&photo.id]);
                    let img = if photo.file.media.is_image() {
                        format!("<img src=\"{path}\" alt=\"\">")
                    } else {
                        "PDF".into()
                    };
                    let class = if photo.file.flags.is_empty() { "ok" } else { "flag" };
                    format!(
                        "<a href=\"{path}\">{img}</a><br><span class=\"{class}\">{}</span>",
                        escape(&checks_text(&photo.file.flags))
                    )
                },
            );
            html.push_str(&format!(
                "<tr><td>{} {}</td><td>{} 次 · 不达标 {}</td><td>{}</td><td>{}</td></tr>",
                escape(&criterion.id),
                escape(&criterion.text),
                results.len(),
                failed,
                cell,
                photos.len().saturating_sub(1)
            ));
            for (photo, _) in &photos {
                let taken =
                    photo.file.exif.as_ref().and_then(|t| t.at).map(crate::domain::clock::rfc3339).unwrap_or_default();
                let device = photo.file.exif.as_ref().and_then(|t| t.device.clone()).unwrap_or_default();
                let is_best = chosen.is_some_and(|(b, _)| b.id == photo.id);
                let values = [
                    point.responsible_unit.clone().unwrap_or_default(),
                    point.code.clone(),
                    point.name.clone(),
                    criterion.id.clone(),
                    criterion.text.clone(),
                    results.len().to_string(),
                    failed.to_string(),
                    paths[&photo.id].clone(),
                    taken,
                    device,
                    checks_text(&photo.file.flags),
                    if is_best { "是 yes".into() } else { String::new() },
                    photo.file.sha256.clone(),
                ];
                for (c, v) in values.iter().enumerate() {
                    sheet.write(row, c as u16, v.as_str()).map_err(x)?;
                }
                row += 1;
            }
        }
        html.push_str("</table>");
    }
    Ok(())
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
