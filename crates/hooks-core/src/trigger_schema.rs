//! A hook's `triggerSchema`: a draft-07 JSON schema that payloads (API calls, webhooks, Pulse messages) must match.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

use crate::ValidationError;
use crate::ajv::{AjvError, ajv_errors};

/// The largest payload that fires a hook, whatever brings it (an API body, once decoded, as upstream's 10 MB body
/// limit; a Pulse message): parsing one costs several times its size in memory.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// The schema a hook gets when it gives none: only an empty object is accepted.
pub(crate) fn default_trigger_schema() -> Value {
    json!({"type": "object", "additionalProperties": false})
}

// Ajv 8, which the service we replace uses, accepts only draft-07 (or no `$schema`); so do we.
const DRAFT7_URIS: [&str; 2] = ["http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-07/schema"];

/// Compiled validators by the schema's JSON text.
///
/// Every load of a hook (each trigger call, each `hook()`) parses its schema again, and meta-validation plus
/// compilation cost far more than serializing the schema for the lookup. Keyed by content, an updated schema is
/// simply another key, so nothing needs invalidating, and hooks with the same schema (most keep the default) share
/// one entry. Only schemas that passed every check are stored, so a hit needs no further check.
static COMPILED: LazyLock<Mutex<HashMap<String, Arc<Validator>>>> = LazyLock::new(Mutex::default);

/// Entries kept before the cache is emptied and refills with the schemas in use; bounds its memory.
const COMPILED_CAPACITY: usize = 256;

fn cached_validator(key: &str) -> Option<Arc<Validator>> {
    COMPILED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key).cloned()
}

fn remember_validator(key: String, validator: Arc<Validator>) {
    let mut compiled = COMPILED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if compiled.len() >= COMPILED_CAPACITY {
        compiled.clear();
    }
    compiled.insert(key, validator);
}

/// A compiled, valid trigger schema. Cloning is cheap: the compiled validator is shared.
#[derive(Clone)]
pub struct TriggerSchema {
    source: Arc<Value>,
    validator: Arc<Validator>,
}

impl std::fmt::Debug for TriggerSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TriggerSchema").field(&self.source).finish()
    }
}

impl PartialEq for TriggerSchema {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Default for TriggerSchema {
    fn default() -> Self {
        // The default schema is a literal known to compile; fall back to accepting nothing rather than panic.
        Self::parse(default_trigger_schema())
            .unwrap_or_else(|_| Self { source: Arc::new(default_trigger_schema()), validator: Arc::new(never_valid()) })
    }
}

#[expect(clippy::expect_used, reason = "`false` is a valid schema in every draft")]
fn never_valid() -> Validator {
    jsonschema::draft7::new(&json!(false)).expect("`false` compiles")
}

/// Why a payload does not match a trigger schema: Ajv's errors, shown as upstream shows them
/// (`ajv.errorsText(errors, {separator: '; '})`: `data/location must be string; data/n must be >= 0`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", crate::ajv::errors_text(.problems, "; "))]
pub struct PayloadError {
    /// Each problem, worded as Ajv 8 words it.
    pub problems: Vec<AjvError>,
    /// Each problem without what the payload holds (messages may quote it): where, and which part of the schema
    /// refused it, as `payload/n: refused by the triggerSchema's #/properties/n/minimum`. What logs and the fire
    /// log keep.
    pub locations: Vec<String>,
}

impl TriggerSchema {
    /// Checks that `schema` is a valid draft-07 JSON schema and compiles it.
    pub fn parse(schema: Value) -> Result<Self, ValidationError> {
        let field = "triggerSchema";
        if !schema.is_object() {
            return Err(ValidationError::new(field, "must be a JSON object (a JSON schema)"));
        }
        if let Some(declared) = schema.get("$schema")
            && !declared.as_str().is_some_and(|d| DRAFT7_URIS.contains(&d))
        {
            return Err(ValidationError::new(
                field,
                format!(
                    "$schema {declared} is not supported: write draft-07 ({}) or leave $schema out",
                    DRAFT7_URIS[0]
                ),
            ));
        }
        let key = schema.to_string();
        if let Some(validator) = cached_validator(&key) {
            return Ok(Self { source: Arc::new(schema), validator });
        }
        // Worded as upstream's createHook words them (a line per Ajv error), with the path Ajv 8 left `undefined`.
        // The meta-schema itself isn't at hand, which only costs the wording its rarer refinements.
        let meta_problems =
            ajv_errors(&Value::Null, &schema, jsonschema::draft7::meta::validator().iter_errors(&schema));
        if !meta_problems.is_empty() {
            let lines: Vec<String> = meta_problems.iter().map(|e| format!(" * Property {e}")).collect();
            return Err(ValidationError::new(field, format!("is not a valid JSON schema:\n{}", lines.join("\n"))));
        }
        let validator = jsonschema::options()
            .with_draft(Draft::Draft7)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| ValidationError::new(field, format!("cannot be compiled: {e}")))?;
        let validator = Arc::new(validator);
        remember_validator(key, validator.clone());
        Ok(Self { source: Arc::new(schema), validator })
    }

