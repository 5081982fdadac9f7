//! A tiny reflection model of the protobuf messages gemd accepts: enough to apply the proto3
//! JSON mapping by hand (both field spellings, enum names or numbers, base64 variants) and to
//! reject unknown fields with the real service's paths and messages.

/// Whether a field holds one value, a list, or a string-keyed map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Card {
    One,
    Repeated,
    Map,
}

/// The value type of a field, as the proto declares it.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Str,
    Bool,
    /// int64: a JSON number or a decimal string; integral floats (`40.0`) are accepted.
    Int,
    /// int32: as [`Kind::Int`], and refused outside the int32 range (as the real parser
    /// does: `maxOutputTokens: 1e12` is not a value it can hold, so it is never clamped).
    Int32,
    /// float/double: a JSON number or a numeric string.
    Float,
    /// bytes: standard or URL-safe base64, padded or not; normalised to standard padded.
    Bytes,
    /// An enum: its type name (for error messages) and the names in number order.
    Enum(&'static EnumType),
    /// A nested message.
    Message(&'static Message),
    /// `google.protobuf.Value`: any JSON, passed through untouched.
    Json,
    /// `google.protobuf.Struct`: a JSON object (function-call arguments, function responses),
    /// passed through untouched.
    Struct,
}

/// A proto enum: names indexed by their numeric value (gaps are filled with `""`).
#[derive(Debug)]
pub struct EnumType {
    pub full_name: &'static str,
    pub names: &'static [&'static str],
    /// Accept names case-insensitively (SDKs send `"string"` for `Schema.type`).
    pub case_insensitive: bool,
}

/// One field: its proto (snake_case) name, its JSON (lowerCamel) name, extra accepted
/// spellings, its kind and cardinality.
#[derive(Debug)]
pub struct Field {
    pub proto: &'static str,
    pub json: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub card: Card,
}

/// A proto message: its full type name and its fields.
#[derive(Debug)]
pub struct Message {
    pub full_name: &'static str,
    pub fields: &'static [Field],
}

impl Message {
    /// Finds the field a JSON key names, by JSON name, proto name or alias.
    pub fn field(&self, key: &str) -> Option<&'static Field> {
        let fields: &'static [Field] = self.fields;
        fields.iter().find(|f| f.json == key || f.proto == key || f.aliases.contains(&key))
    }
}

pub(crate) const fn one(proto: &'static str, json: &'static str, kind: Kind) -> Field {
    Field { proto, json, aliases: &[], kind, card: Card::One }
}

pub(crate) const fn many(proto: &'static str, json: &'static str, kind: Kind) -> Field {
    Field { proto, json, aliases: &[], kind, card: Card::Repeated }
}

pub(crate) const fn map(proto: &'static str, json: &'static str, kind: Kind) -> Field {
    Field { proto, json, aliases: &[], kind, card: Card::Map }
}

impl EnumType {
    /// Resolves a JSON enum value (name or number) to its canonical name.
    pub fn resolve(&self, value: &serde_json::Value) -> Option<&'static str> {
        let names: &'static [&'static str] = self.names;
        match value {
            serde_json::Value::String(s) => names
                .iter()
                .copied()
                .find(|n| !n.is_empty() && (*n == s || (self.case_insensitive && n.eq_ignore_ascii_case(s)))),
            serde_json::Value::Number(n) => {
                let i =
                    n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))?;
                names.get(usize::try_from(i).ok()?).copied().filter(|n| !n.is_empty())
            }
            _ => None,
        }
    }
}
