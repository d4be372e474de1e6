//! What PostgreSQL can store: its `text` and `jsonb` refuse U+0000 (and nothing else a Rust string can hold; lone
//! surrogates can't occur in one). Definitions holding it are refused with the path to it, rendered tasks holding
//! it are refused by the sinks, and error texts have it escaped, so it never reaches a statement that would fail.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::ValidationError;

/// U+0000 written as the six characters JSON uses for it, so stored text still shows where it was.
const ESCAPED_NUL: &str = "\\u0000";

/// Refuses `value` if any string or object key in it contains U+0000, naming the path to it relative to `value`
/// (`payload.env.FOO`, `[2]`; for a key, the object that holds it).
pub(crate) fn check_no_nul(value: &Value) -> Result<(), ValidationError> {
    let mut path = String::new();
    find_nul(value, &mut path)
}

/// [`check_no_nul`] for an object's entries.
pub(crate) fn check_no_nul_in(object: &Map<String, Value>) -> Result<(), ValidationError> {
    let mut path = String::new();
    find_nul_in_object(object, &mut path)
}

/// `text` with each U+0000 replaced by the six characters `\u0000`.
pub(crate) fn escape_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') { Cow::Owned(text.replace('\0', ESCAPED_NUL)) } else { Cow::Borrowed(text) }
}

/// `object` with U+0000 escaped in every string and key, for what is recorded rather than refused (where an event
/// came from: a Pulse routing key may hold one).
pub(crate) fn escape_nul_in(object: &Map<String, Value>) -> Map<String, Value> {
    object.iter().map(|(key, value)| (escape_nul(key).into_owned(), escape_nul_in_value(value))).collect()
}

fn escape_nul_in_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(escape_nul(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(escape_nul_in_value).collect()),
        Value::Object(object) => Value::Object(escape_nul_in(object)),
        other => other.clone(),
    }
}

fn find_nul(value: &Value, path: &mut String) -> Result<(), ValidationError> {
    match value {
        Value::String(s) if s.contains('\0') => Err(ValidationError::new(
            path.clone(),
            "contains U+0000 (a NUL character), which PostgreSQL cannot store; remove it or write it as text",
        )),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                find_nul(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(object) => find_nul_in_object(object, path),
        _ => Ok(()),
    }
}

fn find_nul_in_object(object: &Map<String, Value>, path: &mut String) -> Result<(), ValidationError> {
    for (key, value) in object {
        if key.contains('\0') {
            return Err(ValidationError::new(
                path.clone(),
                format!(
                    "has the key {:?}, which contains U+0000 (a NUL character); PostgreSQL cannot store it",
                    escape_nul(key)
                ),
            ));
        }
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        find_nul(value, path)?;
        path.truncate(len);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_in_a_value_is_found_with_its_path() {
        let e = check_no_nul(&json!({"payload": {"env": {"OK": "x", "FOO": "a\u{0}b"}}})).unwrap_err();
        assert_eq!(e.field, "payload.env.FOO");
        assert!(e.problem.contains("U+0000"), "{e}");
        let e = check_no_nul(&json!({"a": [1, "ok", ["\u{0}"]]})).unwrap_err();
        assert_eq!(e.field, "a[2][0]");
        assert_eq!(check_no_nul(&json!("\u{0}")).unwrap_err().field, "");
    }

    #[test]
    fn nul_in_a_key_names_the_object_holding_it() {
        let e = check_no_nul(&json!({"properties": {"a\u{0}": {}}})).unwrap_err();
        assert_eq!(e.field, "properties");
        assert!(e.problem.contains("a\\\\u0000"), "{e}");
        assert!(!e.problem.contains('\0'));
    }

    #[test]
    fn values_without_nul_pass() {
        assert!(check_no_nul(&json!({"a": ["\\u0000", 0, null, {"b": "(((("}]})).is_ok());
        assert!(check_no_nul_in(json!({"a": "b"}).as_object().unwrap()).is_ok());
    }

    #[test]
    fn escape_nul_in_escapes_every_string_and_key() {
        let source = json!({"routingKey": "a\u{0}b", "k\u{0}": [{"x": "\u{0}"}, 1], "n": null});
        let escaped = Value::Object(escape_nul_in(source.as_object().unwrap()));
        assert_eq!(escaped, json!({"routingKey": "a\\u0000b", "k\\u0000": [{"x": "\\u0000"}, 1], "n": null}));
        assert!(check_no_nul(&escaped).is_ok());
    }

    #[test]
    fn escape_nul_writes_it_as_six_characters() {
        assert_eq!(escape_nul("a\u{0}b\u{0}"), "a\\u0000b\\u0000");
        assert!(matches!(escape_nul("plain"), Cow::Borrowed("plain")));
    }
}
