//! The hook model: what a hook is, parsed from the API's request shape into types that are valid by construction.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cron::{Schedule, ScheduleError, ScheduleZone};
use crate::error::{check_max_chars, static_regex};
use crate::slot::{CatchUpInput, HookCatchUp};
use crate::storable::{check_no_nul, check_no_nul_in};
use crate::template_limits::check_template;
use crate::trigger_schema::TriggerSchema;
use crate::{HookGroupId, HookId, HookKey, SecretString, ValidationError};

/// The most a hook definition's `task`, `triggerSchema`, `metadata` and `bindings` may take together, as compact
/// JSON: 1 MiB. Real hooks take a few KiB; the bound keeps what every fire reads, renders and stores small, and
/// leaves room under the API's 10 MiB body limit for the JSON escapes of a body that reaches it.
pub const MAX_DEFINITION_BYTES: usize = 1 << 20;

/// The exchanges no hook may bind to unless configured otherwise: binding to task-created would let a hook
/// fire on every task it creates (a "task bomb"), and the hook-changed exchanges are internal.
pub(crate) const DEFAULT_EXCHANGE_DENYLIST: [&str; 2] =
    ["exchange/taskcluster-queue/v1/task-created", "exchange/taskcluster-hooks/.*"];

// The format ajv-formats calls "full" email, which the service we replace applies to metadata.owner.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    static_regex(
        r"(?i)^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
    )
});

/// Whether `s` is an email address as `metadata.owner` must be (the format ajv-formats calls "full" email).
pub fn is_email(s: &str) -> bool {
    EMAIL.is_match(s)
}

/// A hook's descriptive metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookMetadata {
    /// Human-readable name, at most 255 characters.
    pub name: String,
    /// Description, at most 32768 characters.
    pub description: String,
    /// The owner's email address, at most 255 characters; failures are mailed here.
    pub owner: String,
    /// Whether scheduled failures are emailed to the owner.
    #[serde(default = "default_true")]
    pub email_on_error: bool,
}

fn default_true() -> bool {
    true
}

impl HookMetadata {
    /// Checks the lengths and the owner's address.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_max_chars("name", &self.name, 255)?;
        check_max_chars("description", &self.description, 32768)?;
        check_max_chars("owner", &self.owner, 255)?;
        if !is_email(&self.owner) {
            return Err(ValidationError::new("owner", format!("{:?} is not an email address", self.owner)));
        }
        Ok(())
    }
}

/// One Pulse binding: messages on `exchange` whose routing key matches `routingKeyPattern` fire the hook.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Binding {
    /// The exchange's name, e.g. `exchange/taskcluster-queue/v1/task-completed`.
    pub exchange: String,
    /// An AMQP topic pattern: `*` matches one word, `#` zero or more.
    pub routing_key_pattern: String,
}

// AMQP 0-9-1 carries exchange names and routing keys as short strings: longer ones can never be bound.
const AMQP_SHORTSTR_MAX: usize = 255;

impl Binding {
    fn validate(&self) -> Result<(), ValidationError> {
        for (field, value) in [("exchange", &self.exchange), ("routingKeyPattern", &self.routing_key_pattern)] {
            if value.is_empty() {
                return Err(ValidationError::new(field, "must not be empty"));
            }
            if value.len() > AMQP_SHORTSTR_MAX {
                return Err(ValidationError::new(
                    field,
                    format!("is {} bytes long; AMQP allows at most {AMQP_SHORTSTR_MAX}", value.len()),
                ));
            }
        }
        Ok(())
    }
}

/// Exchanges hooks may not bind to: regular expressions anchored at the start of the exchange name.
#[derive(Debug, Clone)]
pub struct ExchangeDenylist {
    patterns: Vec<Regex>,
}

impl Default for ExchangeDenylist {
    fn default() -> Self {
        let patterns = DEFAULT_EXCHANGE_DENYLIST.iter().map(|p| static_regex(&format!("^(?:{p})"))).collect();
        Self { patterns }
    }
}

impl ExchangeDenylist {
    /// Compiles the patterns; each is anchored at the start, as upstream does.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, regex::Error> {
        let patterns =
            patterns.iter().map(|p| Regex::new(&format!("^(?:{})", p.as_ref()))).collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// The pattern that denies `exchange`, if any.
    pub fn denies(&self, exchange: &str) -> Option<&str> {
        self.patterns.iter().find(|p| p.is_match(exchange)).map(Regex::as_str)
    }
}

