//! The syntax every field shares: a comma-separated list of values, ranges and steps, with month and weekday
//! names. `L` and `#`, which only day-of-month and day-of-week allow, are left to `parse`.

use std::collections::BTreeSet;

use super::error::{CronError, FieldProblem};
use super::field::CronField;

/// Turns names into numbers and `?` into `*`, and checks the field's characters.
pub(super) fn normalize(field: CronField, text: &str) -> Result<String, CronError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_alphabetic() {
            let word_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
            out.push_str(&replace_word(field, text, &rest[..word_len])?);
            rest = &rest[word_len..];
            continue;
        }
        if !allows_symbol(field, c) {
            return Err(FieldProblem::InvalidCharacters.in_field(field, text));
        }
        out.push(if c == '?' { '*' } else { c });
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

fn allows_symbol(field: CronField, c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '?' | ',' | '-' | '/') || (c == '#' && field == CronField::DayOfWeek)
}

/// Resolves one run of letters in a field: a name, `L`, or an error naming what is wrong.
///
/// Names are case-insensitive but `L` must be uppercase, both as in cron-parser.
fn replace_word(field: CronField, text: &str, word: &str) -> Result<String, CronError> {
    let upper = word.to_ascii_uppercase();
    if let Some(index) = field.names().iter().position(|name| *name == upper) {
        let (min, _) = field.bounds();
        return Ok((usize::from(min) + index).to_string());
    }
    let last_allowed = matches!(field, CronField::DayOfMonth | CronField::DayOfWeek);
    match upper.as_str() {
        "L" if last_allowed && word == "L" => Ok(upper),
        _ if field == CronField::DayOfMonth && upper.contains('W') => {
            Err(CronError::NearestWeekday { value: text.to_owned() })
        }
        "H" => Err(FieldProblem::Hashed.in_field(field, text)),
        _ if upper.len() == 3 && !field.names().is_empty() => {
            Err(CronError::UnknownName { field, name: word.to_owned() })
        }
        _ => Err(FieldProblem::InvalidCharacters.in_field(field, text)),
    }
}

/// Parses a field made of values, ranges and steps only (every field's core syntax).
pub(super) fn parse_plain(field: CronField, text: &str) -> Result<BTreeSet<u8>, CronError> {
    let normalized = normalize(field, text)?;
    let mut seen = BTreeSet::new();
    for entry in list_entries(field, text, &normalized)? {
        if entry.contains('L') || entry.contains('#') {
            return Err(FieldProblem::InvalidCharacters.in_field(field, text));
        }
        insert_distinct(field, &mut seen, expand_entry(field, entry)?)?;
    }
    Ok(seen)
}

/// Splits a normalized field at commas, rejecting empty entries as cron-parser does.
pub(super) fn list_entries<'a>(field: CronField, text: &str, normalized: &'a str) -> Result<Vec<&'a str>, CronError> {
    let entries: Vec<&str> = normalized.split(',').collect();
    if entries.iter().any(|e| e.is_empty()) {
        return Err(FieldProblem::EmptyListEntry.in_field(field, text));
    }
    Ok(entries)
}

/// Adds one list entry's values to the field's set, rejecting any value already present.
pub(super) fn insert_distinct(
    field: CronField,
    seen: &mut BTreeSet<u8>,
    values: BTreeSet<u8>,
) -> Result<(), CronError> {
    if let Some(&repeated) = seen.intersection(&values).next() {
        return Err(FieldProblem::Duplicate.in_field(field, &field.describe(repeated)));
    }
    seen.extend(values);
    Ok(())
}

/// Expands `*`, a value or a range, each with an optional `/step`, into its values.
///
/// A start with a step and no end (`5/15`) runs to the field's maximum, as in cron-parser.
/// Weekdays come back as 0-6.
pub(super) fn expand_entry(field: CronField, entry: &str) -> Result<BTreeSet<u8>, CronError> {
    let (base, step) = match entry.split_once('/') {
        Some(("", _)) => return Err(FieldProblem::InvalidStep.in_field(field, entry)),
        Some((base, step)) => (base, Some(parse_step(field, entry, step)?)),
        None => (entry, None),
    };
    let (min, max) = field.bounds();
    let (start, end) = match (base, base.split_once('-')) {
        ("*", _) => (min, max),
        (_, Some((start, end))) => parse_range(field, entry, start, end)?,
        (value, None) => {
            let start = parse_value(field, value)?;
            (start, if step.is_some() { max } else { start })
        }
    };
    let step = usize::from(step.unwrap_or(1));
    let mut values: BTreeSet<u8> = (start..=end).step_by(step).collect();
    if field == CronField::DayOfWeek {
        values = weekdays_of_range(values, end);
    }
    Ok(values)
}

/// Maps day-of-week values to weekdays 0-6, with cron-parser's Sunday quirk: a range ending
/// at 7 (or 0) includes Sunday even when its step skips the end (`2-7/3` is 0, 2, 5).
fn weekdays_of_range(values: BTreeSet<u8>, end: u8) -> BTreeSet<u8> {
    let mut weekdays: BTreeSet<u8> = values.into_iter().map(|d| d % 7).collect();
    if end.is_multiple_of(7) {
        weekdays.insert(0);
    }
    weekdays
}

fn parse_step(field: CronField, entry: &str, step: &str) -> Result<u8, CronError> {
    if step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldProblem::InvalidStep.in_field(field, entry));
    }
    // A step longer than the field just yields its start, so clamping huge steps is harmless.
    match step.parse::<u64>() {
        Ok(0) => Err(FieldProblem::InvalidStep.in_field(field, entry)),
        Ok(n) => Ok(u8::try_from(n).unwrap_or(u8::MAX)),
        Err(_) => Ok(u8::MAX),
    }
}

fn parse_range(field: CronField, entry: &str, start: &str, end: &str) -> Result<(u8, u8), CronError> {
    let is_number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !is_number(start) || !is_number(end) {
        return Err(FieldProblem::InvalidRange.in_field(field, entry));
    }
    let (start, end) = (parse_value(field, start)?, parse_value(field, end)?);
    if start > end {
        return Err(FieldProblem::ReversedRange.in_field(field, entry));
    }
    Ok((start, end))
}

/// Parses one number and checks it against the field's bounds.
pub(super) fn parse_value(field: CronField, text: &str) -> Result<u8, CronError> {
    let (min, max) = field.bounds();
    let out_of_range = || CronError::OutOfRange { field, value: text.to_owned(), min, max };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldProblem::InvalidValue.in_field(field, text));
    }
    match text.parse::<u8>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(out_of_range()),
    }
}
