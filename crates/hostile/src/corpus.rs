//! The hostile corpus: JSON files under `corpus/`, one list of cases per category, read at run time (adding a case
//! needs no rebuild).
//!
//! Values in the files may hold generators, objects with a single key starting with `%`, expanded before use (so
//! that a 11 MB body is one line of the file):
//!
//! | generator | becomes |
//! |---|---|
//! | `{"%repeat": [s, n]}` | the string `s` repeated `n` times |
//! | `{"%join": [a, b, ...]}` | the strings (or generators) concatenated |
//! | `{"%array": [v, n]}` | an array of `n` copies of `v` |
//! | `{"%range": n}` | `[0, 1, ..., n-1]` |
//! | `{"%nest": [n, v]}` | `v` inside `n` arrays: `[[[v]]]` |

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Where the corpus files are.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Every case of the corpus, per category.
pub struct Corpus {
    /// Templates that blow up when rendered: fired through the API, and through Pulse and schedules where marked.
    pub templates: Vec<TemplateCase>,
    /// Hook definitions createHook and updateHook must refuse.
    pub definitions: Vec<DefinitionCase>,
    /// Hostile payloads for triggerHook and triggerHookWithToken.
    pub payloads: Vec<PayloadCase>,
    /// Hostile request bodies, encodings and authorization headers.
    pub bodies: Vec<BodyCase>,
    /// Hostile Pulse messages.
    pub pulse: Vec<PulseCase>,
}

impl Corpus {
    /// Reads every file; with `short`, keeps only the cases marked `"short": true`.
    pub fn load(short: bool) -> anyhow::Result<Self> {
        let dir = dir();
        Ok(Self {
            templates: read(&dir, "templates.json", short)?,
            definitions: read(&dir, "definitions.json", short)?,
            payloads: read(&dir, "payloads.json", short)?,
            bodies: read(&dir, "bodies.json", short)?,
            pulse: read(&dir, "pulse.json", short)?,
        })
    }
}

/// What every case has: a name and whether the short form runs it.
pub trait Case {
    /// The case's name, unique in its file.
    fn name(&self) -> &str;
    /// Whether the short form (the default under `cargo test`) runs it.
    fn short(&self) -> bool;
}

macro_rules! case {
    ($t:ty) => {
        impl Case for $t {
            fn name(&self) -> &str {
                &self.name
            }
            fn short(&self) -> bool {
                self.short
            }
        }
    };
}

fn read<T: Case + for<'de> Deserialize<'de>>(dir: &Path, file: &str, short: bool) -> anyhow::Result<Vec<T>> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let cases: Vec<T> = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        if !names.insert(case.name().to_owned()) {
            bail!("{}: the case name {:?} appears twice", path.display(), case.name());
        }
    }
    Ok(cases.into_iter().filter(|c| !short || c.short()).collect())
}

/// A template that blows up (or, with no `error`, renders) when a hook fires.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateCase {
    /// Its name.
    pub name: String,
    /// Whether the short form runs it.
    #[serde(default)]
    pub short: bool,
    /// Why it is hostile (documentation only).
    #[serde(default)]
    pub note: Option<String>,
    /// Put at `task.payload.hostile` of the good task, unless `task` is given.
    #[serde(default)]
    pub template: Option<Value>,
    /// The whole task template.
    #[serde(default)]
    pub task: Option<Value>,
    /// The trigger payload (the Pulse message, for Pulse).
    #[serde(default = "empty_object")]
    pub payload: Value,
    /// Text the error must contain (the API's 400 message, the last fire's error); absent: the fire succeeds.
    pub error: Option<String>,
    /// Also fire it from a Pulse message.
    #[serde(default)]
    pub pulse: bool,
    /// Also fire it every second from the scheduler.
    #[serde(default)]
    pub scheduled: bool,
}
case!(TemplateCase);

impl TemplateCase {
    /// The hook's task template.
    pub fn task_template(&self) -> Value {
        match (&self.task, &self.template) {
            (Some(task), _) => expand(task),
            (None, Some(template)) => {
                let mut task = good_task();
                task["payload"]["hostile"] = expand(template);
                task
            }
            (None, None) => good_task(),
        }
    }
}

/// A hook definition that createHook and updateHook must refuse.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefinitionCase {
    /// Its name.
    pub name: String,
    /// Whether the short form runs it.
    #[serde(default)]
    pub short: bool,
    /// Why it is hostile (documentation only).
    #[serde(default)]
    pub note: Option<String>,
    /// A JSON merge patch (RFC 7396) applied to the good hook definition.
    pub patch: Value,
    /// The refusal.
    pub expect: Expect,
}
case!(DefinitionCase);

