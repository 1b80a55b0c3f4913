//! A lean PDF writer for the printed pages (督查通报, 督办函): A4 pages of a title, headings,
//! paragraphs, tables and photos, numbered at the foot. The text is set in STSong-Light, one of
//! the standard Chinese fonts every PDF reader supplies (Adobe's CJK set, with the UniGB-UTF16-H
//! encoding), so neither the server nor the document carries a font file.

use pdf_writer::types::FontFlags;
use pdf_writer::types::SystemInfo;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

const PAGE: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 56.0;
const WIDTH: f32 = PAGE.0 - 2.0 * MARGIN;
const BODY: f32 = 10.5; // 五号
const LEADING: f32 = 1.5;
const FONT: Name<'static> = Name(b"F1");

/// A photo to place: JPEG bytes and what it shows.
pub struct Photo<'a> {
    pub jpeg: Option<&'a [u8]>,
    pub caption: &'a str,
}

#[derive(Clone)]
struct Image {
    jpeg: Vec<u8>,
    width: u32,
    height: u32,
    grey: bool,
}

/// A document being laid out, page by page, top to bottom.
pub struct Document {
    title: String,
    done: Vec<(Content, Vec<usize>)>,
    page: Content,
    page_images: Vec<usize>,
    images: Vec<Image>,
    y: f32,
}

/// How wide `text` is at `size`: Chinese characters are one em, ASCII half an em (the widths
/// the font dictionary declares).
fn width_of(text: &str, size: f32) -> f32 {
    text.chars().map(|c| if c.is_ascii() { 0.5 } else { 1.0 }).sum::<f32>() * size
}

/// `text` broken into lines no wider than `width` (at any character: Chinese has no spaces).
fn wrap(text: &str, width: f32, size: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for c in paragraph.chars().filter(|c| !c.is_control()) {
            let mut next = line.clone();
            next.push(c);
            if width_of(&next, size) > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line.push(c);
            } else {
                line = next;
            }
        }
        lines.push(line);
    }
    lines
}

