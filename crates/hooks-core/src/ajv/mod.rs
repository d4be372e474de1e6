//! JSON-schema validation errors worded as Ajv 8 words them.
//!
//! The service we replace validates request bodies and trigger payloads with Ajv 8 (`allErrors: true`) and sends
//! `ajv.errorsText(...)` back: `data/location must be string; data must NOT have additional properties`. Clients
//! and users compare these texts, so the `jsonschema` crate's errors are reworded here, one Ajv error per problem:
//! `data` + the JSON pointer of the value (Ajv's `instancePath`) + Ajv's message for the keyword that refused it.

use std::fmt;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

#[cfg(test)]
mod tests;

/// One validation problem as Ajv 8 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AjvError {
    /// Where, as a JSON pointer into the validated value (`/metadata/owner`; empty for the value itself): Ajv's
    /// `instancePath`.
    pub instance_path: String,
    /// Ajv's message (`must be string`).
    pub message: String,
    /// The property `additionalProperties` refused (Ajv's `params.additionalProperty`), which Taskcluster's request
    /// validation appends to the message.
    pub additional_property: Option<String>,
}

impl AjvError {
    fn new(instance_path: &str, message: impl Into<String>) -> Self {
        Self { instance_path: instance_path.to_owned(), message: message.into(), additional_property: None }
    }

    /// The message with the refused property appended, as Taskcluster's lib-validate words request-body errors:
    /// `must NOT have additional properties: "foo"`.
    pub fn naming_additional_property(mut self) -> Self {
        if let Some(property) = &self.additional_property {
            self.message = format!("{}: {}", self.message, Value::String(property.clone()));
        }
        self
    }
}

/// As `ajv.errorsText` writes one error: `data<instancePath> <message>`.
impl fmt::Display for AjvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "data{} {}", self.instance_path, self.message)
    }
}

/// `ajv.errorsText(errors, {separator})`: the errors joined by `separator` (`"No errors"` when there are none).
pub fn errors_text(errors: &[AjvError], separator: &str) -> String {
    if errors.is_empty() {
        return "No errors".to_owned();
    }
    errors.iter().map(AjvError::to_string).collect::<Vec<_>>().join(separator)
}

/// Rewords the errors of validating `instance` against `schema` (both whole: Ajv's wording depends on parts the
/// crate's errors don't carry), in the validator's order.
pub fn ajv_errors<'i>(
    schema: &Value,
    instance: &Value,
    errors: impl IntoIterator<Item = jsonschema::ValidationError<'i>>,
) -> Vec<AjvError> {
    let mut out = Vec::new();
    for e in errors {
        push(&mut out, (schema, instance), &e);
    }
    out
}

/// Appends the Ajv errors `e` stands for (several for one `additionalProperties` refusal, the branches' errors
/// before an `anyOf`'s or `oneOf`'s own, as Ajv lists them).
fn push(out: &mut Vec<AjvError>, whole: (&Value, &Value), e: &jsonschema::ValidationError<'_>) {
    let (schema, instance) = whole;
    let at = e.instance_path().to_string();
    let schema_path = e.schema_path().to_string();
    let message = match e.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            out.extend(unexpected.iter().map(|p| additional_property(&at, p)));
            return;
        }
        // `additionalProperties: false` without `properties` or `patternProperties` refuses every property; the
        // crate reports it once, as a false schema (on the first property's value), where Ajv reports each
        // property.
        ValidationErrorKind::FalseSchema if schema_path.ends_with("/additionalProperties") => {
            if let Some(object) = instance.pointer(&at).and_then(Value::as_object) {
                out.extend(object.keys().map(|p| additional_property(&at, p)));
                return;
            }
            "must NOT have additional properties".to_owned()
        }
        ValidationErrorKind::FalseSchema => "boolean schema is false".to_owned(),
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            for branch in context {
                for inner in branch {
                    push(out, whole, inner);
                }
            }
            branch_message(e.kind())
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => branch_message(e.kind()),
        ValidationErrorKind::PropertyNames { error } => {
            // Ajv reports the name's own problem at the object, then that a name failed.
            let mut inner = Vec::new();
            push(&mut inner, whole, error);
            out.extend(inner.into_iter().map(|i| AjvError { instance_path: at.clone(), ..i }));
            "property name must be valid".to_owned()
        }
        ValidationErrorKind::Type { kind } => format!("must be {}", type_names(schema, &schema_path, kind)),
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_owned);
            match dependent_of(schema, &schema_path, e.instance(), &name) {
                Some(trigger) => format!("must have property {name} when property {trigger} is present"),
                None => format!("must have required property '{name}'"),
            }
        }
        ValidationErrorKind::Enum { .. } => "must be equal to one of the allowed values".to_owned(),
        ValidationErrorKind::Constant { .. } => "must be equal to constant".to_owned(),
        ValidationErrorKind::Pattern { pattern } => format!("must match pattern \"{pattern}\""),
        ValidationErrorKind::Format { format } => format!("must match format \"{format}\""),
        ValidationErrorKind::MaxLength { limit } => format!("must NOT have more than {limit} characters"),
        ValidationErrorKind::MinLength { limit } => format!("must NOT have fewer than {limit} characters"),
        ValidationErrorKind::MaxItems { limit } => format!("must NOT have more than {limit} items"),
        ValidationErrorKind::MinItems { limit } => format!("must NOT have fewer than {limit} items"),
        ValidationErrorKind::AdditionalItems { limit } => format!("must NOT have more than {limit} items"),
        ValidationErrorKind::MaxProperties { limit } => format!("must NOT have more than {limit} properties"),
        ValidationErrorKind::MinProperties { limit } => format!("must NOT have fewer than {limit} properties"),
        ValidationErrorKind::Maximum { limit } => format!("must be <= {}", js_number(limit)),
        ValidationErrorKind::Minimum { limit } => format!("must be >= {}", js_number(limit)),
        ValidationErrorKind::ExclusiveMaximum { limit } => format!("must be < {}", js_number(limit)),
        ValidationErrorKind::ExclusiveMinimum { limit } => format!("must be > {}", js_number(limit)),
        ValidationErrorKind::MultipleOf { multiple_of } => {
            format!("must be multiple of {}", js_number(&Value::from(*multiple_of)))
        }
        ValidationErrorKind::UniqueItems => unique_items_message(schema, &schema_path, e.instance()),
        ValidationErrorKind::Contains => "must contain at least 1 valid item(s)".to_owned(),
        ValidationErrorKind::Not { .. } => "must NOT be valid".to_owned(),
        // Nothing in draft-07 as Ajv runs it: the crate's own words.
        _ => e.to_string(),
    };
    out.push(AjvError::new(&at, message));
}