/// A hostile payload for triggerHook and triggerHookWithToken.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PayloadCase {
    /// Its name.
    pub name: String,
    /// Whether the short form runs it.
    #[serde(default)]
    pub short: bool,
    /// Why it is hostile (documentation only).
    #[serde(default)]
    pub note: Option<String>,
    /// A merge patch applied to the good hook definition (its task template, its triggerSchema).
    #[serde(default)]
    pub hook: Option<Value>,
    /// The payload as sent.
    pub payload: Body,
    /// The answer to both calls.
    pub expect: Expect,
}
case!(PayloadCase);

/// A hostile HTTP request.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BodyCase {
    /// Its name.
    pub name: String,
    /// Whether the short form runs it.
    #[serde(default)]
    pub short: bool,
    /// Why it is hostile (documentation only).
    #[serde(default)]
    pub note: Option<String>,
    /// The HTTP method; POST unless given.
    #[serde(default = "post")]
    pub method: String,
    /// The path under `/api/hooks/v1`; the target hook's trigger unless given.
    #[serde(default = "trigger_path")]
    pub path: String,
    /// The body before compression.
    pub body: Body,
    /// `gzip`, `deflate`, `gzip-corrupt` (bad checksum) or `gzip-truncated`: how the body is compressed.
    #[serde(default)]
    pub compress: Option<String>,
    /// The `Content-Encoding` header; unless given, the name of the compression (none without one).
    #[serde(default)]
    pub content_encoding: Option<String>,
    /// The `Content-Type` header.
    #[serde(default = "application_json")]
    pub content_type: String,
    /// `signed` (Hawk, the default), `none`, `app-uncovered` (an `app` the MAC doesn't cover), `dlg-mismatch` (a
    /// `dlg` other than the signed one), `stale` (signed 20 minutes ago), `wrong-key`, or a literal header value.
    #[serde(default = "signed")]
    pub auth: String,
    /// The answer.
    pub expect: Expect,
}
case!(BodyCase);

/// A hostile Pulse message, published to the hook's binding.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PulseCase {
    /// Its name.
    pub name: String,
    /// Whether the short form runs it.
    #[serde(default)]
    pub short: bool,
    /// Why it is hostile (documentation only).
    #[serde(default)]
    pub note: Option<String>,
    /// A merge patch applied to the good hook definition.
    #[serde(default)]
    pub hook: Option<Value>,
    /// The message body.
    pub message: Body,
    /// Appended to the case's routing key (`case.<n>.<suffix>`).
    #[serde(default)]
    pub routing_key_suffix: Option<String>,
    /// What becomes of it.
    pub expect: PulseExpect,
}
case!(PulseCase);

/// What becomes of a Pulse message.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum PulseExpect {
    /// An `error` last fire whose error contains this text.
    Error(String),
    /// A `success` last fire.
    Fired,
    /// Dead-lettered (not JSON): no last fire, the message in the dead-letter queue.
    DeadLetter,
    /// Refused by the triggerSchema: acknowledged, no last fire, counted as `invalid`.
    Discarded,
}

/// A body as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Body {
    /// JSON, serialized compactly.
    Json(Value),
    /// Text (a string, or a generator making one), sent as it is.
    Raw(Value),
    /// Bytes in base64.
    Base64(String),
}

impl Body {
    /// The bytes sent.
    pub fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        use base64::Engine as _;
        Ok(match self {
            Self::Json(v) => serde_json::to_vec(&expand(v))?,
            Self::Raw(v) => match expand(v) {
                Value::String(s) => s.into_bytes(),
                other => bail!("a raw body must be a string, not {other}"),
            },
            Self::Base64(b) => base64::engine::general_purpose::STANDARD.decode(b)?,
        })
    }
}

/// An HTTP answer a case expects.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// The status, or any of several.
    pub status: Statuses,
    /// The error body's `code`.
    #[serde(default)]
    pub code: Option<String>,
    /// Text the error body's `message` contains.
    #[serde(default)]
    pub contains: Option<String>,
}

/// One status or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Statuses {
    /// Exactly this one.
    One(u16),
    /// Any of these.
    Any(Vec<u16>),
}

impl Statuses {
    /// Whether `status` is expected.
    pub fn allows(&self, status: u16) -> bool {
        match self {
            Self::One(s) => *s == status,
            Self::Any(list) => list.contains(&status),
        }
    }
}

