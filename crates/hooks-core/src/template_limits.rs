//! Bounds on the JSON-e expressions of a task template, checked when a hook is defined so that no template can
//! pin a CPU or overflow a stack when it is rendered.
//!
//! The json-e crate (4.8) parses expressions with backtracking parser combinators: each level of (), [] or {}
//! nesting multiplies the parse time (×2 for a well-formed expression, ×3 to ×4.5 for one that fails to parse,
//! which is the attacker's choice), and it parses, evaluates and drops operator chains (`1+1+…`, `a.b.c…`,
//! `x[0][0]…`) recursively, one stack frame of a few hundred bytes per operator. Measured on the project's 2-core
//! machine, release build, best of 3 (a throwaway program rendering `{"$eval": <expr>}`):
//!
//! | nesting depth                                  |    5 |    6 |     7 |     8 |      9 |
//! |------------------------------------------------|-----:|-----:|------:|------:|-------:|
//! | `((((1))))` well-formed                        | 0.03 | 0.05 |  0.10 |  0.19 |   0.39 | ms
//! | `a[a[a[0]]]` well-formed                       | 0.07 | 0.12 |  0.21 |  0.40 |   0.75 | ms
//! | `((((` unterminated                            | 0.10 | 0.28 |  0.83 |  2.54 |  11.7  | ms
//! | `a[a[a[` unterminated                          | 0.40 | 1.59 | 10.5  | 26.1  | 139    | ms
//! | `a[1+a[1+` unterminated (the worst found)      | 0.84 | 3.38 | 17.7  | 78.0  | 317    | ms
//!
//! (22 levels of parentheses took 4.4 s, 24 about 13 s.) [`MAX_EXPRESSION_NESTING`] = 10 refuses whatever could
//! only be slow, and leaves room for any real template: well-formed expressions stay under a millisecond at that
//! depth, and a malformed one that is slow anyway is stopped by the render's CPU limit (`--render-cpu-ms`) and
//! answered as a render error, in a worker process of its own. A chain of 4,000 `**` or 6,000 `+` overflowed a 2 MiB thread stack (Tokio's default) and
//! aborted the process; 3,000 rendered in 3 ms. [`MAX_EXPRESSION_OPERATORS`] = 500 leaves a wide margin for the
//! frames below the render and for debug builds. Real templates nest 1 to 3 deep and use a handful of operators.
//!
//! JSON-e evaluates an expression in these places, and the checker looks at all of them: the value of `$eval` and
//! `$if`; the keys of a `$switch` or `$match` object; the string of `each(..)` in `$find`; the string of `by(..)` in
//! `$sort`; and every `${..}` in a string or an object key (JSON-e interpolates every key, including `each(..)`
//! keys). Text outside `${..}` in an ordinary string is never parsed, so `echo (((` is fine. The template's JSON
//! nesting needs no bound of its own: every way in (API bodies, hook files, import, stored rows) is parsed by
//! serde_json, which refuses more than 128 levels.

use serde_json::{Map, Value};

use crate::ValidationError;

/// The deepest nesting of (), [] and {} (counted together) allowed in one JSON-e expression.
pub const MAX_EXPRESSION_NESTING: usize = 10;
/// The most operators (`+ - * / < > = ! & | .`, `in`, and each `(` or `[`) allowed in one JSON-e expression.
pub(crate) const MAX_EXPRESSION_OPERATORS: usize = 500;

/// Refuses a template with an expression nested deeper than [`MAX_EXPRESSION_NESTING`] or holding more than
/// [`MAX_EXPRESSION_OPERATORS`] operators, naming the path to it relative to the template (`payload.env.X`).
pub(crate) fn check_template(template: &Map<String, Value>) -> Result<(), ValidationError> {
    let mut path = String::new();
    check_object(template, &mut path)
}