/// A hook definition as the API receives it (`create-hook-request`), before validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookInput {
    /// Optional; must equal the URL's when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_group_id: Option<String>,
    /// Optional; must equal the URL's when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_id: Option<String>,
    /// Required metadata.
    pub metadata: HookMetadata,
    /// Pulse bindings; `None` means "not given" (create: none; update: keep the stored ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bindings: Option<Vec<Binding>>,
    /// Cron patterns; not given means none.
    #[serde(default)]
    pub schedule: Vec<String>,
    /// The JSON-e template of the task.
    pub task: Map<String, Value>,
    /// JSON schema for payloads; not given means the default (empty object only).
    #[serde(default = "crate::trigger_schema::default_trigger_schema")]
    pub trigger_schema: Value,
    /// The IANA time zone the schedule is read in; not given means UTC. An extension: upstream has no such field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Which missed slots fire after downtime; not given means the scheduler's `--catch-up`. An extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUpInput>,
}

impl HookInput {
    /// Refuses ids in the body that differ from the URL's.
    pub fn check_ids(&self, hook_group_id: &str, hook_id: &str) -> Result<(), ValidationError> {
        if self.hook_group_id.as_deref().is_some_and(|g| g != hook_group_id) {
            return Err(ValidationError::new(
                "hookGroupId",
                "Hook Group Ids do not match: the body's differs from the URL's",
            ));
        }
        if self.hook_id.as_deref().is_some_and(|h| h != hook_id) {
            return Err(ValidationError::new("hookId", "Hook Ids do not match: the body's differs from the URL's"));
        }
        Ok(())
    }

    /// Refuses a definition over [`MAX_DEFINITION_BYTES`], naming its largest part.
    fn check_size(&self) -> Result<(), ValidationError> {
        let parts = [
            ("task", json_len(&self.task)),
            ("triggerSchema", json_len(&self.trigger_schema)),
            ("metadata", json_len(&self.metadata)),
            ("bindings", json_len(&self.bindings)),
        ];
        let total = parts.iter().fold(0usize, |sum, (_, len)| sum.saturating_add(*len));
        if total <= MAX_DEFINITION_BYTES {
            return Ok(());
        }
        let (field, len) = parts.iter().max_by_key(|(_, len)| *len).copied().unwrap_or(("task", total));
        Err(ValidationError::new(
            field,
            format!(
                "is {len} bytes as JSON; task, triggerSchema, metadata and bindings together ({total} bytes) may \
                 take at most {MAX_DEFINITION_BYTES} bytes (1 MiB)"
            ),
        ))
    }

    /// Refuses U+0000 anywhere in what is stored, naming the path to it.
    fn check_storable(&self) -> Result<(), ValidationError> {
        check_no_nul_in(&self.task).map_err(|e| e.within("task"))?;
        check_no_nul(&self.trigger_schema).map_err(|e| e.within("triggerSchema"))?;
        let typed =
            [("metadata", serde_json::to_value(&self.metadata)), ("bindings", serde_json::to_value(&self.bindings))];
        for (field, value) in typed {
            // Serializing plain structs of strings cannot fail; should it, there is nothing there to refuse.
            if let Ok(value) = value {
                check_no_nul(&value).map_err(|e| e.within(field))?;
            }
        }
        Ok(())
    }
}

/// The length of `value` as compact JSON, counted without building the text.
fn json_len<T: Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; if serializing did, count it as too big rather than as nothing.
    serde_json::to_writer(&mut count, value).map_or(usize::MAX, |()| count.0)
}

/// A validated hook definition: everything a user can set.
#[derive(Debug, Clone, PartialEq)]
pub struct HookDefinition {
    /// The group.
    pub hook_group_id: HookGroupId,
    /// The hook within its group.
    pub hook_id: HookId,
    /// Descriptive metadata.
    pub metadata: HookMetadata,
    /// Distinct Pulse bindings.
    pub bindings: Vec<Binding>,
    /// When the hook fires on its own, read in the hook's `timeZone`.
    pub schedule: Schedule,
    /// The hook's own catch-up policy, when it has one.
    pub catch_up: Option<HookCatchUp>,
    /// The JSON-e template of the task.
    pub task: Map<String, Value>,
    /// What payloads must look like.
    pub trigger_schema: TriggerSchema,
}