    /// The schema as given.
    pub fn as_value(&self) -> &Value {
        &self.source
    }

    /// Checks a payload against the schema. Defaults declared in the schema are not applied, as upstream.
    pub fn validate(&self, payload: &Value) -> Result<(), PayloadError> {
        if self.validator.is_valid(payload) {
            return Ok(());
        }
        let errors: Vec<_> = self.validator.iter_errors(payload).collect();
        let locations = errors
            .iter()
            .map(|e| format!("payload{}: refused by the triggerSchema's #{}", e.instance_path(), e.schema_path()))
            .collect();
        let problems = ajv_errors(&self.source, payload, errors);
        Err(PayloadError { problems, locations })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schema_accepts_only_an_empty_object() {
        let s = TriggerSchema::default();
        assert!(s.validate(&json!({})).is_ok());
        let e = s.validate(&json!({"x": 1, "y": 2})).unwrap_err();
        assert_eq!(e.to_string(), "data must NOT have additional properties; data must NOT have additional properties");
        assert!(s.validate(&json!([])).is_err());
    }

    #[test]
    fn payload_errors_name_the_path() {
        let s = TriggerSchema::parse(json!({
            "type": "object",
            "properties": {"action": {"enum": ["opened"]}, "n": {"type": "integer", "minimum": 0}},
        }))
        .unwrap();
        assert!(s.validate(&json!({"action": "opened"})).is_ok());
        let e = s.validate(&json!({"action": "closed", "n": -1})).unwrap_err();
        assert_eq!(e.problems.len(), 2, "{e}");
        assert_eq!(e.to_string(), "data/action must be equal to one of the allowed values; data/n must be >= 0");
    }

    #[test]
    fn invalid_schemas_are_refused_with_where_and_why() {
        let e =
            TriggerSchema::parse(json!({"type": "beer", "properties": {"location": {"type": "fruit"}}})).unwrap_err();
        assert_eq!(e.field, "triggerSchema");
        // Upstream's lines for this schema, each with its path.
        assert_eq!(
            e.problem,
            "is not a valid JSON schema:\n \
             * Property data/properties/location/type must be equal to one of the allowed values\n \
             * Property data/properties/location/type must be array\n \
             * Property data/properties/location/type must match a schema in anyOf\n \
             * Property data/type must be equal to one of the allowed values\n \
             * Property data/type must be array\n \
             * Property data/type must match a schema in anyOf",
            "{e}"
        );
        assert!(TriggerSchema::parse(json!("string")).is_err());
    }

    #[test]
    fn other_drafts_are_refused_and_draft07_accepted() {
        let e = TriggerSchema::parse(json!({"$schema": "http://json-schema.org/draft-04/schema#"})).unwrap_err();
        assert!(e.problem.contains("draft-07"), "{e}");
        assert!(
            TriggerSchema::parse(json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}))
                .is_ok()
        );
    }

    #[test]
    fn remote_refs_are_never_fetched() {
        let e = TriggerSchema::parse(json!({"$ref": "http://127.0.0.1:9/evil.json"})).unwrap_err();
        assert!(e.problem.contains("cannot be compiled"), "{e}");
    }

    #[test]
    fn a_schema_parsed_again_shares_its_validator_and_a_changed_one_does_not() {
        let schema = json!({"type": "object", "properties": {"cache-test": {"type": "string"}}});
        let first = TriggerSchema::parse(schema.clone()).unwrap();
        let again = TriggerSchema::parse(schema).unwrap();
        assert!(Arc::ptr_eq(&first.validator, &again.validator));
        let changed =
            TriggerSchema::parse(json!({"type": "object", "properties": {"cache-test": {"type": "integer"}}})).unwrap();
        assert!(!Arc::ptr_eq(&first.validator, &changed.validator));
        assert!(changed.validate(&json!({"cache-test": 1})).is_ok());
        assert!(again.validate(&json!({"cache-test": 1})).is_err());
    }

    #[test]
    fn an_invalid_schema_is_refused_every_time() {
        let bad = json!({"type": "object", "properties": {"cache-test": {"type": "fruit"}}});
        assert!(TriggerSchema::parse(bad.clone()).is_err());
        assert!(TriggerSchema::parse(bad).is_err());
    }

    #[test]
    fn formats_are_asserted() {
        let s =
            TriggerSchema::parse(json!({"type": "object", "properties": {"when": {"format": "date-time"}}})).unwrap();
        assert!(s.validate(&json!({"when": "2026-01-01T00:00:00Z"})).is_ok());
        assert!(s.validate(&json!({"when": "yesterday"})).is_err());
    }
}
