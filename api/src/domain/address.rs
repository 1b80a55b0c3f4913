//! Addresses (地址库): door plates, buildings, compounds (小区) and places a dispatcher finds a
//! hotline caller's place by, and the text index that finds them from what the caller said.
//!
//! Callers say an address the way they remember it: part of it (`南河沿15号`), with a wrong
//! character (`多富巷`), with full-width or Chinese digits (`１５号`, `十五号`), with extra words
//! (`…门口`). The index therefore matches *symbols* — one Chinese character, one number, one run
//! of Latin letters — and pairs of them, never whole words: every symbol and every pair the
//! query shares with an address counts, weighted by how rare it is among all addresses
//! (inverse document frequency), so `东城区` counts for little and `多福巷` for much.
//! A pair one symbol apart (`多_巷`) is counted too, so one wrong character in the middle of a
//! name still leaves the name's outline. Symbols no address has (`附近`, `对面`) weigh nothing.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// At most this many characters in an address name, and in a search.
pub const MAX_NAME_CHARS: usize = 200;
/// An address whose share of the query's weight is below this is not a hit.
pub const MIN_SCORE: f32 = 0.35;

/// What an address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// 门牌 — a door plate on a street.
    DoorPlate,
    /// 楼栋 — a building.
    Building,
    /// 小区 — a residential compound.
    Compound,
    /// 兴趣点 — a shop, a school, a bus stop, an assessment point.
    Poi,
    /// 道路 — a road or lane.
    Road,
    /// 行政区划 — a street office's (街道) or a community's (社区) area.
    Division,
}

impl AddressKind {
    pub const ALL: [AddressKind; 6] =
        [Self::DoorPlate, Self::Building, Self::Compound, Self::Poi, Self::Road, Self::Division];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DoorPlate => "door_plate",
            Self::Building => "building",
            Self::Compound => "compound",
            Self::Poi => "poi",
            Self::Road => "road",
            Self::Division => "division",
        }
    }

    /// The Chinese name users know it by.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::DoorPlate => "门牌",
            Self::Building => "楼栋",
            Self::Compound => "小区",
            Self::Poi => "兴趣点",
            Self::Road => "道路",
            Self::Division => "行政区划",
        }
    }
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AddressKind {
    type Err = String;
    /// The English name or the Chinese one (`门牌`, `小区` …).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL.into_iter().find(|k| k.as_str() == s || k.name_zh() == s).ok_or_else(|| {
            let known: Vec<String> = Self::ALL.iter().map(|k| format!("{} ({})", k.as_str(), k.name_zh())).collect();
            format!("unknown address kind {s:?}; known kinds: {}", known.join(", "))
        })
    }
}

/// An address as imported: `code` is the source's identifier (门牌编码), unique.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAddress {
    pub code: String,
    pub name: String,
    pub kind: AddressKind,
    /// Other names it goes by (简称, 俗称), searched like the name.
    pub aliases: Vec<String>,
    pub lon: f64,
    pub lat: f64,
}

/// A stored address.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Address {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: AddressKind,
    pub aliases: Vec<String>,
    pub lon: f64,
    pub lat: f64,
}

/// An imported record as an address: `name` (or `address`) is required, `kind` defaults to a
/// door plate, `aliases` is a list ([`split_aliases`]); without a `code` the name and the
/// position make one, so a re-import of the same file changes nothing.
pub fn address_from_record(r: &importers::load::PointRecord) -> Result<NewAddress, importers::RecordError> {
    let fail =
        |field: &str, reason: String| importers::RecordError::new(r.unit, r.number, r.code.clone(), field, reason);
    let text = |key: &str| importers::geojson::text_property(&r.properties, key);
    let (field, name) = match (text("name"), text("address")) {
        (Some(name), _) => ("name", name),
        (None, Some(address)) => ("address", address),
        (None, None) => return Err(fail("name", "is required (or an address field; --map name=<theirs>)".into())),
    };
    if name.contains('\0') || name.chars().count() > MAX_NAME_CHARS {
        return Err(fail(field, format!("must be at most {MAX_NAME_CHARS} characters, without NUL")));
    }
    if !symbols(&name).iter().any(Option::is_some) {
        return Err(fail(field, format!("{name:?} has no character to search by")));
    }
    let kind = match text("kind") {
        None => AddressKind::DoorPlate,
        Some(k) => k.parse().map_err(|e| fail("kind", e))?,
    };
    let aliases = text("aliases").or_else(|| text("alias")).map(|a| split_aliases(&a)).unwrap_or_default();
    if aliases.iter().any(|a| a.contains('\0') || a.chars().count() > MAX_NAME_CHARS) {
        return Err(fail("aliases", format!("each must be at most {MAX_NAME_CHARS} characters, without NUL")));
    }
    let code = r.code.clone().unwrap_or_else(|| format!("{name}@{:.6},{:.6}", r.lon, r.lat));
    Ok(NewAddress { code, name, kind, aliases, lon: r.lon, lat: r.lat })
}

