//! Random JSON-e templates and payloads for property tests: JSON-e's operators and expression pieces, the
//! hostile ones among them (exponential nesting, huge ranges, deep brackets, doubling reductions, overflowing
//! dates), so that properties hold against templates nobody wrote by hand.

use proptest::prelude::*;
use serde_json::{Value, json};

/// `depth` opening brackets, `1`, and the closing ones.
pub fn nested(open: &str, close: &str, depth: usize) -> String {
    format!("{}1{}", open.repeat(depth), close.repeat(depth))
}

/// A JSON-e expression made of one to three pieces joined by `+`.
pub fn expression() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("payload".to_owned()),
        Just("payload.list".to_owned()),
        Just("x".to_owned()),
        Just("range(0, 10000000)".to_owned()),
        Just("len(payload.list)".to_owned()),
        Just("'ab' + 'cd'".to_owned()),
        Just("1 + 2 * 3".to_owned()),
        Just("[1, 2, [3]]".to_owned()),
        Just("{a: 1}".to_owned()),
        Just("now".to_owned()),
        (1usize..60).prop_map(|d| nested("(", ")", d)),
        (1usize..5000).prop_map(|d| nested("[", "]", d)),
        "[a-z0-9 +*/(),.\\[\\]'-]{0,30}",
    ];
    prop::collection::vec(piece, 1..4).prop_map(|pieces| pieces.join(" + "))
}

/// A template up to four levels deep.
pub fn template() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<i32>().prop_map(Value::from),
        expression().prop_map(|e| json!({"$eval": e})),
        expression().prop_map(|e| Value::String(format!("${{{e}}}"))),
        Just(json!({"$fromNow": "1 hour"})),
        "[0-9]{1,12} (years|days|seconds)".prop_map(|d| json!({"$fromNow": d})),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            (expression(), inner.clone(), inner.clone()).prop_map(|(c, t, e)| json!({"$if": c, "then": t, "else": e})),
            (expression(), inner.clone()).prop_map(|(e, each)| json!({"$map": {"$eval": e}, "each(x)": each})),
            (inner.clone(), inner.clone()).prop_map(|(v, i)| json!({"$let": {"x": v}, "in": i})),
            inner.clone().prop_map(|v| json!({"$json": v})),
            inner.clone().prop_map(|v| json!({"$flattenDeep": v})),
            (expression(), inner.clone()).prop_map(
                |(e, v)| json!({"$reduce": {"$eval": e}, "initial": v, "each(acc, x)": {"$eval": "acc + acc"}})
            ),
            prop::collection::vec(inner, 0..3).prop_map(|vs| json!({"$merge": vs})),
        ]
    })
}

/// A payload with a list of up to 2,000 numbers and a short string.
pub fn payload() -> impl Strategy<Value = Value> {
    (prop::collection::vec(any::<u16>(), 0..2000), "[a-z]{0,20}").prop_map(|(list, s)| json!({"list": list, "s": s}))
}
