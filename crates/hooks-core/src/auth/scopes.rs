//! Scopes and scope expressions with Taskcluster's satisfaction rules (npm `taskcluster-lib-scopes`).
//!
//! A held scope satisfies a required scope when they are equal, or when the held scope ends in `*` and the required
//! scope starts with everything before that `*` (so `*` alone satisfies everything). A star anywhere else is an
//! ordinary character. An expression is a scope, `{"AllOf": [...]}` (all must be satisfied; empty is satisfied) or
//! `{"AnyOf": [...]}` (one must be; empty never is).

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::de::Error as _;
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::ValidationError;
use crate::error::static_regex;

/// A scope expression template's parameter, as taskcluster-lib-api writes it: `<hookGroupId>`.
static TEMPLATE_PARAM: LazyLock<Regex> = LazyLock::new(|| static_regex(r"<([a-zA-Z][a-zA-Z0-9_]*)>"));

/// One scope: a string of printable ASCII characters (0x20 to 0x7e), as Taskcluster requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(String);

impl Scope {
    /// Parses a scope, refusing characters Taskcluster doesn't allow in scopes.
    pub fn parse(scope: impl Into<String>) -> Result<Self, ValidationError> {
        let scope = scope.into();
        if !is_valid_scope(&scope) {
            return Err(ValidationError::new(
                "",
                format!("{scope:?} is not a valid scope: only printable ASCII characters (space to `~`) are allowed"),
            ));
        }
        Ok(Self(scope))
    }

    /// The scope as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The scope as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Scope {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Scope::parse(String::deserialize(deserializer)?).map_err(|e| D::Error::custom(e.problem))
    }
}

/// Whether `scope` is a valid Taskcluster scope (printable ASCII only; the empty scope is valid).
pub fn is_valid_scope(scope: &str) -> bool {
    scope.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Whether the held scope `held` satisfies the required scope `required` (`patternMatch` in taskcluster-lib-scopes).
pub fn scope_match(held: &str, required: &str) -> bool {
    held == required || held.strip_suffix('*').is_some_and(|prefix| required.starts_with(prefix))
}

/// Whether any of the `held` scopes satisfies the required scope `required`.
pub fn satisfies_scope<S: AsRef<str>>(held: &[S], required: &str) -> bool {
    held.iter().any(|h| scope_match(h.as_ref(), required))
}

/// Whether the `held` scopes satisfy the expression (`satisfiesExpression` in taskcluster-lib-scopes).
pub fn satisfies<S: AsRef<str>>(held: &[S], expression: &ScopeExpression) -> bool {
    match expression {
        ScopeExpression::Scope(scope) => satisfies_scope(held, scope.as_str()),
        ScopeExpression::AllOf(all) => all.iter().all(|e| satisfies(held, e)),
        ScopeExpression::AnyOf(any) => any.iter().any(|e| satisfies(held, e)),
    }
}

/// The part of the expression the `held` scopes leave unsatisfied, simplified, or `None` when nothing is missing.
///
/// This is taskcluster-lib-scopes' `removeGivenScopes`, whose result the 403 `InsufficientScopes` message lists:
/// satisfied scopes are dropped, a satisfied `AnyOf` disappears whole, and a one-element `AllOf` or `AnyOf` becomes
/// its element. An empty `AnyOf` (never satisfiable) stays as it is.
pub fn unsatisfied<S: AsRef<str>>(held: &[S], expression: &ScopeExpression) -> Option<ScopeExpression> {
    match expression {
        ScopeExpression::Scope(scope) => (!satisfies_scope(held, scope.as_str())).then(|| expression.clone()),
        ScopeExpression::AllOf(all) => {
            let mut missing: Vec<ScopeExpression> = all.iter().filter_map(|e| unsatisfied(held, e)).collect();
            match missing.len() {
                0 => None,
                1 => missing.pop(),
                _ => Some(ScopeExpression::AllOf(missing)),
            }
        }
        ScopeExpression::AnyOf(any) => {
            // One satisfied alternative satisfies the whole AnyOf.
            let mut missing: Vec<ScopeExpression> = any.iter().map(|e| unsatisfied(held, e)).collect::<Option<_>>()?;
            if missing.len() == 1 { missing.pop() } else { Some(ScopeExpression::AnyOf(missing)) }
        }
    }
}

/// Deduplicates `scopes`, drops those another scope in the set satisfies (`a:*` covers `a:b`), and sorts them.
pub(super) fn normalize_scopes(scopes: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut all: Vec<String> = scopes.into_iter().collect();
    all.sort();
    all.dedup();
    let covered = |s: &String| all.iter().any(|other| other != s && scope_match(other, s));
    all.iter().filter(|s| !covered(s)).cloned().collect()
}

/// A scope expression: a scope, or `AllOf`/`AnyOf` of expressions, in Taskcluster's JSON form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeExpression {
    /// One scope, written as a JSON string.
    Scope(Scope),
    /// Satisfied when every expression is (`{"AllOf": [...]}`); an empty list is always satisfied.
    AllOf(Vec<ScopeExpression>),
    /// Satisfied when at least one expression is (`{"AnyOf": [...]}`); an empty list never is.
    AnyOf(Vec<ScopeExpression>),
}