/// Splits alias lists as sources write them: `工体;工人体育场`, `工体、工人体育场`, `工体|…`.
pub fn split_aliases(text: &str) -> Vec<String> {
    text.split([';', '；', '|', '、', ',', '，']).map(str::trim).filter(|a| !a.is_empty()).map(str::to_string).collect()
}

/// One unit of matching: a Chinese character, a number, or a run of Latin letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Symbol {
    Char(char),
    Number(u64),
    Word(String),
}

/// The symbols of a text, after folding what users type differently for the same thing:
/// full-width forms (`１５号`, `Ａ座`) to ASCII, Chinese numbers (`十五号`, `二〇一`) to
/// digits, upper to lower case, `栋`/`幢` after a number to `号楼`, `居民委员会` to `居委会`;
/// spaces and punctuation drop out. `|` is kept as [`None`]: a break no pair crosses.
pub fn symbols(text: &str) -> Vec<Option<Symbol>> {
    let folded: String = text.chars().map(fold_width).collect::<String>().replace("居民委员会", "居委会");
    let chars: Vec<char> = folded.chars().collect();
    let mut out: Vec<Option<Symbol>> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            // Leading zeros do not make another number (`07号` = `7号`); absurd lengths saturate.
            out.push(Some(Symbol::Number(digits.parse().unwrap_or(u64::MAX))));
            continue;
        }
        if let Some((value, used)) = chinese_number(&chars[i..]) {
            out.push(Some(Symbol::Number(value)));
            i += used;
            continue;
        }
        if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Some(Symbol::Word(chars[start..i].iter().collect::<String>().to_ascii_lowercase())));
            continue;
        }
        i += 1;
        if c == '|' {
            out.push(None);
        } else if (c == '栋' || c == '幢') && matches!(out.last(), Some(Some(Symbol::Number(_)))) {
            out.push(Some(Symbol::Char('号')));
            out.push(Some(Symbol::Char('楼')));
        } else if c.is_alphanumeric() {
            out.push(Some(Symbol::Char(c)));
        }
    }
    out
}

/// Full-width ASCII forms and the ideographic space to their ASCII selves.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