impl HookDefinition {
    /// Validates `input` for the hook at `hook_group_id/hook_id`. `bindings` given as `None` become `[]`.
    pub fn parse(
        hook_group_id: HookGroupId,
        hook_id: HookId,
        input: HookInput,
        denylist: &ExchangeDenylist,
    ) -> Result<Self, ValidationError> {
        input.check_ids(hook_group_id.as_str(), hook_id.as_str())?;
        // Size first: the checks after it walk the whole definition, and compiling a schema costs more.
        input.check_size()?;
        input.check_storable()?;
        check_template(&input.task).map_err(|e| e.within("task"))?;
        input.metadata.validate().map_err(|e| e.within("metadata"))?;
        let schedule =
            Schedule::parse(&input.schedule).map_err(schedule_error)?.in_zone(parse_zone(input.time_zone.as_deref())?);
        let catch_up = input.catch_up.as_ref().map(HookCatchUp::parse).transpose().map_err(|e| e.within("catchUp"))?;
        let trigger_schema = TriggerSchema::parse(input.trigger_schema)?;
        let bindings = input.bindings.unwrap_or_default();
        validate_bindings(&bindings, denylist)?;
        Ok(Self {
            hook_group_id,
            hook_id,
            metadata: input.metadata,
            bindings,
            schedule,
            catch_up,
            task: input.task,
            trigger_schema,
        })
    }

    /// The hook's key (group and id).
    pub fn key(&self) -> HookKey {
        HookKey::new(self.hook_group_id.clone(), self.hook_id.clone())
    }

    /// `<hookGroupId>/<hookId>`, as used in scopes, roles and logs.
    pub fn path(&self) -> String {
        format!("{}/{}", self.hook_group_id, self.hook_id)
    }

    /// The definition as the API returns it, fields in upstream's order; the extensions only when set.
    pub fn to_json(&self) -> Value {
        let mut json = serde_json::json!({
            "hookId": self.hook_id,
            "hookGroupId": self.hook_group_id,
            "bindings": self.bindings,
            "metadata": self.metadata,
            "task": self.task,
            "schedule": self.schedule.to_strings(),
            "triggerSchema": self.trigger_schema.as_value(),
        });
        if let Some(zone) = self.schedule.zone() {
            json["timeZone"] = zone.name().into();
        }
        if let Some(catch_up) = &self.catch_up {
            json["catchUp"] = serde_json::json!(catch_up.to_input());
        }
        json
    }
}

/// The zone a `timeZone` names (`None`: UTC).
pub(crate) fn parse_zone(name: Option<&str>) -> Result<Option<ScheduleZone>, ValidationError> {
    let Some(name) = name else { return Ok(None) };
    // Checked first so that the error never echoes an enormous value.
    check_max_chars("timeZone", name, 64)?;
    ScheduleZone::parse(name).map(Some).map_err(|e| ValidationError::new("timeZone", e.to_string()))
}

fn schedule_error(e: ScheduleError) -> ValidationError {
    match e {
        ScheduleError::Invalid { index, pattern, source } => ValidationError::new(
            format!("schedule[{index}]"),
            format!("{pattern:?} is not a valid cron pattern: {source}"),
        ),
        ScheduleError::Duplicate { index, first, pattern } => {
            ValidationError::new(format!("schedule[{index}]"), format!("{pattern:?} repeats schedule[{first}]"))
        }
    }
}

fn validate_bindings(bindings: &[Binding], denylist: &ExchangeDenylist) -> Result<(), ValidationError> {
    for (i, binding) in bindings.iter().enumerate() {
        let field = format!("bindings[{i}]");
        binding.validate().map_err(|e| e.within(&field))?;
        if let Some(first) = bindings[..i].iter().position(|b| b == binding) {
            return Err(ValidationError::new(field, format!("repeats bindings[{first}]")));
        }
        if let Some(pattern) = denylist.denies(&binding.exchange) {
            return Err(ValidationError::new(
                format!("{field}.exchange"),
                format!(
                    "hooks may not bind to {:?}: it is denied by the exchange denylist (pattern {pattern:?})",
                    binding.exchange
                ),
            ));
        }
    }
    Ok(())
}

/// A stored hook: its definition plus the state only the service sees.
#[derive(Debug, Clone)]
pub struct Hook {
    /// What the user defined.
    pub definition: HookDefinition,
    /// The secret for `triggerHookWithToken`.
    pub trigger_token: SecretString,
    /// Keys the derivation of the hook's slot task ids.
    pub schedule_secret: crate::slot::ScheduleSecret,
    /// The next slot the scheduler will fire, if the hook has a schedule.
    pub next_scheduled_date: Option<DateTime<Utc>>,
    /// How many attempts at the current slot failed transiently.
    pub schedule_failures: i32,
    /// When its owner was last emailed about a failed scheduled fire.
    pub failure_emailed_at: Option<DateTime<Utc>>,
    /// Permanent failures of scheduled fires since that email.
    pub failures_not_emailed: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> HookInput {
        serde_json::from_value(v).unwrap()
    }