/// Text in the font's encoding: UTF-16, big-endian.
fn encoded(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

impl Document {
    pub fn new(title: &str) -> Self {
        let mut document = Self {
            title: title.to_string(),
            done: Vec::new(),
            page: Content::new(),
            page_images: Vec::new(),
            images: Vec::new(),
            y: PAGE.1 - MARGIN,
        };
        document.centred(title, 18.0);
        document.y -= 6.0;
        document
    }

    fn new_page(&mut self) {
        let page = std::mem::replace(&mut self.page, Content::new());
        self.done.push((page, std::mem::take(&mut self.page_images)));
        self.y = PAGE.1 - MARGIN;
    }

    /// Starts a new page unless `height` more fits on this one.
    fn room_for(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.new_page();
        }
    }

    fn text_at(&mut self, x: f32, baseline: f32, size: f32, text: &str) {
        self.page.begin_text();
        self.page.set_font(FONT, size);
        self.page.next_line(x, baseline);
        self.page.show(Str(&encoded(text)));
        self.page.end_text();
    }

    fn centred(&mut self, text: &str, size: f32) {
        for line in wrap(text, WIDTH, size) {
            self.room_for(size * LEADING);
            self.y -= size * LEADING;
            let x = MARGIN + (WIDTH - width_of(&line, size)).max(0.0) / 2.0;
            self.text_at(x, self.y + size * 0.3, size, &line);
        }
    }

    /// A line under the title, centred (the rounds' names, the addressee).
    pub fn subtitle(&mut self, text: &str) {
        self.centred(text, BODY);
        self.y -= 4.0;
    }

    pub fn heading(&mut self, text: &str) {
        let size = 13.0;
        self.room_for(size * LEADING * 3.0); // never a heading alone at a page's foot
        self.y -= 6.0;
        for line in wrap(text, WIDTH, size) {
            self.y -= size * LEADING;
            self.text_at(MARGIN, self.y + size * 0.3, size, &line);
        }
    }

    /// A paragraph, its first line indented by two characters.
    pub fn paragraph(&mut self, text: &str) {
        self.line(&format!("\u{3000}\u{3000}{text}"));
    }

    /// Text flush left (an addressee, a signature), wrapped.
    pub fn line(&mut self, text: &str) {
        for line in wrap(text, WIDTH, BODY) {
            self.room_for(BODY * LEADING);
            self.y -= BODY * LEADING;
            self.text_at(MARGIN, self.y + BODY * 0.3, BODY, &line);
        }
    }

    /// A table: `widths` are the columns' shares of the page's width; the header repeats on
    /// each page the table runs onto. A table of no rows is written as 无.
    pub fn table(&mut self, header: &[&str], widths: &[f32], rows: &[Vec<String>]) {
        if rows.is_empty() {
            return self.paragraph("（无）");
        }
        let total: f32 = widths.iter().sum();
        let columns: Vec<f32> = widths.iter().map(|w| w / total * WIDTH).collect();
        let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        self.row(&header, &columns, true);
        for row in rows {
            let height = self.row_height(row, &columns);
            if self.y - height < MARGIN {
                self.new_page();
                self.row(&header, &columns, true);
            }
            self.row(row, &columns, false);
        }
        self.y -= 6.0;
    }

    /// A cell's lines; a cell longer than half a page is cut there with "…", so that a row
    /// always fits on a page.
    fn cell_lines(cell: &str, column: f32) -> Vec<String> {
        let most = ((PAGE.1 - 2.0 * MARGIN) / 2.0 / (BODY * 1.3)) as usize;
        let mut lines = wrap(cell, column - 6.0, BODY);
        if lines.len() > most {
            lines.truncate(most);
            if let Some(last) = lines.last_mut() {
                last.pop();
                last.push('…');
            }
        }
        lines
    }

    fn row_height(&self, row: &[String], columns: &[f32]) -> f32 {
        let lines = row.iter().zip(columns).map(|(cell, w)| Self::cell_lines(cell, *w).len()).max().unwrap_or(1);
        lines as f32 * BODY * 1.3 + 6.0
    }

    fn row(&mut self, row: &[String], columns: &[f32], header: bool) {
        let height = self.row_height(row, columns);
        self.room_for(height);
        let top = self.y;
        if header {
            self.page.save_state();
            self.page.set_fill_gray(0.88);
            self.page.rect(MARGIN, top - height, WIDTH, height);
            self.page.fill_nonzero();
            self.page.restore_state();
        }
        let mut x = MARGIN;
        for (cell, w) in row.iter().zip(columns) {
            for (i, line) in Self::cell_lines(cell, *w).iter().enumerate() {
                let baseline = top - 3.0 - BODY * 1.3 * (i as f32 + 1.0) + BODY * 0.3;
                self.text_at(x + 3.0, baseline, BODY, line);
            }
            x += w;
        }
        self.page.set_line_width(0.5);
        self.page.move_to(MARGIN, top - height);
        self.page.line_to(MARGIN + WIDTH, top - height);
        self.page.stroke();
        self.y = top - height;
    }

    /// A line and its photos side by side under it, two to a row, each with its caption, kept
    /// on one page (a photo missing, or not a JPEG the page can show, gets "无照片" and no room).
    pub fn photos(&mut self, line: &str, photos: &[Photo<'_>]) {
        let (box_w, box_h, gap) = (WIDTH / 2.0 - 8.0, 150.0, 16.0);
        let images: Vec<Option<Image>> = photos.iter().map(|p| p.jpeg.and_then(image_of)).collect();
        let tallest = if images.iter().any(Option::is_some) { box_h } else { 0.0 };
        self.room_for(BODY * LEADING + tallest + BODY * 2.5);
        self.paragraph(line);
        self.y -= 4.0;
        for (pair, images) in photos.chunks(2).zip(images.chunks(2)) {
            let height = if images.iter().any(Option::is_some) { box_h } else { 0.0 };
            self.room_for(height + BODY * 2.5);
            let top = self.y;
            for (i, (photo, image)) in pair.iter().zip(images).enumerate() {
                let x = MARGIN + i as f32 * (box_w + gap);
                let caption = match image {
                    Some(image) => {
                        let scale = (box_w / image.width as f32).min(box_h / image.height as f32);
                        let (w, h) = (image.width as f32 * scale, image.height as f32 * scale);
                        self.images.push(image.clone());
                        let index = self.images.len() - 1;
                        self.page_images.push(index);
                        self.page.save_state();
                        self.page.transform([w, 0.0, 0.0, h, x, top - h]);
                        self.page.x_object(Name(format!("Im{index}").as_bytes()));
                        self.page.restore_state();
                        photo.caption.to_string()
                    }
                    None => format!("{}：无照片", photo.caption),
                };
                self.text_at(x, top - height - BODY * 1.4, BODY, &caption);
            }
            self.y = top - height - BODY * 2.5;
        }
    }

    /// The finished file: every page with the title and its number at the foot.
    pub fn finish(mut self) -> Vec<u8> {
        self.new_page();
        let count = self.done.len();
        let mut pdf = Pdf::new();
        let mut next = 1;
        let mut id = || {
            next += 1;
            Ref::new(next - 1)
        };
        let (catalog, tree, font, cid_font, descriptor) = (id(), id(), id(), id(), id());
        let image_ids: Vec<Ref> = self.images.iter().map(|_| id()).collect();
        let pages: Vec<(Ref, Ref)> = (0..count).map(|_| (id(), id())).collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(pages.iter().map(|(page, _)| *page)).count(count as i32);
        pdf.document_info(id()).title(TextStr(&self.title)).producer(TextStr("gridwatch"));
        pdf.type0_font(font)
            .base_font(Name(b"STSong-Light"))
            .encoding_predefined(Name(b"UniGB-UTF16-H"))
            .descendant_font(cid_font);
        let mut cid = pdf.cid_font(cid_font);
        cid.subtype(pdf_writer::types::CidFontType::Type0)
            .base_font(Name(b"STSong-Light"))
            .system_info(SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"GB1"), supplement: 4 })
            .font_descriptor(descriptor)
            .default_width(1000.0);
        cid.widths().same(1, 95, 500.0); // the proportional Latin of Adobe-GB1, as half an em
        cid.finish();
        pdf.font_descriptor(descriptor)
            .name(Name(b"STSong-Light"))
            .flags(FontFlags::SERIF | FontFlags::SYMBOLIC)
            .bbox(Rect::new(-25.0, -254.0, 1000.0, 880.0))
            .italic_angle(0.0)
            .ascent(752.0)
            .descent(-271.0)
            .cap_height(737.0)
            .stem_v(58.0);
        for (image, image_id) in self.images.iter().zip(&image_ids) {
            let mut xobject = pdf.image_xobject(*image_id, &image.jpeg);
            xobject.filter(Filter::DctDecode);
            xobject.width(image.width as i32).height(image.height as i32).bits_per_component(8);
            xobject.color_space_name(if image.grey { Name(b"DeviceGray") } else { Name(b"DeviceRGB") });
        }
        for (n, ((mut content, images), (page_id, content_id))) in self.done.into_iter().zip(pages).enumerate() {
            let foot = format!("{}　第{}页 共{}页", self.title, n + 1, count);
            content.begin_text();
            content.set_font(FONT, 9.0);
            content.next_line(MARGIN + (WIDTH - width_of(&foot, 9.0)).max(0.0) / 2.0, MARGIN / 2.0);
            content.show(Str(&encoded(&foot)));
            content.end_text();
            pdf.stream(content_id, &content.finish());
            let mut page = pdf.page(page_id);
            page.parent(tree).media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1)).contents(content_id);
            let mut resources = page.resources();
            resources.fonts().pair(FONT, font);
            let mut objects = resources.x_objects();
            for index in images {
                objects.pair(Name(format!("Im{index}").as_bytes()), image_ids[index]);
            }
        }
        pdf.finish()
    }
}

