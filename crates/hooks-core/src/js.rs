//! What JavaScript makes of JSON values, where the upstream Node service's behaviour depends on it.

use serde_json::Value;

/// JavaScript's truthiness of a JSON value: `null`, `false`, `0` and `""` are false, everything else (every array
/// and object included) is true. Upstream tests values this way with `if (value)` and `!value`.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
