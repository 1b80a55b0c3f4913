//! CSV files people open in Excel or WPS: a cell a spreadsheet would run as a formula
//! (`=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`) is written as text, so free text typed by one user (a
//! unit's name, a note) cannot act in another user's spreadsheet (CSV injection).

use std::borrow::Cow;

/// Writes one record, each cell neutralised.
pub fn write_record<W, I, T>(writer: &mut csv::Writer<W>, cells: I) -> csv::Result<()>
where
    W: std::io::Write,
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    writer.write_record(cells.into_iter().map(|cell| neutralised(cell.as_ref()).into_owned()))
}

/// The cell as a spreadsheet will show it but never evaluate it: text starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading apostrophe (OWASP's advice). Numbers stay
/// numbers: `-3.5` is not a formula.
pub fn neutralised(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_stay() {
        for formula in ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(neutralised(formula), format!("'{formula}"));
        }
        for plain in ["东华门街道办事处", "-3.5", "+8", "1e3", "", "a=b"] {
            assert_eq!(neutralised(plain), plain);
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        write_record(&mut w, ["=1+1", "ok"]).expect("written");
        assert_eq!(String::from_utf8(w.into_inner().expect("flushed")).expect("utf-8"), "'=1+1,ok\n");
    }
}