    fn minimal() -> Value {
        json!({
            "metadata": {"name": "n", "description": "d", "owner": "me@example.com"},
            "task": {"provisionerId": "p", "workerType": "w"},
        })
    }

    fn parse(v: Value) -> Result<HookDefinition, ValidationError> {
        HookDefinition::parse(
            HookGroupId::parse("g").unwrap(),
            HookId::parse("h").unwrap(),
            input(v),
            &ExchangeDenylist::default(),
        )
    }

    fn with(mut base: Value, path: &[&str], value: Value) -> Value {
        let mut cursor = &mut base;
        for key in &path[..path.len() - 1] {
            cursor = &mut cursor[*key];
        }
        cursor[path[path.len() - 1]] = value;
        base
    }

    #[test]
    fn minimal_hook_gets_the_defaults() {
        let def = parse(minimal()).unwrap();
        assert!(def.metadata.email_on_error);
        assert!(def.bindings.is_empty());
        assert!(def.schedule.is_empty());
        assert_eq!(def.trigger_schema.as_value(), &json!({"type": "object", "additionalProperties": false}));
        let out = def.to_json();
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 7);
        assert_eq!(out["hookGroupId"], "g");
    }

    #[test]
    fn metadata_table() {
        let cases: Vec<(Value, Option<(&str, &str)>)> = vec![
            (with(minimal(), &["metadata", "name"], json!("x".repeat(255))), None),
            (with(minimal(), &["metadata", "name"], json!("x".repeat(256))), Some(("metadata.name", "256 characters"))),
            (with(minimal(), &["metadata", "description"], json!("d".repeat(32768))), None),
            (
                with(minimal(), &["metadata", "description"], json!("d".repeat(32769))),
                Some(("metadata.description", "at most 32768")),
            ),
            (with(minimal(), &["metadata", "owner"], json!("not-an-email")), Some(("metadata.owner", "not an email"))),
            (with(minimal(), &["metadata", "owner"], json!("a.b+c@sub.example.org")), None),
            (
                with(minimal(), &["metadata", "owner"], json!(format!("{}@example.com", "a".repeat(250)))),
                Some(("metadata.owner", "at most 255")),
            ),
        ];
        for (value, expected) in cases {
            match (parse(value.clone()), expected) {
                (Ok(_), None) => {}
                (Err(e), Some((field, words))) => {
                    assert_eq!(e.field, field, "{value}");
                    assert!(e.problem.contains(words), "{e} should contain {words}");
                }
                (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn email_on_error_may_be_turned_off() {
        let def = parse(with(minimal(), &["metadata", "emailOnError"], json!(false))).unwrap();
        assert!(!def.metadata.email_on_error);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let v = with(minimal(), &["metadata", "extra"], json!(1));
        assert!(serde_json::from_value::<HookInput>(v).is_err());
        let v = with(minimal(), &["nope"], json!(1));
        assert!(serde_json::from_value::<HookInput>(v).is_err());
    }

    #[test]
    fn ids_in_the_body_must_match_the_url() {
        let e = parse(with(minimal(), &["hookGroupId"], json!("other"))).unwrap_err();
        assert_eq!(e.field, "hookGroupId");
        assert!(e.problem.contains("do not match"));
        let e = parse(with(minimal(), &["hookId"], json!("other"))).unwrap_err();
        assert_eq!(e.field, "hookId");
        assert!(parse(with(minimal(), &["hookId"], json!("h"))).is_ok());
    }

    #[test]
    fn bindings_must_be_distinct_and_non_empty() {
        let b = json!({"exchange": "exchange/x/v1/y", "routingKeyPattern": "#"});
        assert_eq!(parse(with(minimal(), &["bindings"], json!([b]))).unwrap().bindings.len(), 1);
        let e = parse(with(minimal(), &["bindings"], json!([b, b]))).unwrap_err();
        assert_eq!(e.field, "bindings[1]");
        assert!(e.problem.contains("repeats bindings[0]"));
        let e = parse(with(minimal(), &["bindings"], json!([{"exchange": "", "routingKeyPattern": "#"}]))).unwrap_err();
        assert_eq!(e.field, "bindings[0].exchange");
        let long = json!([{"exchange": "e", "routingKeyPattern": "k".repeat(256)}]);
        assert!(parse(with(minimal(), &["bindings"], long)).unwrap_err().problem.contains("AMQP"));
    }

    #[test]
    fn denied_exchanges_are_refused() {
        for exchange in ["exchange/taskcluster-queue/v1/task-created", "exchange/taskcluster-hooks/v1/hook-created"] {
            let v = with(minimal(), &["bindings"], json!([{"exchange": exchange, "routingKeyPattern": "#"}]));
            let e = parse(v).unwrap_err();
            assert_eq!(e.field, "bindings[0].exchange");
            assert!(e.problem.contains("denylist"), "{e}");
        }
        let ok = json!([{"exchange": "exchange/taskcluster-queue/v1/task-completed", "routingKeyPattern": "#"}]);
        assert!(parse(with(minimal(), &["bindings"], ok)).is_ok());
    }

    #[test]
    fn denylist_is_configurable_and_anchored_at_the_start() {
        let deny = ExchangeDenylist::new(&["exchange/secret/.*"]).unwrap();
        assert!(deny.denies("exchange/secret/v1/x").is_some());
        assert!(deny.denies("prefix/exchange/secret/v1/x").is_none());
        assert!(deny.denies("exchange/taskcluster-queue/v1/task-created").is_none());
        assert!(ExchangeDenylist::new(&["("]).is_err());
    }

    #[test]
    fn trigger_schema_must_be_a_valid_schema() {
        let e = parse(with(minimal(), &["triggerSchema"], json!({"type": "beer"}))).unwrap_err();
        assert_eq!(e.field, "triggerSchema");
    }

    #[test]
    fn schedule_errors_name_the_entry() {
        let e = parse(with(minimal(), &["schedule"], json!(["0 0 * * * *", "0 0 3 0 * *"]))).unwrap_err();
        assert_eq!(e.field, "schedule[1]");
        assert!(e.problem.contains("0 0 3 0 * *"), "{e}");
        let e = parse(with(minimal(), &["schedule"], json!(["0 0 * * * *", "0 0 * * * *"]))).unwrap_err();
        assert_eq!(e.field, "schedule[1]");
        assert!(e.problem.contains("repeats schedule[0]"), "{e}");
    }

    #[test]
    fn nul_anywhere_stored_is_refused_with_its_path() {
        let cases = [
            (with(minimal(), &["metadata", "name"], json!("a\u{0}")), "metadata.name"),
            (with(minimal(), &["task", "payload"], json!({"env": {"FOO": "\u{0}"}})), "task.payload.env.FOO"),
            (
                with(minimal(), &["triggerSchema"], json!({"type": "object", "properties": {"a\u{0}": {}}})),
                "triggerSchema.properties",
            ),
            (
                with(minimal(), &["bindings"], json!([{"exchange": "e\u{0}", "routingKeyPattern": "#"}])),
                "bindings[0].exchange",
            ),
        ];
        for (value, field) in cases {
            let e = parse(value).unwrap_err();
            assert_eq!(e.field, field);
            assert!(e.problem.contains("U+0000"), "{e}");
        }
    }

    #[test]
    fn oversize_definitions_are_refused_naming_the_largest_part() {
        let big = "x".repeat(MAX_DEFINITION_BYTES);
        let e = parse(with(minimal(), &["task", "payload"], json!(big))).unwrap_err();
        assert_eq!(e.field, "task");
        assert!(e.problem.contains(&MAX_DEFINITION_BYTES.to_string()), "{e}");
        let e = parse(with(minimal(), &["triggerSchema"], json!({"description": big}))).unwrap_err();
        assert_eq!(e.field, "triggerSchema");
        let fits = "x".repeat(MAX_DEFINITION_BYTES - 1024);
        assert!(parse(with(minimal(), &["task", "payload"], json!(fits))).is_ok());
    }

    #[test]
    fn deeply_nested_expressions_are_refused_with_their_path() {
        let deep = format!("${{{}}}", "(".repeat(crate::template_limits::MAX_EXPRESSION_NESTING + 1));
        let e = parse(with(minimal(), &["task", "payload"], json!({"env": {"X": deep}}))).unwrap_err();
        assert_eq!(e.field, "task.payload.env.X");
        let limit = crate::template_limits::MAX_EXPRESSION_NESTING;
        assert!(e.problem.contains(&format!("at most {limit}")), "{e}");
    }

    #[test]
    fn the_examples_in_the_repository_are_accepted() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let mut value = value;
                if let Some(o) = value.as_object_mut() {
                    o.remove("hookGroupId");
                    o.remove("hookId");
                }
                parse(value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 2);
    }

    #[test]
    fn task_must_be_an_object() {
        assert!(serde_json::from_value::<HookInput>(with(minimal(), &["task"], json!("x"))).is_err());
    }
}
