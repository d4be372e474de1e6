//! The project's JSON schemas (`schemas/v1/` of the workspace), embedded in the binary: served at
//! `/schemas/hooks/v1/<name>.json`, and compiled once at start-up to validate request bodies the way upstream does,
//! with the same `InputValidationError` message.

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

/// Where the schemas are served, and the prefix of their `$id`s.
pub const PATH_PREFIX: &str = "/schemas/hooks/v1/";

macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../../schemas/v1/", $name, ".json")))),*]
    };
}

/// Every schema, by name (the file name without `.json`), with its text as written.
pub const SCHEMAS: [(&str, &str); 13] = embed![
    "bindings",
    "create-hook-request",
    "hook-definition",
    "hook-metadata",
    "hook-status",
    "list-hook-groups-response",
    "list-hooks-response",
    "list-lastFires-response",
    "pulse-hook-changed-message",
    "schedule",
    "trigger-hook",
    "trigger-hook-response",
    "trigger-token-response",
];

/// The text of the schema `name` (without `.json`), if there is one.
pub fn find(name: &str) -> Option<&'static str> {
    SCHEMAS.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

// jsonschema resolves our relative `$id`s (`/schemas/hooks/v1/x.json#`) against this base; registering every schema
// under its resolved URI lets the `$ref`s between them resolve without fetching anything.
const BASE: &str = "json-schema://";

