//! A small reader of a GGUF file's header metadata (magic, version 2 or 3, the key/value
//! section), in pure Rust, so gemd can size a model (layers, heads, head sizes) before it
//! hands the file to llama.cpp. It reads only the header, never the tensors.
//!
//! The file may be anything (a user's path, a half-written copy), so every length is checked
//! before it is allocated, arithmetic is checked, and a malformed file is an error, never a
//! panic. Values gemd has no use for are skipped: big arrays (the tokenizer's vocabulary) are
//! seeked over, long strings are not kept.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;

const MAGIC: [u8; 4] = *b"GGUF";
/// GGUF keys are at most 65,535 bytes (the spec's limit).
const MAX_KEY_LEN: u64 = 65_535;
/// Longer string values (a chat template can be a few KiB) are skipped, not kept.
const MAX_KEPT_STRING: u64 = 1 << 20;
/// Integer arrays up to this length are kept (per-layer head counts); longer ones are skipped.
const MAX_KEPT_ARRAY: u64 = 4096;
/// More entries than any real model has: a bound on the map's size, not on the file's.
const MAX_KV_COUNT: u64 = 1 << 20;
/// Arrays of arrays deeper than this are refused (each level is a recursion).
const MAX_NESTING: u32 = 8;

/// Why a file's metadata could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("reading the file: {0}")]
    Io(#[source] std::io::Error),
    #[error("not a GGUF file (it starts with {0:02x?}, not \"GGUF\")")]
    NotGguf([u8; 4]),
    #[error("GGUF version {0} is not supported (only 2 and 3)")]
    UnsupportedVersion(u32),
    #[error("the file ends inside its metadata (truncated?)")]
    Truncated,
    #[error("the metadata claims {0} entries, more than any model has")]
    TooManyEntries(u64),
    #[error("a metadata key is {0} bytes long (at most {MAX_KEY_LEN})")]
    KeyTooLong(u64),
    #[error("metadata key {0:?} is not UTF-8")]
    KeyNotUtf8(String),
    #[error("metadata key {key:?} has unknown value type {ty}")]
    UnknownType { key: String, ty: u32 },
    #[error("metadata key {0:?} nests arrays deeper than {MAX_NESTING}")]
    TooDeep(String),
    #[error("metadata key {0:?} has an array too large to skip")]
    ArrayTooLarge(String),
    #[error("metadata key {0:?} appears twice")]
    DuplicateKey(String),
}

impl From<std::io::Error> for GgufError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == ErrorKind::UnexpectedEof {
            GgufError::Truncated
        } else {
            GgufError::Io(e)
        }
    }
}

/// One metadata value, as far as gemd keeps it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Every integer type (u8 … u64, i8 … i64), exactly.
    Int(i128),
    Float(f64),
    Bool(bool),
    Str(String),
    /// An integer array of at most 4096 elements (per-layer values).
    IntArray(Vec<i128>),
    /// Anything else: a string longer than 1 MiB, a longer or non-integer array.
    Skipped,
}

/// A GGUF file's header: its version, tensor count and key/value metadata.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub version: u32,
    pub tensor_count: u64,
    values: BTreeMap<String, Value>,
}

impl Metadata {
    /// Reads the header of the GGUF file at `path`.
    pub fn read(path: &Path) -> Result<Metadata, GgufError> {
        let file = File::open(path).map_err(GgufError::Io)?;
        Metadata::read_from(BufReader::with_capacity(1 << 16, file))
    }

    /// Reads a GGUF header from `r`, positioned at the file's start.
    pub fn read_from<R: Read + Seek>(mut r: R) -> Result<Metadata, GgufError> {
        let mut magic = [0u8; 4];
        r.read_exact(&mut magic)?;
        if magic != MAGIC {
            return Err(GgufError::NotGguf(magic));
        }
        let version = read_u32(&mut r)?;
        if version != 2 && version != 3 {
            return Err(GgufError::UnsupportedVersion(version));
        }
        let tensor_count = read_u64(&mut r)?;
        let kv_count = read_u64(&mut r)?;
        if kv_count > MAX_KV_COUNT {
            return Err(GgufError::TooManyEntries(kv_count));
        }
        let mut values = BTreeMap::new();
        for _ in 0..kv_count {
            let key = read_key(&mut r)?;
            let ty = read_u32(&mut r)?;
            let value = read_value(&mut r, &key, ty, 0)?;
            if values.insert(key.clone(), value).is_some() {
                return Err(GgufError::DuplicateKey(key));
            }
        }
        Ok(Metadata { version, tensor_count, values })
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// A non-negative integer value.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Value::Int(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// `general.architecture` (`llama`, `qwen2`, `gemma3`, …): the prefix of the model's keys.
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }
}