impl ScopeExpression {
    /// An expression requiring the single scope `scope`.
    pub fn scope(scope: &str) -> Result<Self, ValidationError> {
        Scope::parse(scope).map(Self::Scope)
    }

    /// An expression requiring every scope in `scopes`.
    pub fn all_of<S: AsRef<str>>(scopes: &[S]) -> Result<Self, ValidationError> {
        Self::each("AllOf", scopes).map(Self::AllOf)
    }

    /// An expression requiring at least one scope of `scopes`.
    pub fn any_of<S: AsRef<str>>(scopes: &[S]) -> Result<Self, ValidationError> {
        Self::each("AnyOf", scopes).map(Self::AnyOf)
    }

    /// Each of `scopes` parsed, an error naming `kind[index]`.
    fn each<S: AsRef<str>>(kind: &str, scopes: &[S]) -> Result<Vec<Self>, ValidationError> {
        let each = scopes
            .iter()
            .enumerate()
            .map(|(i, s)| Self::scope(s.as_ref()).map_err(|e| ValidationError::new(format!("{kind}[{i}]"), e.problem)));
        each.collect()
    }

    /// Parses Taskcluster's JSON form: a string, `{"AllOf": [...]}` or `{"AnyOf": [...]}` (exactly one key).
    pub fn from_json(value: &Value) -> Result<Self, ValidationError> {
        match value {
            Value::String(s) => Self::scope(s),
            Value::Object(map) if map.len() == 1 => {
                let (key, inner) = map.iter().next().ok_or_else(|| ValidationError::new("", "is empty"))?;
                let variant: fn(Vec<ScopeExpression>) -> ScopeExpression = match key.as_str() {
                    "AllOf" => ScopeExpression::AllOf,
                    "AnyOf" => ScopeExpression::AnyOf,
                    other => {
                        return Err(ValidationError::new(
                            "",
                            format!("has the key {other:?}; a scope expression object has one key, AllOf or AnyOf"),
                        ));
                    }
                };
                let items = inner.as_array().ok_or_else(|| ValidationError::new(key.as_str(), "must be an array"))?;
                let parsed = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::from_json(item).map_err(|e| e.within(&format!("[{i}]")).within(key)));
                parsed.collect::<Result<_, _>>().map(variant)
            }
            Value::Object(_) => {
                Err(ValidationError::new("", "must have exactly one key, AllOf or AnyOf (or be a scope string)"))
            }
            _ => Err(ValidationError::new("", "must be a scope string or an object with one key, AllOf or AnyOf")),
        }
    }

    /// The expression in Taskcluster's JSON form.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Scope(scope) => Value::String(scope.0.clone()),
            Self::AllOf(all) => serde_json::json!({ "AllOf": all.iter().map(Self::to_json).collect::<Vec<_>>() }),
            Self::AnyOf(any) => serde_json::json!({ "AnyOf": any.iter().map(Self::to_json).collect::<Vec<_>>() }),
        }
    }

    /// Substitutes `<name>` placeholders with the value of the parameter `name` (the empty string when absent).
    ///
    /// Values are inserted verbatim, unchecked, as taskcluster-lib-api does: the hooks endpoints authorize before
    /// their URL parameters are validated, so a scope built from a bad parameter must still be comparable.
    pub fn render(&self, params: &[(&str, &str)]) -> ScopeExpression {
        match self {
            Self::Scope(scope) => {
                let rendered = TEMPLATE_PARAM.replace_all(scope.as_str(), |caps: &regex::Captures<'_>| {
                    let name = caps.get(1).map_or("", |m| m.as_str());
                    params.iter().find(|(p, _)| *p == name).map_or("", |(_, v)| *v).to_owned()
                });
                Self::Scope(Scope(rendered.into_owned()))
            }
            Self::AllOf(all) => Self::AllOf(all.iter().map(|e| e.render(params)).collect()),
            Self::AnyOf(any) => Self::AnyOf(any.iter().map(|e| e.render(params)).collect()),
        }
    }

    /// Renders a hooks endpoint's template for one hook: `<hookGroupId>` and `<hookId>`, as decoded from the URL.
    pub fn for_hook(&self, hook_group_id: &str, hook_id: &str) -> ScopeExpression {
        self.render(&[("hookGroupId", hook_group_id), ("hookId", hook_id)])
    }
}

