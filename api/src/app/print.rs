//! Pages meant for paper: the A4 style the office's documents share (督查通报, 督办函) and
//! escaping of what people typed.

/// Text as HTML: what the office, an inspector or a unit typed can hold no markup.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page that prints on A4 in the style of a government document: a red centred title,
/// Song type, ruled tables that do not split a row across pages. `title` is escaped here; `body`
/// is HTML already.
pub fn a4_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>\n\
         @page {{ size: A4; margin: 2cm; }}\n\
         body {{ font-family: \"SimSun\", \"Songti SC\", \"WenQuanYi Zen Hei\", serif; font-size: 12pt; line-height: 1.6; }}\n\
         h1 {{ text-align: center; font-size: 18pt; color: #b00; }} h2 {{ font-size: 14pt; }}\n\
         table {{ width: 100%; border-collapse: collapse; margin: 0.5em 0 1em; page-break-inside: auto; }}\n\
         th, td {{ border: 1px solid #555; padding: 2pt 4pt; text-align: center; }} tr {{ page-break-inside: avoid; }}\n\
         .sign {{ margin-top: 2em; text-align: right; }}\n\
         .pair {{ display: flex; gap: 1em; align-items: flex-start; page-break-inside: avoid; }} .pair p {{ width: 30%; }}\n\
         figure {{ margin: 0 0 .5em; text-align: center; }} figure img {{ max-width: 6cm; max-height: 4.5cm; }}\n\
         </style></head><body>\n<h1>{title}</h1>\n{body}</body></html>\n",
        title = escape(title),
    )
}