fn additional_property(at: &str, property: &str) -> AjvError {
    AjvError {
        additional_property: Some(property.to_owned()),
        ..AjvError::new(at, "must NOT have additional properties")
    }
}

fn branch_message(kind: &ValidationErrorKind) -> String {
    match kind {
        ValidationErrorKind::AnyOf { .. } => "must match a schema in anyOf",
        _ => "must match exactly one schema in oneOf",
    }
    .to_owned()
}

/// The types a `type` keyword names, joined by `,` in the schema's order as Ajv prints them (`string,null`).
fn type_names(schema: &Value, schema_path: &str, kind: &TypeKind) -> String {
    // The schema's own list keeps its order; behind a `$ref` the path doesn't lead there, so the crate's set does.
    if let Some(Value::Array(names)) = schema.pointer(schema_path) {
        let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        if !names.is_empty() {
            return names.join(",");
        }
    }
    match kind {
        TypeKind::Single(t) => t.to_string(),
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(","),
    }
}

/// For a property missing because of draft-07's `dependencies` (the crate reports it as `required` at
/// `.../dependencies`), the present property that needs it.
fn dependent_of(schema: &Value, schema_path: &str, instance: &Value, missing: &str) -> Option<String> {
    if !schema_path.ends_with("/dependencies") {
        return None;
    }
    let dependencies = schema.pointer(schema_path)?.as_object()?;
    let object = instance.as_object()?;
    dependencies
        .iter()
        .find(|(trigger, needs)| {
            object.contains_key(*trigger)
                && needs.as_array().is_some_and(|n| n.iter().any(|p| p.as_str() == Some(missing)))
        })
        .map(|(trigger, _)| trigger.clone())
}

/// `must NOT have duplicate items (items ## <j> and <i> are identical)`, with the pair Ajv's loop finds first.
fn unique_items_message(schema: &Value, schema_path: &str, instance: &Value) -> String {
    let Some(items) = instance.as_array() else {
        return "must NOT have duplicate items".to_owned();
    };
    let item_types = schema_path
        .strip_suffix("/uniqueItems")
        .and_then(|parent| schema.pointer(&format!("{parent}/items/type")))
        .map(|t| match t {
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
            other => other.as_str().into_iter().collect(),
        })
        .unwrap_or_default();
    // Ajv compares scalar items (items declared of scalar types) through a map from the last index down, else
    // pairwise from the last index down; the two report a pair in different orders.
    let scalar = !item_types.is_empty() && !item_types.iter().any(|t| *t == "object" || *t == "array");
    let pair = if scalar {
        let mut seen: Vec<(&Value, usize)> = Vec::new();
        let mut found = None;
        for i in (0..items.len()).rev() {
            if let Some((_, j)) = seen.iter().find(|(v, _)| *v == &items[i]) {
                found = Some((*j, i));
                break;
            }
            seen.retain(|(v, _)| *v != &items[i]);
            seen.push((&items[i], i));
        }
        found
    } else {
        (0..items.len()).rev().find_map(|i| (0..i).rev().find(|&j| items[i] == items[j]).map(|j| (j, i)))
    };
    match pair {
        Some((first, second)) => format!("must NOT have duplicate items (items ## {first} and {second} are identical)"),
        None => "must NOT have duplicate items".to_owned(),
    }
}

/// A number as JavaScript prints it: integral floats without a fraction (`10`, not `10.0`).
fn js_number(value: &Value) -> String {
    match value.as_f64() {
        Some(f) if !value.is_i64() && !value.is_u64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        _ => value.to_string(),
    }
}
