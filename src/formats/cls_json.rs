//! One record of the CLS JSON export, read without building a JSON tree.
//!
//! Semantics: the line is one JSON value (as `serde_json::Value` would read it: same grammar, same
//! depth limit, same errors). An object gives the values of the fields `record::from_cls_fields` reads
//! (`FIELDS`): a string as is, a number as `serde_json` prints it, anything else as absent; a key given
//! twice keeps its last value. Whether any key starts with `SCF_` is noted (a CLS record has one).
//! Other values (an array, a number…) give no fields. Strings without escapes are borrowed from the
//! line: a tree of the whole record cost ~25 allocations a line, most of a CLS `check`'s time.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The fields a CLS record is read from (`record::from_cls_fields`).
const FIELDS: [&str; 10] = [
    "SCF_Message",
    "SCF_LogTime",
    "SCF_StartTime",
    "SCF_RequestId",
    "SCF_StatusCode",
    "SCF_FunctionName",
    "SCF_Level",
    "SCF_Qualifier",
    "SCF_Alias",
    "__TIMESTAMP__",
];

/// What a JSON object holds of `FIELDS`, and whether it names any `SCF_` field.
#[derive(Default)]
pub(crate) struct ClsFields<'a> {
    pub scf: bool,
    values: [Option<Cow<'a, str>>; FIELDS.len()],
}

impl ClsFields<'_> {
    /// One of `FIELDS`, where the object gave it as a string or a number.
    pub fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        let i = FIELDS.iter().position(|f| *f == key)?;
        self.values[i].as_deref().map(Cow::Borrowed)
    }
}

/// The line's fields: `Ok(None)` for JSON that is no object, `Err` for no JSON at all. The whole line
/// must be UTF-8, as for a tree (the fields skipped here are not decoded, so not checked on the way).
pub(crate) fn read(line: &[u8]) -> Result<Option<ClsFields<'_>>, Broken> {
    let text = std::str::from_utf8(line).map_err(|_| Broken)?;
    serde_json::from_str::<Top<'_>>(text).map(|t| t.0).map_err(|_| Broken)
}

/// The line is no JSON value.
#[derive(Debug)]
pub(crate) struct Broken;

struct Top<'a>(Option<ClsFields<'a>>);

impl<'de> Deserialize<'de> for Top<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Top<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
                let mut out = ClsFields::default();
                while let Some(Key(key)) = map.next_key()? {
                    out.scf |= key.starts_with("SCF_");
                    match FIELDS.iter().position(|f| *f == key) {
                        Some(i) => out.values[i] = map.next_value::<Loose<'de>>()?.0,
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Top(Some(out)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Top(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top<'de>, E> {
                Ok(Top(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top<'de>, E> {
                Ok(Top(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top<'de>, E> {
                Ok(Top(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top<'de>, E> {
                Ok(Top(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Top<'de>, E> {
                Ok(Top(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Top<'de>, E> {
                Ok(Top(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// An object's key, borrowed where it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A field's value as `from_cls_fields` takes it: a string, or a number as text; else absent.
struct Loose<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Loose<'de>, E> {
                Ok(Loose(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Loose<'de>, E> {
                Ok(Loose(Some(Cow::Owned(s.to_string()))))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Loose<'de>, E> {
                Ok(Loose(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Loose<'de>, E> {
                Ok(Loose(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Loose<'de>, E> {
                Ok(Loose(serde_json::Number::from_f64(n).map(|n| Cow::Owned(n.to_string()))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Loose<'de>, E> {
                Ok(Loose(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Loose<'de>, E> {
                Ok(Loose(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// What the tree gives for the same field (`record::from_cls`'s reading before this room).
    fn by_tree(line: &str, key: &str) -> Option<String> {
        match serde_json::from_str::<Value>(line).ok()?.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    #[test]
    fn fields_read_as_the_tree_reads_them() {
        let lines = [
            r#"{"SCF_Message":"START RequestId: x","SCF_LogTime":"1764057600015000000","SCF_StatusCode":"200"}"#,
            r#"{"SCF_Message":"{\"errcode\":45011}","SCF_LogTime":1764057600015000000,"SCF_StatusCode":430,"x":[1,{"a":2}]}"#,
            r#"{"SCF_Message":"a","SCF_Message":"b","SCF_Level":null,"SCF_Alias":true,"SCF_Qualifier":{"v":1},"__TIMESTAMP__":1.5e3}"#,
            r#"{"SCF_\u004dessage":"escaped key","SCF_RequestId":"\u0041b","SCF_FunctionName":-3}"#,
            r#"{"other":"no SCF field"}"#,
        ];
        for line in lines {
            let f = read(line.as_bytes()).unwrap().unwrap();
            for key in FIELDS {
                assert_eq!(f.get(key).map(Cow::into_owned), by_tree(line, key), "{key} of {line}");
            }
            assert_eq!(f.scf, line.contains("\"SCF_"), "{line}");
        }
    }

    #[test]
    fn other_values_give_no_fields_and_broken_json_is_an_error() {
        for other in ["[1,2]", "3", "\"s\"", "null", "true", " {} "] {
            let got = read(other.as_bytes()).unwrap();
            assert!(got.is_none_or(|f| !f.scf), "{other}");
        }
        for broken in [&br#"{"SCF_Message":"cut"#[..], br#"{"a":1} x"#, b"{\"a\":\"\xff\"}"] {
            assert!(read(broken).is_err(), "{broken:?}");
            assert!(serde_json::from_slice::<Value>(broken).is_err());
        }
    }
}
