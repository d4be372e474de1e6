//! Where render errors are found, against upstream's texts.
use chrono::TimeZone;
use serde_json::json;

use super::super::{RenderError, render_task, render_task_within};
use super::*;
use crate::TaskId;

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 17, 3).unwrap()
}

fn error_of(template: Value) -> String {
    let context = json!({"payload": {"a": 1, "list": [1, 2]}, "firedBy": "triggerHook"});
    let context = context.as_object().unwrap();
    match render_task(template.as_object().unwrap(), context, &TaskId::generate(), now()) {
        Err(RenderError::JsonE(text)) => text,
        other => panic!("{template}: {other:?}"),
    }
}

fn assert_errors(cases: &[(Value, &str)]) {
    for (template, expected) in cases {
        assert_eq!(error_of(template.clone()), *expected, "{template}");
    }
}

// Every expected text in these tests is what upstream's JavaScript json-e (4.8.4, js/src) prints for the same
// template and context, unless a comment says otherwise.

#[test]
fn errors_name_their_location_through_keys_and_items() {
    assert_errors(&[
        (
            json!({"payload": {"env": {"X": {"$eval": "foo"}}}}),
            "InterpreterError at template.payload.env.X: unknown context value foo",
        ),
        (
            json!({"payload": {"env": {"X": "${foo}"}}}),
            "InterpreterError at template.payload.env.X: unknown context value foo",
        ),
        (json!({"a": [1, {"b": {"$eval": "foo"}}]}), "InterpreterError at template.a[1].b: unknown context value foo"),
        (
            json!({"a": [{"$if": "false", "then": 1}, {"$eval": "foo"}]}),
            "InterpreterError at template.a[1]: unknown context value foo",
        ),
        (json!({"$eval": "foo"}), "InterpreterError: unknown context value foo"),
    ]);
}

