use serde_json::{Value, json};

use super::*;

/// What `ajv.errorsText(errors, {separator: '; '})` gives for `instance` against `schema`, by our reckoning.
fn text(schema: Value, instance: Value) -> String {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    errors_text(&ajv_errors(&schema, &instance, validator.iter_errors(&instance)), "; ")
}

#[test]
fn types_name_the_path_from_data() {
    let schema = json!({"type": "object", "properties": {"location": {"type": "string"}, "n": {"type": "number"}}});
    assert_eq!(text(schema, json!({"location": 5, "n": "x"})), "data/location must be string; data/n must be number");
    assert_eq!(text(json!({"type": "object"}), json!([])), "data must be object");
    assert_eq!(text(json!({"type": ["string", "null"]}), json!(1)), "data must be string,null");
    assert_eq!(text(json!({"items": {"type": "integer"}}), json!([1, 1.5])), "data/1 must be integer");
}

#[test]
fn each_additional_property_is_its_own_error() {
    let closed = json!({"type": "object", "additionalProperties": false});
    assert_eq!(text(closed.clone(), json!({})), "No errors");
    assert_eq!(
        text(closed, json!({"x": 1, "y": 2})),
        "data must NOT have additional properties; data must NOT have additional properties"
    );
    let declared = json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false});
    assert_eq!(text(declared, json!({"a": 1, "b": 2})), "data must NOT have additional properties");
}

#[test]
fn request_validation_names_the_refused_property() {
    let schema = json!({"properties": {"a": {}}, "additionalProperties": false});
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let body = json!({"a": 1, "foo": 2});
    let errors: Vec<AjvError> = ajv_errors(&schema, &body, validator.iter_errors(&body))
        .into_iter()
        .map(AjvError::naming_additional_property)
        .collect();
    assert_eq!(errors_text(&errors, "\n  * "), r#"data must NOT have additional properties: "foo""#);
}

#[test]
fn required_properties_are_quoted_at_their_object() {
    let schema = json!({"properties": {"metadata": {"required": ["owner", "name"]}}});
    assert_eq!(
        text(schema, json!({"metadata": {}})),
        "data/metadata must have required property 'owner'; data/metadata must have required property 'name'"
    );
}

#[test]
fn string_number_and_array_limits_read_as_ajv() {
    assert_eq!(text(json!({"minLength": 1}), json!("")), "data must NOT have fewer than 1 characters");
    assert_eq!(text(json!({"maxLength": 2}), json!("abc")), "data must NOT have more than 2 characters");
    assert_eq!(text(json!({"pattern": "^a+$"}), json!("b")), r#"data must match pattern "^a+$""#);
    assert_eq!(text(json!({"format": "date-time"}), json!("yesterday")), r#"data must match format "date-time""#);
    assert_eq!(text(json!({"minimum": 0}), json!(-1)), "data must be >= 0");
    assert_eq!(text(json!({"maximum": 10.0}), json!(11)), "data must be <= 10");
    assert_eq!(text(json!({"exclusiveMinimum": 1.5}), json!(1)), "data must be > 1.5");
    assert_eq!(text(json!({"exclusiveMaximum": 3}), json!(3)), "data must be < 3");
    assert_eq!(text(json!({"multipleOf": 2}), json!(3)), "data must be multiple of 2");
    assert_eq!(text(json!({"maxItems": 1}), json!([1, 2])), "data must NOT have more than 1 items");
    assert_eq!(text(json!({"minItems": 3}), json!([1, 2])), "data must NOT have fewer than 3 items");
    assert_eq!(text(json!({"maxProperties": 1}), json!({"a": 1, "b": 2})), "data must NOT have more than 1 properties");
    assert_eq!(
        text(json!({"items": [{}], "additionalItems": false}), json!([1, 2])),
        "data must NOT have more than 1 items"
    );
}

#[test]
fn values_and_combinators_read_as_ajv() {
    assert_eq!(text(json!({"enum": ["opened"]}), json!("closed")), "data must be equal to one of the allowed values");
    assert_eq!(text(json!({"const": 1}), json!(2)), "data must be equal to constant");
    assert_eq!(text(json!({"not": {"type": "string"}}), json!("s")), "data must NOT be valid");
    assert_eq!(text(json!({"contains": {"type": "string"}}), json!([1])), "data must contain at least 1 valid item(s)");
    assert_eq!(
        text(json!({"anyOf": [{"type": "string"}, {"type": "array"}]}), json!(1)),
        "data must be string; data must be array; data must match a schema in anyOf"
    );
    assert_eq!(
        text(json!({"oneOf": [{"type": "string"}, {"maxLength": 5}]}), json!("abc")),
        "data must match exactly one schema in oneOf"
    );
    assert_eq!(text(json!({"properties": {"x": false}}), json!({"x": 1})), "data/x boolean schema is false");
    assert_eq!(
        text(json!({"dependencies": {"a": ["b"]}}), json!({"a": 1})),
        "data must have property b when property a is present"
    );
}

#[test]
fn duplicate_items_are_the_pair_ajv_finds() {
    // Scalar item types: Ajv's map from the end finds the later index first.
    assert_eq!(
        text(json!({"items": {"type": "string"}, "uniqueItems": true}), json!(["a", "b", "a"])),
        "data must NOT have duplicate items (items ## 2 and 0 are identical)"
    );
    // Otherwise pairwise from the end: the earlier index first.
    assert_eq!(
        text(json!({"uniqueItems": true}), json!([{"a": 1}, 2, {"a": 1}])),
        "data must NOT have duplicate items (items ## 0 and 2 are identical)"
    );
}

#[test]
fn pointer_segments_are_escaped_as_ajv_escapes_them() {
    let schema = json!({"properties": {"a/b": {"type": "string"}, "c~d": {"type": "string"}}});
    assert_eq!(text(schema, json!({"a/b": 1, "c~d": 2})), "data/a~1b must be string; data/c~0d must be string");
}