impl Expect {
    /// Why the answer `(status, body)` is not the expected one; `None` when it is.
    pub fn mismatch(&self, status: u16, body: &Value) -> Option<String> {
        let message = body["message"].as_str().unwrap_or_default();
        if !self.status.allows(status) {
            return Some(format!("status {status}, expected {:?}: {}", self.status, shorten(&body.to_string())));
        }
        if let Some(code) = &self.code
            && body["code"].as_str() != Some(code.as_str())
        {
            return Some(format!("code {}, expected {code}: {}", body["code"], shorten(message)));
        }
        if let Some(text) = &self.contains
            && !message.contains(text.as_str())
        {
            return Some(format!("message lacks {text:?}: {}", shorten(message)));
        }
        None
    }
}

/// At most 300 characters of `text`, for reports.
pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The good task every hostile one starts from.
pub fn good_task() -> Value {
    json!({
        "provisionerId": "hostile",
        "workerType": "hostile",
        "payload": {"firedBy": "${firedBy}"},
        "metadata": {"name": "hostile", "description": "hostile-input suite", "owner": "hostile@example.com",
                     "source": "https://example.com/hostile"},
    })
}

/// A good hook: no schedule, no bindings, any object as payload.
pub fn good_hook() -> Value {
    json!({
        "metadata": {"name": "hostile", "description": "hostile-input suite", "owner": "hostile@example.com",
                     "emailOnError": false},
        "schedule": [],
        "bindings": [],
        "task": good_task(),
        "triggerSchema": {"type": "object"},
    })
}

/// `target` with `patch` merged in (RFC 7396: objects merge, `null` removes, anything else replaces), generators
/// in the patch expanded.
pub fn merge(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) if !is_generator(p) => {
            let mut out = target.as_object().cloned().unwrap_or_default();
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let merged = merge(out.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), merged);
                }
            }
            Value::Object(out)
        }
        other => expand(other),
    }
}

fn is_generator(object: &Map<String, Value>) -> bool {
    object.len() == 1 && object.keys().all(|k| k.starts_with('%'))
}

/// `value` with its generators expanded. An unknown generator is left as it is.
pub fn expand(value: &Value) -> Value {
    match value {
        Value::Object(o) if is_generator(o) => {
            let Some((name, arg)) = o.iter().next() else { return value.clone() };
            generate(name, arg).unwrap_or_else(|| value.clone())
        }
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), expand(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(expand).collect()),
        other => other.clone(),
    }
}

fn generate(name: &str, arg: &Value) -> Option<Value> {
    let count = |v: &Value| v.as_u64().and_then(|n| usize::try_from(n).ok());
    Some(match (name, arg) {
        ("%repeat", Value::Array(a)) if a.len() == 2 => Value::String(expand(&a[0]).as_str()?.repeat(count(&a[1])?)),
        ("%join", Value::Array(parts)) => {
            let mut out = String::new();
            for part in parts {
                out.push_str(expand(part).as_str()?);
            }
            Value::String(out)
        }
        ("%array", Value::Array(a)) if a.len() == 2 => Value::Array(vec![expand(&a[0]); count(&a[1])?]),
        ("%range", n) => Value::Array((0..count(n)?).map(Value::from).collect()),
        ("%nest", Value::Array(a)) if a.len() == 2 => {
            (0..count(&a[0])?).fold(expand(&a[1]), |inner, _| Value::Array(vec![inner]))
        }
        _ => return None,
    })
}

fn empty_object() -> Value {
    json!({})
}
fn post() -> String {
    "POST".to_owned()
}
fn trigger_path() -> String {
    "/hooks/hostile/bodies/trigger".to_owned()
}
fn application_json() -> String {
    "application/json".to_owned()
}
fn signed() -> String {
    "signed".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_expand_inside_values() {
        let v =
            json!({"a": {"%join": ["${", {"%repeat": ["(", 3]}, "1", {"%repeat": [")", 3]}, "}"]}, "b": {"%range": 3}});
        assert_eq!(expand(&v), json!({"a": "${(((1)))}", "b": [0, 1, 2]}));
        assert_eq!(expand(&json!({"%array": [{"x": 1}, 2]})), json!([{"x": 1}, {"x": 1}]));
    }

    #[test]
    fn merge_patches_objects_and_removes_nulls() {
        let merged = merge(&json!({"a": {"b": 1, "c": 2}, "d": 3}), &json!({"a": {"b": null, "e": 4}, "d": [1]}));
        assert_eq!(merged, json!({"a": {"c": 2, "e": 4}, "d": [1]}));
    }
}