// Value type codes of the GGUF spec.
const T_U8: u32 = 0;
const T_I8: u32 = 1;
const T_U16: u32 = 2;
const T_I16: u32 = 3;
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_U64: u32 = 10;
const T_I64: u32 = 11;
const T_F64: u32 = 12;

/// Bytes of one element of a fixed-size type; `None` for strings and arrays.
fn fixed_size(ty: u32) -> Option<u64> {
    match ty {
        T_U8 | T_I8 | T_BOOL => Some(1),
        T_U16 | T_I16 => Some(2),
        T_U32 | T_I32 | T_F32 => Some(4),
        T_U64 | T_I64 | T_F64 => Some(8),
        _ => None,
    }
}

fn is_integer(ty: u32) -> bool {
    matches!(ty, T_U8 | T_I8 | T_U16 | T_I16 | T_U32 | T_I32 | T_U64 | T_I64)
}

/// An integer of type `ty`, or `None` when `ty` is not an integer type.
fn read_int<R: Read>(r: &mut R, ty: u32) -> Result<Option<i128>, GgufError> {
    Ok(Some(match ty {
        T_U8 => read_array::<1, _>(r)?[0] as i128,
        T_I8 => i8::from_le_bytes(read_array(r)?) as i128,
        T_U16 => u16::from_le_bytes(read_array(r)?) as i128,
        T_I16 => i16::from_le_bytes(read_array(r)?) as i128,
        T_U32 => u32::from_le_bytes(read_array(r)?) as i128,
        T_I32 => i32::from_le_bytes(read_array(r)?) as i128,
        T_U64 => u64::from_le_bytes(read_array(r)?) as i128,
        T_I64 => i64::from_le_bytes(read_array(r)?) as i128,
        _ => return Ok(None),
    }))
}

fn read_value<R: Read + Seek>(r: &mut R, key: &str, ty: u32, depth: u32) -> Result<Value, GgufError> {
    if let Some(v) = read_int(r, ty)? {
        return Ok(Value::Int(v));
    }
    Ok(match ty {
        T_F32 => Value::Float(f32::from_le_bytes(read_array(r)?) as f64),
        T_F64 => Value::Float(f64::from_le_bytes(read_array(r)?)),
        T_BOOL => Value::Bool(read_array::<1, _>(r)?[0] != 0),
        T_STRING => {
            let len = read_u64(r)?;
            if len > MAX_KEPT_STRING {
                skip(r, len)?;
                Value::Skipped
            } else {
                match String::from_utf8(read_bytes(r, len)?) {
                    Ok(s) => Value::Str(s),
                    Err(_) => Value::Skipped,
                }
            }
        }
        T_ARRAY => {
            if depth >= MAX_NESTING {
                return Err(GgufError::TooDeep(key.into()));
            }
            let elem = read_u32(r)?;
            let len = read_u64(r)?;
            if is_integer(elem) && len <= MAX_KEPT_ARRAY {
                let mut out = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    out.extend(read_int(r, elem)?);
                }
                Value::IntArray(out)
            } else if let Some(size) = fixed_size(elem) {
                skip(r, len.checked_mul(size).ok_or_else(|| GgufError::ArrayTooLarge(key.into()))?)?;
                Value::Skipped
            } else if elem == T_STRING || elem == T_ARRAY {
                // Variable-sized elements: each one has to be read to find the next. Every
                // element takes at least 8 bytes of file, so a huge `len` ends at EOF.
                for _ in 0..len {
                    read_value(r, key, elem, depth + 1)?;
                }
                Value::Skipped
            } else {
                return Err(GgufError::UnknownType { key: key.into(), ty: elem });
            }
        }
        other => return Err(GgufError::UnknownType { key: key.into(), ty: other }),
    })
}