fn chinese_digit(c: char) -> Option<u64> {
    Some(match c {
        '〇' | '零' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// A Chinese number at the start of `chars` (`十五`, `二十三`, `一百零八`, or digit by digit
/// `二〇一`) and how many characters it takes; at most four digits' worth.
fn chinese_number(chars: &[char]) -> Option<(u64, usize)> {
    let run = chars.iter().take_while(|&&c| chinese_digit(c).is_some() || matches!(c, '十' | '百' | '千')).count();
    if run == 0 {
        return None;
    }
    let run = &chars[..run.min(8)];
    if run.iter().all(|&c| chinese_digit(c).is_some()) {
        // Read digit by digit, as door plates and years are (二〇一 = 201).
        let value = run.iter().try_fold(0u64, |v, &c| v.checked_mul(10)?.checked_add(chinese_digit(c)?))?;
        return Some((value, run.len()));
    }
    let (mut total, mut digit, mut used) = (0u64, None::<u64>, 0);
    for &c in run {
        match c {
            '十' | '百' | '千' => {
                let scale = match c {
                    '十' => 10,
                    '百' => 100,
                    _ => 1000,
                };
                total += digit.take().unwrap_or(1) * scale;
            }
            '零' | '〇' => {} // a place holder: 一百零八 = 108
            _ => {
                let d = chinese_digit(c)?;
                if digit.is_some() {
                    break; // `十五六` (fifteen or sixteen): stop at the first number
                }
                digit = Some(d);
            }
        }
        used += 1;
    }
    Some((total + digit.unwrap_or(0), used))
}

/// What a symbol or a pair of symbols is counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Term {
    One(u32),
    /// Two neighbours, in order.
    Pair(u32, u32),
    /// Two symbols with one between them, in order.
    Skip(u32, u32),
}

/// The id of a query symbol no address has.
const UNKNOWN: u32 = u32::MAX;

impl Term {
    fn has(self, id: u32) -> bool {
        match self {
            Term::One(a) => a == id,
            Term::Pair(a, b) | Term::Skip(a, b) => a == id || b == id,
        }
    }

    /// How much a term says about order: pairs more than single symbols.
    fn weight(self) -> f32 {
        match self {
            Term::One(_) => 1.0,
            Term::Pair(..) => 2.0,
            Term::Skip(..) => 1.0,
        }
    }
}

/// The terms of one text's symbols (ids), each once.
fn terms(ids: &[Option<u32>]) -> Vec<Term> {
    let mut out = Vec::with_capacity(ids.len() * 3);
    for (i, id) in ids.iter().enumerate() {
        let Some(a) = *id else { continue };
        out.push(Term::One(a));
        if let Some(Some(b)) = ids.get(i + 1) {
            out.push(Term::Pair(a, *b));
            if let Some(Some(c)) = ids.get(i + 2) {
                out.push(Term::Skip(a, *c));
            }
        }
    }
    out.sort_unstable_by_key(|t| match *t {
        Term::One(a) => (0, a, 0),
        Term::Pair(a, b) => (1, a, b),
        Term::Skip(a, b) => (2, a, b),
    });
    out.dedup();
    out
}

/// One address found, by its position in the list the index was built from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub doc: u32,
    /// The share of the query's weight this address has (0–1).
    pub score: f32,
}

/// The text index over a list of addresses (name and aliases). Built once per address
/// revision; searching reads only the postings of the query's terms.
#[derive(Debug, Default)]
pub struct AddressIndex {
    symbol_ids: HashMap<Symbol, u32>,
    postings: HashMap<Term, Vec<u32>>,
    /// Symbols per address: of two equal scores the shorter address is the closer match.
    lengths: Vec<u16>,
}

impl AddressIndex {
    /// Indexes each address's name and aliases; `texts` yields them in list order.
    pub fn build<'a>(texts: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let mut index = AddressIndex::default();
        for (doc, (name, aliases)) in texts.into_iter().enumerate() {
            let mut symbols = symbols(name);
            for alias in aliases {
                symbols.push(None);
                symbols.extend(self::symbols(alias));
            }
            let ids: Vec<Option<u32>> = symbols
                .into_iter()
                .map(|s| {
                    s.map(|s| {
                        let next = index.symbol_ids.len() as u32;
                        *index.symbol_ids.entry(s).or_insert(next)
                    })
                })
                .collect();
            index.lengths.push(symbols_in_name(&ids));
            for term in terms(&ids) {
                index.postings.entry(term).or_default().push(doc as u32);
            }
        }
        index
    }

    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// The addresses matching `query` best, best first (at most `limit`), each sharing at
    /// least [`MIN_SCORE`] of the query's weight; `keep` filters by position (an area, a kind).
    pub fn search(&self, query: &str, limit: usize, keep: impl Fn(u32) -> bool) -> Vec<Hit> {
        let n = self.lengths.len() as f32;
        // Symbols no address has cannot be told apart from noise: they weigh nothing.
        // A pair one symbol apart still counts across an unknown symbol (`多富巷`: `多_巷`).
        let ids: Vec<Option<u32>> = symbols(query)
            .into_iter()
            .map(|s| s.map(|s| self.symbol_ids.get(&s).copied().unwrap_or(UNKNOWN)))
            .collect();
        let mut weighted = Vec::new();
        let mut total = 0.0f32;
        for term in terms(&ids) {
            if term.has(UNKNOWN) {
                continue;
            }
            let Some(docs) = self.postings.get(&term) else {
                // A pair no address has: the query's order is its own; it still counts against.
                total += term.weight() * (1.0 + n).ln();
                continue;
            };
            let w = term.weight() * (1.0 + n / docs.len() as f32).ln();
            total += w;
            weighted.push((w, docs));
        }
        if weighted.is_empty() || total <= 0.0 {
            return Vec::new();
        }
        let mut scores = vec![0.0f32; self.lengths.len()];
        for (w, docs) in &weighted {
            for &d in docs.iter() {
                scores[d as usize] += w;
            }
        }
        let floor = MIN_SCORE * total;
        let mut hits: Vec<Hit> = scores
            .iter()
            .enumerate()
            .filter(|(d, &s)| s >= floor && keep(*d as u32))
            .map(|(d, &s)| Hit { doc: d as u32, score: (s / total).min(1.0) })
            .collect();
        let order = |a: &Hit, b: &Hit| {
            b.score.total_cmp(&a.score).then(self.lengths[a.doc as usize].cmp(&self.lengths[b.doc as usize]))
        };
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit, order);
            hits.truncate(limit);
        }
        hits.sort_by(|a, b| order(a, b).then(a.doc.cmp(&b.doc)));
        hits
    }
}

