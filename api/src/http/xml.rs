//! XML for the formats that ask for it (Open311 GeoReport v2 names XML first): the JSON answer
//! written as elements, so the two formats carry the same fields from the same structs. An object
//! becomes one element per field (in name order); a list field `things` becomes
//! `<things><thing>…`; null becomes an empty element.

use serde::Serialize;
use serde_json::Value;

/// `items` as `<root><item>…</item>…</root>`, with the XML declaration.
pub fn document<T: Serialize>(root: &str, item: &str, items: &[T]) -> Result<String, serde_json::Error> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push('<');
    out.push_str(root);
    out.push('>');
    for value in items {
        element(&mut out, item, &serde_json::to_value(value)?);
    }
    out.push_str("</");
    out.push_str(root);
    out.push_str(">\n");
    Ok(out)
}

/// One object as `<root>…</root>`, with the XML declaration.
pub fn object<T: Serialize>(root: &str, value: &T) -> Result<String, serde_json::Error> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    element(&mut out, root, &serde_json::to_value(value)?);
    out.push('\n');
    Ok(out)
}

fn element(out: &mut String, name: &str, value: &Value) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => escape(out, s),
        Value::Array(items) => {
            let singular = name.strip_suffix('s').filter(|s| !s.is_empty()).unwrap_or("item");
            for item in items {
                element(out, singular, item);
            }
        }
        Value::Object(fields) => {
            for (key, field) in fields {
                element(out, key, field);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Text as XML character data: escaped as for HTML (`app::print::escape`), without the
/// characters XML 1.0 cannot hold (controls other than tab, line feed and carriage return).
fn escape(out: &mut String, text: &str) {
    let holdable = |c: char| (c >= ' ' || matches!(c, '\t' | '\n' | '\r')) && !matches!(c, '\u{FFFE}' | '\u{FFFF}');
    let allowed: String = text.chars().filter(|&c| holdable(c)).collect();
    out.push_str(&crate::app::print::escape(&allowed));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_lists_nulls_and_text_that_needs_escaping() {
        let xml = document(
            "service_requests",
            "request",
            &[json!({"id": "7", "note": "a<b & \"c\"\u{1}", "formats": ["text/xml", "application/json"], "media_url": null, "lat": 39.9})],
        )
        .expect("xml");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request>\
             <formats><format>text/xml</format><format>application/json</format></formats><id>7</id><lat>39.9</lat>\
             <media_url></media_url><note>a&lt;b &amp; &quot;c&quot;</note></request></service_requests>\n"
        );
    }
}