#[test]
fn keys_that_are_not_plain_identifiers_are_written_in_brackets() {
    assert_errors(&[
        (
            json!({"a b": {"c_d": {"$eval": "foo"}}, "\"q\"": 1}),
            r#"InterpreterError at template["a b"]["c_d"]: unknown context value foo"#,
        ),
        (
            json!({"A1": {"_b": {"c-d": {"9": {"$eval": "foo"}}}}}),
            r#"InterpreterError at template.A1["_b"]["c-d"]["9"]: unknown context value foo"#,
        ),
        (json!({"0": {"$eval": "foo"}, "a": 1}), r#"InterpreterError at template["0"]: unknown context value foo"#),
        (
            json!({"a": {"x\ny": [{"é": "${foo}"}]}}),
            r#"InterpreterError at template.a["x\ny"][0]["é"]: unknown context value foo"#,
        ),
        (
            json!({"a": {"$$x": {"$eval": "foo"}}}),
            r#"InterpreterError at template.a["$$x"]: unknown context value foo"#,
        ),
    ]);
}

#[test]
fn operators_add_nothing_and_the_location_goes_on_inside_them() {
    assert_errors(&[
        (
            json!({"$let": {"x": 1}, "in": {"a": {"$eval": "foo"}}}),
            "InterpreterError at template.a: unknown context value foo",
        ),
        (
            json!({"$let": {"x": {"$eval": "foo"}}, "in": {"a": 1}}),
            "InterpreterError at template.x: unknown context value foo",
        ),
        (
            json!({"a": {"$let": {"x": 1}, "in": {"$let": {"y": {"$eval": "x"}}, "in": [{"$eval": "x + y + foo"}]}}}),
            "InterpreterError at template.a[0]: unknown context value foo",
        ),
        (
            json!({"a": {"$map": [1, 2], "each(x)": {"b": {"$eval": "x + foo"}}}}),
            "InterpreterError at template.a.b: unknown context value foo",
        ),
        (
            json!({"a": {"$map": [1, 2], "each(x,i)": {"$if": "i == 1", "then": {"b": {"$eval": "x.y"}}}}}),
            "InterpreterError at template.a.b: infix: . expects objects",
        ),
        (
            json!({"a": {"$map": {"k": 1}, "each(v, k)": {"${k}": {"$eval": "v + foo"}}}}),
            r#"InterpreterError at template.a["${k}"]: unknown context value foo"#,
        ),
        (json!({"a": {"$if": "foo", "then": 1}}), "InterpreterError at template.a: unknown context value foo"),
        (
            json!({"a": {"$if": "true", "then": {"b": ["${foo}"]}}}),
            "InterpreterError at template.a.b[0]: unknown context value foo",
        ),
        (
            json!({"a": {"$switch": {"$default": {"b": "${foo}"}, "false": 1}}}),
            "InterpreterError at template.a.b: unknown context value foo",
        ),
        (
            json!({"a": {"$match": {"payload.a == 1": {"b": "${foo}"}}}}),
            "InterpreterError at template.a.b: unknown context value foo",
        ),
        (
            json!({"a": {"$merge": [{"b": 1}, {"c": {"$eval": "foo"}}]}}),
            "InterpreterError at template.a[1].c: unknown context value foo",
        ),
        (
            json!({"a": {"$flatten": [[1], {"$eval": "foo"}]}}),
            "InterpreterError at template.a[1]: unknown context value foo",
        ),
        (
            json!({"a": {"$json": {"b": [{"$eval": "foo"}]}}}),
            "InterpreterError at template.a.b[0]: unknown context value foo",
        ),
        (
            json!({"a": {"$sort": [3, {"$eval": "foo"}]}}),
            "InterpreterError at template.a[1]: unknown context value foo",
        ),
        (
            json!({"a": {"$fromNow": "1 day", "from": {"$eval": "foo"}}}),
            "InterpreterError at template.a: unknown context value foo",
        ),
        (
            json!({"a": {"$reduce": [1, 2], "initial": 0, "each(acc, x)": {"b": {"$eval": "foo"}}}}),
            "InterpreterError at template.a.b: unknown context value foo",
        ),
        (
            json!({"a": {"$reduce": [1, 2, 3], "initial": {}, "each(acc, x, i)": {"$if": "i == 2", "then": {"b": {"$eval": "acc.q + foo"}}, "else": {"q": 1}}}}),
            "InterpreterError at template.a.b: unknown context value foo",
        ),
    ]);
}

#[test]
fn the_search_renders_with_the_fires_now() {
    assert_errors(&[
        (
            json!({"a": {"$if": "now == '2026-11-24T10:17:03.000Z'", "then": {"b": "${foo}"}}}),
            "InterpreterError at template.a.b: unknown context value foo",
        ),
        (
            json!({"a": {"$let": {"now": "x"}, "in": {"$if": "now == 'x'", "then": {"b": "${foo}"}}}}),
            "InterpreterError at template.a.b: unknown context value foo",
        ),
    ]);
}

#[test]
fn switch_and_match_conditions_say_what_is_wrong_with_them() {
    assert_errors(&[
        (json!({"a": {"$switch": {"foo == 1": 1}}}), "InterpreterError at template.a: unknown context value foo"),
        (
            json!({"a": {"$switch": {"payload.a == 1": 1, "payload.b": 2}}}),
            r#"InterpreterError at template.a: object has no property "b""#,
        ),
        (
            json!({"a": {"$switch": {"true": 1, "1": 2}}}),
            "TemplateError at template.a: $switch can only have one truthy condition",
        ),
        // Upstream's own parser fails here with "TypeError: Cannot read properties of null (reading 'kind')";
        // the crate's parser words its syntax errors its own way.
        (json!({"a": {"$switch": {"x ==": 1}}}), "SyntaxError at template.a: Unexpected trailing characters =="),
        (
            json!({"a": {"$match": {"true": 1, "1 +": 2}}}),
            "SyntaxError at template.a: Unexpected trailing characters +",
        ),
        // Upstream: "Unexpected input for '$default' at '$default'" ($match has no default).
        (json!({"a": {"$match": {"$default": 1}}}), r#"SyntaxError at template.a: Parse error at "$default""#),
    ]);
}

#[test]
fn errors_are_classed_and_worded_as_upstream_does() {
    assert_errors(&[
        (json!({"a": {"$eval": "len(1)"}}), "BuiltinError at template.a: invalid arguments to builtin: len"),
        (json!({"a": {"$eval": "str()"}}), "BuiltinError at template.a: invalid arguments to builtin: str"),
        (json!({"a": {"$fromNow": "two days"}}), "Error: String: 'two days' isn't a time expression"),
        (json!({"a": {"b": {"$eval": "min"}}}), "TemplateError: evaluated template contained uncalled functions"),
        (json!({"a": {"$foo": 1}}), "TemplateError at template.a: $<identifier> is reserved; use $$<identifier>"),
        (
            json!({"a": "${payload}"}),
            "TemplateError at template.a: interpolation of 'payload' produced an array or object",
        ),
        (
            json!({"a": "x ${payload.list} y"}),
            "TemplateError at template.a: interpolation of 'payload.list' produced an array or object",
        ),
        (json!({"a": {"$eval": "payload.zz"}}), r#"InterpreterError at template.a: object has no property "zz""#),
        (
            json!({"a": {"$eval": "1[0]"}}),
            r#"InterpreterError at template.a: infix: "[..]" expects object, array, or string"#,
        ),
        (
            json!({"a": {"$eval": "1 + []"}}),
            "InterpreterError at template.a: infix: + expects numbers/strings + numbers/strings",
        ),
        (json!({"a": {"$eval": "[1, 2][5]"}}), "InterpreterError at template.a: index out of bounds"),
        // Upstream's parser says "Found: ..., expected one of: ..." or fails (see above); the class is the same.
        (
            json!({"a": {"$if": "uhoh, this is invalid"}}),
            "SyntaxError at template.a: Unexpected trailing characters , this is invalid",
        ),
        (json!({"a": "${"}), r#"SyntaxError at template.a: Parse error at """#),
    ]);
}

#[test]
fn a_part_that_renders_differently_on_its_own_ends_the_search_there() {
    // The binding holds a function, which only the whole render can: upstream says template.a.b.
    assert_errors(&[(
        json!({"a": {"$let": {"f": {"$eval": "min"}}, "in": {"b": {"$eval": "f(1, foo)"}}}}),
        "InterpreterError at template.a: unknown context value foo",
    )]);
}

#[test]
fn a_spent_budget_leaves_the_error_unlocated() {
    let template = json!({"a": {"b": {"$eval": "foo"}}});
    let none = Budget::ThreadCpu(Duration::ZERO);
    let e = render_task_within(template.as_object().unwrap(), &Map::new(), &TaskId::generate(), now(), none);
    assert_eq!(e.unwrap_err(), RenderError::JsonE("InterpreterError: unknown context value foo".into()));
}