fn read_key<R: Read>(r: &mut R) -> Result<String, GgufError> {
    let len = read_u64(r)?;
    if len > MAX_KEY_LEN {
        return Err(GgufError::KeyTooLong(len));
    }
    String::from_utf8(read_bytes(r, len)?)
        .map_err(|e| GgufError::KeyNotUtf8(String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn read_array<const N: usize, R: Read>(r: &mut R) -> Result<[u8; N], GgufError> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn read_u32<R: Read>(r: &mut R) -> Result<u32, GgufError> {
    Ok(u32::from_le_bytes(read_array(r)?))
}

fn read_u64<R: Read>(r: &mut R) -> Result<u64, GgufError> {
    Ok(u64::from_le_bytes(read_array(r)?))
}

/// Reads `len` bytes; the caller has bounded `len`. `take` + `read_to_end` grows the buffer
/// only as bytes arrive, so a lying length costs no more than the file holds.
fn read_bytes<R: Read>(r: &mut R, len: u64) -> Result<Vec<u8>, GgufError> {
    let mut buf = Vec::new();
    r.take(len).read_to_end(&mut buf)?;
    if buf.len() as u64 != len {
        return Err(GgufError::Truncated);
    }
    Ok(buf)
}

/// Skips `len` bytes, failing if the file ends first (a seek past the end would not).
fn skip<R: Read + Seek>(r: &mut R, len: u64) -> Result<(), GgufError> {
    let here = r.stream_position()?;
    let end = r.seek(SeekFrom::End(0))?;
    let target = here.checked_add(len).filter(|t| *t <= end).ok_or(GgufError::Truncated)?;
    r.seek(SeekFrom::Start(target))?;
    Ok(())
}

/// Writes small GGUF headers for tests (here and in the crates that size models).
pub mod testing {
    /// One metadata value to write.
    pub enum TestValue<'a> {
        U32(u32),
        U64(u64),
        Str(&'a str),
        /// An array of `n` strings, each `s`.
        StrArray(&'a str, u64),
        I32Array(&'a [i32]),
        F32(f32),
    }

    /// A version-3 GGUF header with these entries and no tensors.
    pub fn header(entries: &[(&str, TestValue<'_>)]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"GGUF");
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        let string = |b: &mut Vec<u8>, s: &str| {
            b.extend_from_slice(&(s.len() as u64).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        };
        for (key, value) in entries {
            string(&mut b, key);
            match value {
                TestValue::U32(v) => {
                    b.extend_from_slice(&4u32.to_le_bytes());
                    b.extend_from_slice(&v.to_le_bytes());
                }
                TestValue::U64(v) => {
                    b.extend_from_slice(&10u32.to_le_bytes());
                    b.extend_from_slice(&v.to_le_bytes());
                }
                TestValue::F32(v) => {
                    b.extend_from_slice(&6u32.to_le_bytes());
                    b.extend_from_slice(&v.to_le_bytes());
                }
                TestValue::Str(s) => {
                    b.extend_from_slice(&8u32.to_le_bytes());
                    string(&mut b, s);
                }
                TestValue::StrArray(s, n) => {
                    b.extend_from_slice(&9u32.to_le_bytes());
                    b.extend_from_slice(&8u32.to_le_bytes());
                    b.extend_from_slice(&n.to_le_bytes());
                    for _ in 0..*n {
                        string(&mut b, s);
                    }
                }
                TestValue::I32Array(vs) => {
                    b.extend_from_slice(&9u32.to_le_bytes());
                    b.extend_from_slice(&5u32.to_le_bytes());
                    b.extend_from_slice(&(vs.len() as u64).to_le_bytes());
                    for v in *vs {
                        b.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{header, TestValue as V};
    use super::*;
    use std::io::Cursor;

    fn sample() -> Vec<u8> {
        header(&[
            ("general.architecture", V::Str("qwen2")),
            ("qwen2.block_count", V::U32(24)),
            ("qwen2.context_length", V::U64(32768)),
            ("qwen2.rope.freq_base", V::F32(1e6)),
            ("tokenizer.ggml.tokens", V::StrArray("tok", 1000)),
            ("qwen2.attention.head_count_kv", V::I32Array(&[2, 2, 4])),
        ])
    }

    #[test]
    fn reads_scalars_strings_and_small_integer_arrays() {
        let m = Metadata::read_from(Cursor::new(sample())).unwrap();
        assert_eq!((m.version, m.tensor_count), (3, 0));
        assert_eq!(m.architecture(), Some("qwen2"));
        assert_eq!(m.get_u64("qwen2.block_count"), Some(24));
        assert_eq!(m.get_u64("qwen2.context_length"), Some(32768));
        assert_eq!(m.get("qwen2.rope.freq_base"), Some(&Value::Float(1e6)));
        assert_eq!(m.get("tokenizer.ggml.tokens"), Some(&Value::Skipped), "a long string array is skipped");
        assert_eq!(m.get("qwen2.attention.head_count_kv"), Some(&Value::IntArray(vec![2, 2, 4])));
        assert_eq!(m.get_u64("absent"), None);
    }

    #[test]
    fn reads_a_file_from_disk() {
        let path = std::env::temp_dir().join(format!("gemd-gguf-test-{}.gguf", std::process::id()));
        std::fs::write(&path, sample()).unwrap();
        let m = Metadata::read(&path).unwrap();
        assert_eq!(m.get_u64("qwen2.block_count"), Some(24));
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            let r = Metadata::read_from(Cursor::new(&bytes[..cut]));
            assert!(matches!(r, Err(GgufError::Truncated)), "cut at {cut}: {r:?}");
        }
    }

    #[test]
    fn malformed_headers_are_typed_errors() {
        let mut bad = sample();
        bad[..4].copy_from_slice(b"GGML");
        assert!(matches!(Metadata::read_from(Cursor::new(bad)), Err(GgufError::NotGguf(_))));
        let mut v1 = sample();
        v1[4..8].copy_from_slice(&1u32.to_le_bytes());
        assert!(matches!(Metadata::read_from(Cursor::new(v1)), Err(GgufError::UnsupportedVersion(1))));
        let mut many = sample();
        many[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(Metadata::read_from(Cursor::new(many)), Err(GgufError::TooManyEntries(_))));
        // The first key's length, claiming more than the limit.
        let mut long_key = sample();
        long_key[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(matches!(Metadata::read_from(Cursor::new(long_key)), Err(GgufError::KeyTooLong(_))));
        // The first value's type code (after the 20-byte key "general.architecture").
        let mut ty = sample();
        ty[52..56].copy_from_slice(&99u32.to_le_bytes());
        assert!(matches!(Metadata::read_from(Cursor::new(ty)), Err(GgufError::UnknownType { ty: 99, .. })));
    }

    #[test]
    fn a_huge_array_length_ends_at_the_file_end() {
        // A u64 array claiming 2^61 elements: the skip would overflow or pass the end.
        let mut b = header(&[]);
        b[16..24].copy_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
        b.push(b'k');
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&10u32.to_le_bytes());
        b.extend_from_slice(&(1u64 << 61).to_le_bytes());
        assert!(matches!(
            Metadata::read_from(Cursor::new(b.clone())),
            Err(GgufError::ArrayTooLarge(_) | GgufError::Truncated)
        ));
        // A string array claiming 2^60 elements runs out of file after a few.
        let n = b.len();
        b[n - 12..n - 8].copy_from_slice(&8u32.to_le_bytes());
        b[n - 8..].copy_from_slice(&(1u64 << 60).to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        assert!(matches!(Metadata::read_from(Cursor::new(b)), Err(GgufError::Truncated)));
    }

    #[test]
    fn a_duplicate_key_is_an_error() {
        let b = header(&[("a", V::U32(1)), ("a", V::U32(2))]);
        assert!(matches!(Metadata::read_from(Cursor::new(b)), Err(GgufError::DuplicateKey(_))));
    }
}