impl From<Scope> for ScopeExpression {
    fn from(scope: Scope) -> Self {
        Self::Scope(scope)
    }
}

/// Formats as the Taskcluster API framework renders an expression in an error message: a scope as itself, anything
/// else as JSON indented by two spaces (`JSON.stringify(expr, null, 2)`).
impl fmt::Display for ScopeExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scope(scope) => f.write_str(scope.as_str()),
            other => {
                let pretty = serde_json::to_string_pretty(&other.to_json()).map_err(|_| fmt::Error)?;
                f.write_str(&pretty)
            }
        }
    }
}

impl Serialize for ScopeExpression {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Scope(scope) => serializer.serialize_str(scope.as_str()),
            Self::AllOf(all) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("AllOf", all)?;
                map.end()
            }
            Self::AnyOf(any) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("AnyOf", any)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ScopeExpression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_json(&value).map_err(|e| D::Error::custom(format!("invalid scope expression: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expr(v: Value) -> ScopeExpression {
        ScopeExpression::from_json(&v).unwrap()
    }

    fn s(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| s.to_string()).collect()
    }

    /// The cases of taskcluster-lib-scopes' `satsifaction_test.js` (scopeMatch with one scopeset).
    #[test]
    fn scope_match_follows_lib_scopes() {
        let cases: &[(&[&str], &[&str], bool)] = &[
            (&["foo:bar"], &["foo:bar"], true),
            (&["foo:bar"], &[""], false),
            (&["foo:*"], &["foo:bar"], true),
            (&["foo:*:bing"], &["foo:bar:bing"], false), // star not at the end is literal
            (&["*:bar"], &["foo:bar"], false),
            (&["foo:"], &["foo:bar"], false), // a prefix without a star is not a pattern
            (&["foo:bar:*"], &["bar:bing"], false),
            (&["bar:*"], &["foo:bar:bing"], false),
            (&["bar:*", "foo:x"], &["foo:x", "bar:y"], true),
            (&[""], &["foo:bar"], false),
            (&[], &["foo:bar"], false),
            (&["*"], &["foo:bar", "bar:bing"], true),
            (&["foo:bar"], &[], true),
        ];
        for (held, required, expected) in cases {
            let got = required.iter().all(|r| satisfies_scope(held, r));
            assert_eq!(got, *expected, "held {held:?} required {required:?}");
        }
    }

    #[test]
    fn a_star_scope_satisfies_its_own_prefix_and_the_star_itself() {
        assert!(scope_match("hooks:list-hooks:*", "hooks:list-hooks:"));
        assert!(scope_match("a*", "a*"));
        assert!(scope_match("a*", "a"));
        assert!(!scope_match("a:b", "a:*"));
        assert!(scope_match("*", ""));
    }

    /// The satisfied and unsatisfied cases of taskcluster-lib-scopes' `expression_test.js`.
    #[test]
    fn satisfies_follows_lib_scopes() {
        let not_satisfied = [
            (s(&[]), json!({"AnyOf": []})),
            (s(&[]), json!("missing-scope")),
            (s(&["wrong-scope"]), json!("missing-scope")),
            (s(&["ghi"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["ghi*"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["ghi", "fff"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["ghi*", "fff*"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["abc"]), json!({"AnyOf": ["ghi"]})),
            (s(&["abc*"]), json!({"AllOf": ["abc", "ghi"]})),
            (s(&[""]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["abc:def"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["xyz", "abc"]), json!({"AllOf": [{"AnyOf": [{"AllOf": ["foo"]}, {"AllOf": ["bar"]}]}]})),
            (s(&["a*", "b*", "c*"]), json!({"AllOf": ["bx", "cx", {"AnyOf": ["xxx", "yyyy"]}]})),
        ];
        for (held, e) in not_satisfied {
            assert!(!satisfies(&held, &expr(e.clone())), "{held:?} must not satisfy {e}");
        }
        let satisfied = [
            (s(&[]), json!({"AllOf": []})),
            (s(&["A"]), json!({"AllOf": ["A"]})),
            (s(&["A", "B"]), json!("A")),
            (s(&["a*", "b*", "c*"]), json!("abc")),
            (s(&["abc"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["def"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["abc", "def"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["abc*"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["abc*"]), json!({"AnyOf": ["abc"]})),
            (s(&["abc*", "def*"]), json!({"AnyOf": ["abc", "def"]})),
            (s(&["foo"]), json!({"AllOf": [{"AnyOf": [{"AllOf": ["foo"]}, {"AllOf": ["bar"]}]}]})),
            (s(&["a*", "b*", "c*"]), json!({"AnyOf": ["cfoo", "dfoo"]})),
            (s(&["a*", "b*", "c*"]), json!({"AnyOf": ["bx", "by"]})),
            (s(&["a*", "b*", "c*"]), json!({"AllOf": ["bx", "cx"]})),
            (s(&["a*", "b*", "c*"]), json!({"AnyOf": [{"AllOf": ["ax", "jx"]}, {"AllOf": ["bx", "cx"]}, "bbb"]})),
        ];
        for (held, e) in satisfied {
            assert!(satisfies(&held, &expr(e.clone())), "{held:?} must satisfy {e}");
        }
    }

    /// The "failure explanation" cases of taskcluster-lib-scopes' `expression_test.js` (`removeGivenScopes`).
    #[test]
    fn unsatisfied_follows_remove_given_scopes() {
        let cases = [
            (s(&[]), json!({"AllOf": []}), None),
            (s(&["a"]), json!({"AllOf": ["a"]}), None),
            (s(&["a"]), json!({"AllOf": ["a", "b"]}), Some(json!("b"))),
            (s(&[]), json!({"AnyOf": []}), Some(json!({"AnyOf": []}))),
            (s(&["a"]), json!({"AnyOf": ["a", "b"]}), None),
            (s(&["c"]), json!({"AnyOf": ["a", "b"]}), Some(json!({"AnyOf": ["a", "b"]}))),
            (s(&["ghi"]), json!({"AnyOf": ["abc", "def"]}), Some(json!({"AnyOf": ["abc", "def"]}))),
            (s(&["ghi"]), json!({"AllOf": ["abc", "def", "ghi"]}), Some(json!({"AllOf": ["abc", "def"]}))),
            (s(&["ghi*", "fff*"]), json!({"AnyOf": ["abc", "def"]}), Some(json!({"AnyOf": ["abc", "def"]}))),
            (
                s(&["xyz", "abc"]),
                json!({"AllOf": [{"AnyOf": [{"AllOf": ["foo"]}, {"AllOf": ["bar"]}]}]}),
                Some(json!({"AnyOf": ["foo", "bar"]})),
            ),
        ];
        for (held, e, expected) in cases {
            let got = unsatisfied(&held, &expr(e.clone())).map(|x| x.to_json());
            assert_eq!(got, expected, "{held:?} against {e}");
        }
    }

    #[test]
    fn unsatisfied_is_none_exactly_when_satisfied() {
        let e = expr(json!({"AllOf": ["hooks:modify-hook:g/h", "assume:hook-id:g/h"]}));
        for held in [s(&[]), s(&["hooks:*"]), s(&["assume:*"]), s(&["hooks:*", "assume:hook-id:g/*"]), s(&["*"])] {
            assert_eq!(unsatisfied(&held, &e).is_none(), satisfies(&held, &e), "{held:?}");
        }
    }

    /// The validity cases of taskcluster-lib-scopes' `expression_test.js`.
    #[test]
    fn from_json_accepts_only_valid_expressions() {
        for bad in [
            json!({}),
            json!([]),
            json!(12),
            json!({"Foo": ["abc"]}),
            json!({"AnyOf": ["abc"], "AllOf": ["abc"]}),
            json!({"AnyOf": 1}),
            json!({"AnyOf": "scope:bar"}),
            json!({"AnyOf": {}}),
            json!({"AllOf": ["ok", "tab\tinside"]}),
            json!("caf\u{e9}"),
        ] {
            assert!(ScopeExpression::from_json(&bad).is_err(), "{bad} must be refused");
        }
        for good in [
            json!("hello-world"),
            json!("scope:foo"),
            json!({"AnyOf": []}),
            json!({"AllOf": []}),
            json!({"AnyOf": ["abc"]}),
            json!({"AllOf": ["abc"]}),
            json!({"AnyOf": [{"AnyOf": ["scope:foo:thing"]}]}),
            json!({"AllOf": [{"AllOf": ["scope:foo:thing", "scope:bar:thing"]}]}),
            json!({"AllOf": [{"AnyOf": [{"AllOf": ["foo"]}, {"AllOf": ["bar"]}]}]}),
        ] {
            let parsed = ScopeExpression::from_json(&good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(parsed.to_json(), good, "round trip");
            assert_eq!(serde_json::to_value(&parsed).unwrap(), good, "serde round trip");
            assert_eq!(serde_json::from_value::<ScopeExpression>(good.clone()).unwrap(), parsed);
        }
    }

    #[test]
    fn parse_errors_name_where_the_problem_is() {
        let err = ScopeExpression::from_json(&json!({"AllOf": ["ok", {"AnyOf": ["x", 3]}]})).unwrap_err();
        assert_eq!(err.field, "AllOf[1].AnyOf[1]");
        let err = ScopeExpression::from_json(&json!({"AllOf": "x"})).unwrap_err();
        assert_eq!(err.to_string(), "AllOf: must be an array");
    }

    #[test]
    fn render_substitutes_hook_parameters() {
        let template = expr(
            json!({"AllOf": ["hooks:modify-hook:<hookGroupId>/<hookId>", "assume:hook-id:<hookGroupId>/<hookId>"]}),
        );
        let rendered = template.render(&[("hookGroupId", "g"), ("hookId", "a/b")]);
        assert_eq!(rendered.to_json(), json!({"AllOf": ["hooks:modify-hook:g/a/b", "assume:hook-id:g/a/b"]}));

        // a missing parameter renders as the empty string; `<...>` that isn't a parameter name stays
        let rendered = expr(json!("hooks:get:<hookGroupId>:<hookId>:<1x>")).render(&[("hookGroupId", "g")]);
        assert_eq!(rendered.to_json(), json!("hooks:get:g::<1x>"));

        // values are inserted once, never re-expanded
        let rendered = expr(json!("a:<x>")).render(&[("x", "<y>"), ("y", "no")]);
        assert_eq!(rendered.to_json(), json!("a:<y>"));

        let rendered = expr(json!("hooks:status:<hookGroupId>/<hookId>")).for_hook("grp", "id/with/slash");
        assert_eq!(rendered.to_json(), json!("hooks:status:grp/id/with/slash"));
    }

    #[test]
    fn display_is_the_error_message_form() {
        assert_eq!(expr(json!("hooks:list-hooks:")).to_string(), "hooks:list-hooks:");
        assert_eq!(expr(json!({"AllOf": ["a", "b"]})).to_string(), "{\n  \"AllOf\": [\n    \"a\",\n    \"b\"\n  ]\n}");
        assert_eq!(expr(json!({"AnyOf": []})).to_string(), "{\n  \"AnyOf\": []\n}");
    }

    #[test]
    fn normalize_scopes_drops_covered_and_duplicate_scopes() {
        let got = normalize_scopes(s(&["b:1", "a:*", "a:x", "b:1", "assume:anonymous", "c*", "c"]));
        assert_eq!(got, s(&["a:*", "assume:anonymous", "b:1", "c*"]));
        assert_eq!(normalize_scopes(s(&["*", "anything"])), s(&["*"]));
    }

    #[test]
    fn scope_parse_refuses_non_printable_ascii() {
        assert!(Scope::parse("queue:create-task:highest:proj/*").is_ok());
        assert!(Scope::parse("").is_ok());
        assert!(Scope::parse("a\nb").is_err());
        assert!(Scope::parse("caf\u{e9}").is_err());
        assert!(serde_json::from_value::<Scope>(json!("x\u{7f}")).is_err());
    }
}