/// A JPEG the page can show as it is (DCTDecode): its size and whether it is grey or RGB.
fn image_of(jpeg: &[u8]) -> Option<Image> {
    use image::ImageDecoder;
    let decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(jpeg)).ok()?;
    let (width, height) = decoder.dimensions();
    let grey = match decoder.color_type() {
        image::ColorType::L8 => true,
        image::ColorType::Rgb8 => false,
        _ => return None,
    };
    (width > 0 && height > 0).then(|| Image { jpeg: jpeg.to_vec(), width, height, grey })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_at_the_width_counting_chinese_as_one_em() {
        let lines = wrap("共检查点位12个，发现问题3个。", 10.0 * BODY, BODY);
        assert!(lines.iter().all(|l| width_of(l, BODY) <= 10.0 * BODY), "{lines:?}");
        assert_eq!(lines.concat(), "共检查点位12个，发现问题3个。");
        assert_eq!(wrap("一\n二", WIDTH, BODY), ["一", "二"]);
        assert_eq!(encoded("督A"), [0x77, 0x63, 0x00, 0x41]);
    }

    #[test]
    fn a_document_is_a_pdf_with_a_page_per_overflow() {
        let mut document = Document::new("督查通报（2026年第1期）");
        // 44 lines fit under the title, 46 on a page after: 120 run onto a third page.
        for i in 0..120 {
            document.paragraph(&format!("第{i}段：未整改问题"));
        }
        let bytes = document.finish();
        assert!(bytes.starts_with(b"%PDF-"), "a PDF");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("/Count 3"), "three pages");
        assert!(text.contains("/STSong-Light") && text.contains("/UniGB-UTF16-H"));
    }

    #[test]
    fn a_cell_longer_than_half_a_page_is_cut_so_its_row_fits() {
        let long = "垃圾".repeat(2000);
        let lines = Document::cell_lines(&long, 100.0);
        assert!(lines.len() as f32 * BODY * 1.3 <= (PAGE.1 - 2.0 * MARGIN) / 2.0, "{}", lines.len());
        assert!(lines.last().is_some_and(|l| l.ends_with('…')));
        let mut document = Document::new("长");
        document.table(&["问题"], &[1.0], &[vec![long.clone()], vec![long]]);
        assert!(document.finish().starts_with(b"%PDF-"));
    }
}