/// Why the embedded schemas could not be compiled: a bug in a schema file, reported at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A file is not JSON.
    #[error("schemas/v1/{name}.json is not JSON: {source}")]
    Json {
        /// The schema's name.
        name: &'static str,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The `$ref`s between the schemas cannot be set up.
    #[error("registering the schemas for $ref: {0}")]
    Registry(#[from] jsonschema::ReferencingError),
    /// A schema does not compile.
    #[error("schemas/v1/{name}.json does not compile: {problem}")]
    Compile {
        /// The schema's name.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// A request body's schema, compiled.
pub struct InputSchema {
    id: String,
    source: Value,
    validator: Validator,
}

impl InputSchema {
    /// Checks `body`; on failure, the message of upstream's `InputValidationError`: Ajv's errors, one line each,
    /// a refused additional property named as Taskcluster's lib-validate names it
    /// (`data/metadata must have required property 'owner'`, `data must NOT have additional properties: "foo"`).
    pub fn validate(&self, body: &Value) -> Result<(), String> {
        if self.validator.is_valid(body) {
            return Ok(());
        }
        let errors: Vec<hooks_core::AjvError> =
            hooks_core::ajv_errors(&self.source, body, self.validator.iter_errors(body))
                .into_iter()
                .map(hooks_core::AjvError::naming_additional_property)
                .collect();
        Err(format!(
            "\nSchema Validation Failed!\nRejecting Schema: {}\nErrors:\n  * {}",
            self.id,
            hooks_core::errors_text(&errors, "\n  * ")
        ))
    }
}

/// The input schemas of the API's endpoints, compiled once at start-up.
pub struct InputSchemas {
    /// The body of createHook and updateHook.
    pub create_hook_request: InputSchema,
    /// The body of triggerHook and triggerHookWithToken.
    pub trigger_hook: InputSchema,
}

impl InputSchemas {
    /// Compiles the input schemas, resolving their `$ref`s among the embedded schemas only (never fetching).
    pub fn compile() -> Result<Self, SchemaError> {
        let parsed = parse_all()?;
        let registry = Registry::new()
            .draft(Draft::Draft7)
            .extend(parsed.iter().map(|(name, value)| (resolved_uri(name), value)))?
            .prepare()?;
        let compile = |name: &'static str| -> Result<InputSchema, SchemaError> {
            let source = parsed
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .ok_or(SchemaError::Compile { name, problem: "it is not embedded".to_owned() })?;
            let validator = jsonschema::options()
                .with_draft(Draft::Draft7)
                .with_registry(&registry)
                .offline()
                .should_validate_formats(true)
                // Exactly the address format upstream applies to metadata.owner, which the model checks too.
                .with_format("email", hooks_core::is_email)
                .build(&source)
                .map_err(|e| SchemaError::Compile { name, problem: e.to_string() })?;
            Ok(InputSchema { id: format!("{PATH_PREFIX}{name}.json#"), source, validator })
        };
        Ok(Self { create_hook_request: compile("create-hook-request")?, trigger_hook: compile("trigger-hook")? })
    }
}

fn parse_all() -> Result<Vec<(&'static str, Value)>, SchemaError> {
    SCHEMAS
        .iter()
        .map(|(name, text)| {
            serde_json::from_str(text).map(|v| (*name, v)).map_err(|source| SchemaError::Json { name, source })
        })
        .collect()
}

fn resolved_uri(name: &str) -> String {
    format!("{BASE}{PATH_PREFIX}{name}.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn schemas_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/v1")
    }

    #[test]
    fn every_file_is_embedded_and_equal_to_its_file() {
        let mut on_disk: Vec<String> = std::fs::read_dir(schemas_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".json"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = SCHEMAS.iter().map(|(n, _)| format!("{n}.json")).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
        for (name, text) in SCHEMAS {
            assert_eq!(std::fs::read_to_string(schemas_dir().join(format!("{name}.json"))).unwrap(), text, "{name}");
            assert_eq!(find(name), Some(text));
        }
        assert_eq!(find("nope"), None);
    }

    #[test]
    fn every_schema_is_valid_draft07_with_its_own_id() {
        for (name, value) in parse_all().unwrap() {
            let problems: Vec<String> =
                jsonschema::draft7::meta::validator().iter_errors(&value).map(|e| e.to_string()).collect();
            assert!(problems.is_empty(), "{name}: {problems:?}");
            assert_eq!(value["$schema"], "http://json-schema.org/draft-07/schema#", "{name}");
            assert_eq!(value["$id"], format!("/schemas/hooks/v1/{name}.json#"), "{name}");
        }
    }

    #[test]
    fn every_schema_compiles_with_its_refs_resolved_offline() {
        let parsed = parse_all().unwrap();
        let registry = Registry::new()
            .draft(Draft::Draft7)
            .extend(parsed.iter().map(|(name, value)| (resolved_uri(name), value)))
            .unwrap()
            .prepare()
            .unwrap();
        for (name, value) in &parsed {
            jsonschema::options()
                .with_draft(Draft::Draft7)
                .with_registry(&registry)
                .offline()
                .build(value)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn every_example_hook_validates() {
        let schemas = InputSchemas::compile().unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                schemas.create_hook_request.validate(&body).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen > 0, "no examples found");
    }

    #[test]
    fn refs_are_followed_and_errors_name_their_path() {
        let schemas = InputSchemas::compile().unwrap();
        let body = json!({
            "metadata": {"name": "n", "description": "d", "owner": "not-an-address"},
            "bindings": [{"exchange": "", "routingKeyPattern": "#"}],
            "task": {},
        });
        let message = schemas.create_hook_request.validate(&body).unwrap_err();
        assert!(message.starts_with(
            "\nSchema Validation Failed!\nRejecting Schema: /schemas/hooks/v1/create-hook-request.json#\nErrors:\n  * "
        ));
        assert!(message.contains("* data/metadata/owner must match format \"email\""), "{message}");
        assert!(message.contains("* data/bindings/0/exchange must NOT have fewer than 1 characters"), "{message}");
    }

    #[test]
    fn trigger_payloads_must_be_objects() {
        let schemas = InputSchemas::compile().unwrap();
        assert!(schemas.trigger_hook.validate(&json!({"any": ["thing"]})).is_ok());
        let message = schemas.trigger_hook.validate(&json!([])).unwrap_err();
        assert!(message.contains("Rejecting Schema: /schemas/hooks/v1/trigger-hook.json#"), "{message}");
        assert!(message.ends_with("Errors:\n  * data must be object"), "{message}");
    }
}