fn check_value(value: &Value, path: &mut String) -> Result<(), ValidationError> {
    match value {
        Value::String(s) => check_interpolations(s, path),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_value(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(object) => check_object(object, path),
        _ => Ok(()),
    }
}

fn check_object(object: &Map<String, Value>, path: &mut String) -> Result<(), ValidationError> {
    // Whether the object is an operator is decided by JSON-e at render time; checking every object that could be
    // one over-approximates harmlessly.
    let is_each_or_by = |k: &str| k.starts_with("each(") || k.starts_with("by(");
    for (key, value) in object {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        check_interpolations(key, path)?;
        match (key.as_str(), value) {
            ("$eval" | "$if", Value::String(expr)) => check_expression(expr, path)?,
            ("$switch" | "$match", Value::Object(cases)) => {
                for condition in cases.keys() {
                    let len = path.len();
                    path.push('.');
                    path.push_str(condition);
                    check_expression(condition, path)?;
                    path.truncate(len);
                }
            }
            (k, Value::String(expr))
                if is_each_or_by(k) && (object.contains_key("$find") || object.contains_key("$sort")) =>
            {
                check_expression(expr, path)?;
            }
            _ => {}
        }
        check_value(value, path)?;
        path.truncate(len);
    }
    Ok(())
}

// Finds each `${..}` as the json-e crate does (`$${` is an escape) and checks the expression inside it.
fn check_interpolations(text: &str, path: &str) -> Result<(), ValidationError> {
    let mut from = 0;
    while let Some(offset) = text[from..].find('$') {
        let at = from + offset;
        let rest = &text[at..];
        if let Some(expr) = rest.strip_prefix("${") {
            let measured = measure(expr, true);
            refuse_if_over(&measured, expr, path)?;
            // The crate parses from `${` to the `}` that ends the expression; unterminated, to the end.
            from = measured.end.map_or(text.len(), |end| at + 2 + end + 1);
        } else if rest.starts_with("$${") {
            from = at + 2;
        } else {
            from = at + 1;
        }
    }
    Ok(())
}

fn check_expression(expr: &str, path: &str) -> Result<(), ValidationError> {
    refuse_if_over(&measure(expr, false), expr, path)
}

fn refuse_if_over(measured: &Measured, expr: &str, path: &str) -> Result<(), ValidationError> {
    let shown = shorten(expr);
    if measured.depth > MAX_EXPRESSION_NESTING {
        return Err(ValidationError::new(
            path,
            format!(
                "the JSON-e expression {shown:?} nests (), [] and {{}} {} levels deep; at most \
                 {MAX_EXPRESSION_NESTING} are allowed, because parsing takes time exponential in the nesting",
                measured.depth
            ),
        ));
    }
    if measured.operators > MAX_EXPRESSION_OPERATORS {
        return Err(ValidationError::new(
            path,
            format!(
                "the JSON-e expression {shown:?} has {} operators; at most {MAX_EXPRESSION_OPERATORS} are allowed, \
                 because long operator chains are evaluated recursively",
                measured.operators
            ),
        ));
    }
    Ok(())
}

fn shorten(expr: &str) -> String {
    const SHOWN: usize = 60;
    match expr.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &expr[..cut]),
        None => expr.to_owned(),
    }
}

/// What [`measure`] found in one expression.
struct Measured {
    /// The deepest nesting of brackets of any kind.
    depth: usize,
    /// Operators, counted generously.
    operators: usize,
    /// For an interpolation, the byte offset of the `}` that ends it, if any.
    end: Option<usize>,
}

// Scans an expression the way the crate's tokenizer sees it: string literals ('..' or "..", no escapes) hide their
// contents; brackets of any kind nest. With `interpolation`, a `}` outside any bracket ends the expression.
fn measure(expr: &str, interpolation: bool) -> Measured {
    let bytes = expr.as_bytes();
    let mut measured = Measured { depth: 0, operators: 0, end: None };
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'"' | b'\'' => quote = Some(b),
            b'(' | b'[' | b'{' => {
                depth += 1;
                measured.depth = measured.depth.max(depth);
                if b != b'{' {
                    measured.operators += 1;
                }
            }
            b'}' if interpolation && depth == 0 => {
                measured.end = Some(i);
                break;
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'+' | b'-' | b'*' | b'/' | b'<' | b'>' | b'=' | b'!' | b'&' | b'|' | b'.' => measured.operators += 1,
            b'i' if is_in_keyword(bytes, i) => measured.operators += 1,
            _ => {}
        }
    }
    measured
}