/// Symbols of the name alone (up to the first break).
fn symbols_in_name(ids: &[Option<u32>]) -> u16 {
    ids.iter().take_while(|s| s.is_some()).count().min(u16::MAX as usize) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(names: &[&str]) -> AddressIndex {
        let empty: Vec<String> = Vec::new();
        let list: Vec<(&str, &[String])> = names.iter().map(|n| (*n, empty.as_slice())).collect();
        AddressIndex::build(list)
    }

    fn best<'a>(names: &[&'a str], query: &str) -> Option<&'a str> {
        index(names).search(query, 1, |_| true).first().map(|h| names[h.doc as usize])
    }

    #[test]
    fn widths_chinese_numbers_and_building_words_fold_to_one_form() {
        assert_eq!(symbols("１５号"), symbols("15号"));
        assert_eq!(symbols("十五号"), symbols("15号"));
        assert_eq!(symbols("二十三号院"), symbols("23号院"));
        assert_eq!(symbols("一百零八号"), symbols("108号"));
        assert_eq!(symbols("二〇一室"), symbols("201室"));
        assert_eq!(symbols("3栋"), symbols("3号楼"));
        assert_eq!(symbols("Ａ座 07号"), symbols("a座7号"));
        assert_eq!(symbols("和平里 ·（东）"), symbols("和平里东"));
        assert_eq!(symbols("多福巷社区居民委员会"), symbols("多福巷社区居委会"));
        // A run of numbers stops at the first whole one.
        assert_eq!(symbols("十五六"), vec![Some(Symbol::Number(15)), Some(Symbol::Number(6))]);
    }

    #[test]
    fn kinds_read_in_english_or_chinese() {
        assert_eq!("门牌".parse::<AddressKind>(), Ok(AddressKind::DoorPlate));
        assert_eq!("compound".parse::<AddressKind>(), Ok(AddressKind::Compound));
        assert!("house".parse::<AddressKind>().expect_err("no such kind").contains("door_plate (门牌)"));
        assert_eq!(split_aliases("工体；工人体育场、 北工体 "), vec!["工体", "工人体育场", "北工体"]);
    }

    const PLACES: [&str; 8] = [
        "东城区东华门街道南河沿大街15号",
        "东城区东华门街道南河沿大街115号",
        "东城区东华门街道多福巷社区居委会",
        "东城区东华门街道多福巷8号院",
        "东城区和平里街道和平里七区3号楼",
        "东城区朝阳门街道南小街15号",
        "东城区东四街道东四十条22号",
        "东城区景山街道北河沿大街15号",
    ];

    #[test]
    fn partial_misspelt_and_differently_written_queries_find_their_address() {
        for (query, expected) in [
            ("南河沿15号", PLACES[0]),
            ("南河沿大街１１５号", PLACES[1]),
            ("多福巷居委会", PLACES[2]),
            ("多富巷社区", PLACES[2]),       // 福 → 富
            ("多福巷八号院", PLACES[3]),     // 八 = 8
            ("和平里7区三栋", PLACES[4]),    // 七区 = 7区, 三栋 = 3号楼
            ("南小街十五号门口", PLACES[5]), // 门口: words no address has
            ("东四十条22", PLACES[6]),
            ("北河延大街15号", PLACES[7]), // 沿 → 延
        ] {
            assert_eq!(best(&PLACES, query), Some(expected), "{query}");
        }
    }

    #[test]
    fn nothing_like_the_query_is_no_hit() {
        let idx = index(&PLACES);
        assert!(idx.search("王府井百货大楼", 10, |_| true).is_empty());
        assert!(idx.search("", 10, |_| true).is_empty());
        assert!(idx.search("  ，。 ", 10, |_| true).is_empty());
    }

    #[test]
    fn aliases_are_searched_and_a_filter_keeps_only_what_it_allows() {
        let aliases = [vec!["工体".to_string()], vec![]];
        let idx = AddressIndex::build([("朝阳区工人体育场北路", &aliases[0][..]), ("工人新村", &aliases[1][..])]);
        assert_eq!(idx.search("工体", 5, |_| true).first().map(|h| h.doc), Some(0));
        assert!(idx.search("工体", 5, |d| d != 0).iter().all(|h| h.doc != 0));
    }

    #[test]
    fn the_shorter_of_two_equal_matches_comes_first_and_limits_hold() {
        let names = ["南河沿大街15号院3号楼", "南河沿大街15号", "南河沿大街15号院"];
        let hits = index(&names).search("南河沿大街15号", 2, |_| true);
        assert_eq!(hits.len(), 2);
        assert_eq!(names[hits[0].doc as usize], "南河沿大街15号");
        assert!(hits[0].score >= hits[1].score);
    }
}
