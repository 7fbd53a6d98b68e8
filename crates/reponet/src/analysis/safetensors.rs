//! The safetensors format (a JSON header of names, dtypes, shapes and byte ranges, then the
//! little-endian data), written for embeddings and exported models.

use std::collections::BTreeMap;

/// One tensor to write: its name, shape and data.
pub struct Entry<'a> {
    /// The tensor's name.
    pub name: &'a str,
    /// Its dimensions.
    pub shape: Vec<usize>,
    /// Its values.
    pub data: Data<'a>,
}

/// A tensor's values, in one of the dtypes reponet writes.
pub enum Data<'a> {
    /// `F32`.
    F32(&'a [f32]),
    /// `U8`.
    U8(&'a [u8]),
}

impl Data<'_> {
    fn dtype(&self) -> &'static str {
        match self {
            Data::F32(_) => "F32",
            Data::U8(_) => "U8",
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Data::F32(v) => 4 * v.len(),
            Data::U8(v) => v.len(),
        }
    }
}

/// The file's bytes: `entries` in order, `metadata` as the header's `__metadata__`.
pub fn to_bytes(entries: &[Entry], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!(metadata));
    let mut offset = 0;
    for e in entries {
        let end = offset + e.data.bytes();
        header.insert(
            e.name.into(),
            serde_json::json!({ "dtype": e.data.dtype(), "shape": e.shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut header = serde_json::Value::Object(header).to_string();
    // Pad the header with spaces so the data starts 8-byte aligned.
    header.push_str(&" ".repeat((8 - header.len() % 8) % 8));
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for e in entries {
        match e.data {
            Data::F32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Data::U8(v) => out.extend_from_slice(v),
        }
    }
    out
}
