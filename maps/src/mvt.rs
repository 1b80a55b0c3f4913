//! Mapbox Vector Tile 2.1 encoding: a protobuf writer for the `Tile`, `Layer`, `Feature` and
//! `Value` messages of the specification's `vector_tile.proto`, with keys and values shared per
//! layer. Geometry arrives already in tile coordinates (see [`crate::tiles`]).

use std::collections::HashMap;

/// A property value as MVT stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

/// Values are deduplicated by their exact encoding (floats by bit pattern).
#[derive(Hash, PartialEq, Eq)]
enum ValueKey {
    Text(String),
    Int(i64),
    Float(u64),
    Bool(bool),
}

impl From<&Value> for ValueKey {
    fn from(v: &Value) -> Self {
        match v {
            Value::Text(s) => ValueKey::Text(s.clone()),
            Value::Int(i) => ValueKey::Int(*i),
            Value::Float(f) => ValueKey::Float(f.to_bits()),
            Value::Bool(b) => ValueKey::Bool(*b),
        }
    }
}

/// The three MVT geometry types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeomType {
    Point = 1,
    LineString = 2,
    Polygon = 3,
}

/// One layer being written. Features are appended with geometry commands already encoded.
pub struct Layer {
    name: String,
    extent: u32,
    keys: Vec<String>,
    key_index: HashMap<String, u32>,
    values: Vec<Value>,
    value_index: HashMap<ValueKey, u32>,
    features: Vec<u8>,
    count: usize,
}

impl Layer {
    pub fn new(name: &str, extent: u32) -> Self {
        Self {
            name: name.to_string(),
            extent,
            keys: Vec::new(),
            key_index: HashMap::new(),
            values: Vec::new(),
            value_index: HashMap::new(),
            features: Vec::new(),
            count: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn key(&mut self, k: &str) -> u32 {
        if let Some(&i) = self.key_index.get(k) {
            return i;
        }
        let i = self.keys.len() as u32;
        self.keys.push(k.to_string());
        self.key_index.insert(k.to_string(), i);
        i
    }

    fn value(&mut self, v: &Value) -> u32 {
        let key = ValueKey::from(v);
        if let Some(&i) = self.value_index.get(&key) {
            return i;
        }
        let i = self.values.len() as u32;
        self.values.push(v.clone());
        self.value_index.insert(key, i);
        i
    }

    /// Appends a feature; `commands` is the encoded geometry (non-empty), properties with a
    /// `None` value are left out as MVT has no null.
    pub fn add(&mut self, id: Option<u64>, kind: GeomType, commands: &[u32], properties: &[(&str, Option<Value>)]) {
        let mut tags = Vec::with_capacity(properties.len() * 2);
        for (k, v) in properties {
            if let Some(v) = v {
                tags.push(self.key(k));
                tags.push(self.value(v));
            }
        }
        let mut feature = Vec::with_capacity(commands.len() * 2 + tags.len() + 16);
        if let Some(id) = id {
            varint_field(&mut feature, 1, id);
        }
        packed_field(&mut feature, 2, &tags);
        varint_field(&mut feature, 3, kind as u64);
        packed_field(&mut feature, 4, commands);
        bytes_field(&mut self.features, 2, &feature);
        self.count += 1;
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut layer = Vec::with_capacity(self.features.len() + 64 * (self.keys.len() + self.values.len()));
        varint_field(&mut layer, 15, 2);
        bytes_field(&mut layer, 1, self.name.as_bytes());
        layer.extend_from_slice(&self.features);
        for k in &self.keys {
            bytes_field(&mut layer, 3, k.as_bytes());
        }
        for v in &self.values {
            let mut value = Vec::new();
            match v {
                Value::Text(s) => bytes_field(&mut value, 1, s.as_bytes()),
                Value::Float(f) => {
                    tag(&mut value, 3, 1);
                    value.extend_from_slice(&f.to_le_bytes());
                }
                Value::Int(i) => varint_field(&mut value, 6, zigzag64(*i)),
                Value::Bool(b) => varint_field(&mut value, 7, u64::from(*b)),
            }
            bytes_field(&mut layer, 4, &value);
        }
        varint_field(&mut layer, 5, u64::from(self.extent));
        bytes_field(out, 3, &layer);
    }
}

/// A whole tile: its layers in order. Layers without features are left out, so a tile with
/// nothing in it is zero bytes — a valid, empty MVT.
pub fn encode_tile(layers: &[Layer]) -> Vec<u8> {
    let mut out = Vec::new();
    for layer in layers.iter().filter(|l| !l.is_empty()) {
        layer.encode(&mut out);
    }
    out
}

/// Geometry command integers (MVT 2.1 §4.3).
pub fn command(id: u32, count: u32) -> u32 {
    (id & 0x7) | (count << 3)
}
pub const MOVE_TO: u32 = 1;
pub const LINE_TO: u32 = 2;
pub const CLOSE_PATH: u32 = 7;

pub fn zigzag32(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

fn zigzag64(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn tag(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from((field << 3) | wire));
}

fn varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    tag(out, field, 0);
    varint(out, v);
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    tag(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn packed_field(out: &mut Vec<u8>, field: u32, values: &[u32]) {
    if values.is_empty() {
        return;
    }
    let mut body = Vec::with_capacity(values.len() * 2);
    for &v in values {
        varint(&mut body, u64::from(v));
    }
    bytes_field(out, field, &body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_matches_the_protobuf_definition() {
        assert_eq!([zigzag32(0), zigzag32(-1), zigzag32(1), zigzag32(-2), zigzag32(2)], [0, 1, 2, 3, 4]);
        assert_eq!(zigzag32(i32::MIN), u32::MAX);
    }

    #[test]
    fn the_specification_example_point_encodes_as_published() {
        // MVT 2.1 §4.3.5.1: a point at (25, 17) is [9, 50, 34].
        let geometry = [command(MOVE_TO, 1), zigzag32(25), zigzag32(17)];
        assert_eq!(geometry, [9, 50, 34]);
    }

    #[test]
    fn keys_and_values_are_shared_within_a_layer() {
        let mut layer = Layer::new("grids", 4096);
        let props = |code: &str| vec![("code", Some(Value::from(code))), ("level", Some(Value::from("unit")))];
        layer.add(Some(1), GeomType::Point, &[9, 50, 34], &props("A"));
        layer.add(Some(2), GeomType::Point, &[9, 50, 34], &props("B"));
        assert_eq!(layer.keys, ["code", "level"]);
        assert_eq!(layer.values, [Value::from("A"), Value::from("unit"), Value::from("B")]);
    }

    #[test]
    fn an_empty_tile_is_zero_bytes() {
        assert!(encode_tile(&[Layer::new("grids", 4096)]).is_empty());
    }
}