fn is_in_keyword(bytes: &[u8], i: usize) -> bool {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    bytes.get(i + 1) == Some(&b'n') && (i == 0 || !ident(bytes[i - 1])) && bytes.get(i + 2).is_none_or(|&b| !ident(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<(), ValidationError> {
        check_template(v.as_object().unwrap())
    }

    fn nested(open: &str, close: &str, n: usize) -> String {
        format!("{}1{}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn nesting_up_to_the_limit_is_accepted_in_every_place() {
        let e = nested("(", ")", MAX_EXPRESSION_NESTING);
        let t = json!({
            "a": {"$eval": e},
            "b": {"$if": e, "then": 1},
            "c": {"$switch": {e.clone(): 1}},
            "d": {"$match": {e.clone(): 1}},
            "e": {"$find": [1], "each(x)": e},
            "f": {"$sort": [1], "by(x)": e},
            "g": format!("${{{e}}}"),
            format!("${{{e}}}"): 1,
        });
        check(t).unwrap();
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused_with_its_path() {
        let deep = nested("(", ")", MAX_EXPRESSION_NESTING + 1);
        let cases = [
            (json!({"payload": {"env": {"X": format!("echo ${{{deep}}}")}}}), "payload.env.X".to_owned()),
            (json!({"a": {"$eval": deep}}), "a.$eval".to_owned()),
            (json!({"a": [0, {"$if": deep, "then": 1}]}), "a[1].$if".to_owned()),
            (json!({"s": {"$switch": {deep.clone(): 1}}}), format!("s.$switch.{deep}")),
            (json!({"m": {"$match": {deep.clone(): 1}}}), format!("m.$match.{deep}")),
            (json!({"f": {"$find": [1], "each(x)": deep}}), "f.each(x)".to_owned()),
            (json!({"o": {"$sort": [1], "by(x)": deep}}), "o.by(x)".to_owned()),
            (json!({"k": {format!("${{{deep}}}"): 1}}), format!("k.${{{deep}}}")),
        ];
        for (template, path) in cases {
            let e = check(template.clone()).unwrap_err();
            assert_eq!(e.field, path, "{template}");
            assert!(e.problem.contains(&format!("at most {MAX_EXPRESSION_NESTING}")), "{e}");
        }
    }

    #[test]
    fn every_bracket_kind_counts_and_kinds_add_up() {
        let n = MAX_EXPRESSION_NESTING + 1;
        for deep in [
            nested("[", "]", n),
            nested("{a:", "}", n),
            nested("a[", "]", n),
            nested("len(", ")", n),
            "([{".repeat(n),
            "(".repeat(n),
        ] {
            assert!(check(json!({"a": {"$eval": deep}})).is_err(), "{deep}");
        }
        assert!(check(json!({"a": {"$eval": "((([[[1]]])))"}})).is_ok());
    }

    #[test]
    fn brackets_in_string_literals_and_plain_text_are_not_nesting() {
        let many = "(((((((((((((((((((";
        assert!(check(json!({"cmd": many, "k": format!("$${{{many}")})).is_ok());
        assert!(check(json!({"a": {"$eval": format!("'{many}' + \"{many}\"")}})).is_ok());
        assert!(check(json!({"a": format!("${{'{many}'}} and {many}")})).is_ok());
        // After an interpolation ends, the rest of the string is plain text again.
        assert!(check(json!({"a": format!("${{x}} {many}")})).is_ok());
        // A second interpolation in the same string is checked too.
        assert!(check(json!({"a": format!("${{x}} ${{{many}")})).is_err());
    }

    #[test]
    fn long_operator_chains_are_refused() {
        let chain = |n: usize| vec!["1"; n + 1].join("+");
        assert!(check(json!({"a": {"$eval": chain(MAX_EXPRESSION_OPERATORS)}})).is_ok());
        let e = check(json!({"a": {"$eval": chain(MAX_EXPRESSION_OPERATORS + 1)}})).unwrap_err();
        assert!(e.problem.contains("operators"), "{e}");
        let dots = format!("a{}", ".b".repeat(MAX_EXPRESSION_OPERATORS + 1));
        assert!(check(json!({"a": format!("${{{dots}}}")})).is_err());
        let ins = vec!["a"; MAX_EXPRESSION_OPERATORS + 2].join(" in ");
        assert!(check(json!({"a": {"$if": ins}})).is_err());
        // Words that merely contain "in" are not operators.
        assert_eq!(measure("index + inside + min", false).operators, 2);
    }

    #[test]
    fn the_refusal_shows_a_shortened_expression() {
        let deep = format!("{}{}", "x".repeat(100), "(".repeat(MAX_EXPRESSION_NESTING + 1));
        let e = check(json!({"a": {"$eval": deep}})).unwrap_err();
        assert!(e.problem.contains('…'), "{e}");
        assert!(e.problem.len() < 300, "{e}");
    }

    #[test]
    fn ordinary_templates_are_accepted() {
        // Shapes that real hooks use (decision tasks, cron tasks, webhooks), including escaped operators.
        let t = json!({
            "provisionerId": "proj-${payload.project}",
            "schedulerId": "${trust_domain}-level-${level}",
            "deadline": {"$fromNow": "1 day"},
            "created": {"$eval": "now"},
            "metadata": {"$let": {"description": {"$if": "firedBy == \"triggerHook\"",
                "then": "Fired by ${clientId}", "else": "Fired by ${firedBy}"}},
                "in": {"name": "n", "description": "${description}", "owner": "a@b.c", "source": "s"}},
            "payload": {
                "env": {"PULSE": {"$json": {"$eval": "payload"}}, "$$escaped": "$${not.interpolated}",
                    "REV": "${payload.push.changesets[len(payload.push.changesets) - 1].node}"},
                "command": ["bash", "-c", "if (( $(nproc) > 2 )); then make -j$(nproc); fi"],
                "artifacts": {"$map": {"$eval": "payload.files"}, "each(f,i)": {"${f.name}": "${str(i)}"}},
            },
            "routes": {"$flatten": [["index.${payload.branch}"], {"$if": "'release' in payload.tags", "then": ["r"]}]},
            "tags": {"$switch": {"payload.kind == 'a' && payload.n >= 2": {"k": "a"}, "$default": {}}},
            "scopes": {"$sort": {"$eval": "payload.scopes"}, "by(s)": "lowercase(s[0:1])"},
        });
        check(t).unwrap();
    }
}
