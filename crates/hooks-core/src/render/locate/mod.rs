//! Where in a template a JSON-e error happened, said as upstream's JavaScript json-e says it:
//! `InterpreterError at template.payload.env.X: unknown context value foo`.
//!
//! Upstream's `render` catches an error on its way out of each plain object and array and prepends the key
//! (`.key` when it is a plain identifier, `["key"]` otherwise, with the key as `JSON.stringify` writes it) or the
//! index (`[0]`); operators add nothing, so the location of an error inside `{"$let": …, "in": {"a": …}}` is
//! `template.a`. Its `toString()` is `<class> at template<location>: <message>`, or `<class>: <message>` when the
//! error happened outside any plain object or array. Errors that are not json-e's own (an unreadable `$fromNow`
//! duration is a plain `Error`) carry no location.
//!
//! The json-e crate keeps no location, and no version of it does (4.8.4 is the newest). Tracking it would mean a
//! fork of the crate's renderer, to keep in step with it by hand; instead, when a render fails and only then, the
//! location is found by rendering again, with the crate itself, so a render that succeeds is untouched: starting from the template, each step renders the
//! children the crate renders (plain keys and array items, and the sub-templates of operators, with the context
//! the operator gives them: `$let`'s `in` with its bindings, `$map`'s `each` with each item, the case a
//! `$switch` chose), in the crate's order, and goes into the first child whose own render fails with the very
//! same error. A render is a pure function of template and context, so that child is where the error came
//! from; the search ends where no child fails that way. Requiring the same error keeps the search honest where
//! a child renders differently on its own (a `$let` binding holding a function, which only the whole render
//! can hold): it stops there, at a shallower but true location. The search costs renders only on the failing
//! path, runs inside the render worker under its CPU limit, and stops early (keeping the location found so far)
//! when its budget is spent, so a template that failed cheaply never ends up past the limit. Following the
//! crate's order, the search repeats only work the failed render already did: it meets no panic, no allocation
//! and no loop that render did not.
//!
//! The class is upstream's (`InterpreterError`, `TemplateError`, `SyntaxError`, `BuiltinError`); the message is
//! the crate's, put in upstream's words where the two differ only in wording and the crate's say enough
//! ([`upstream_message`], [`builtin_message`]). Syntax errors keep the crate's words: its parser is not
//! upstream's, and upstream's fails with a `TypeError` on an expression that ends too early.
//!
//! Where two parts of a template are both wrong, the crate (which renders keys in sorted order) may report a
//! different one than upstream (which renders them in the order it read them); each report is true.
//!
//! The crate's `$switch` and `$match` say only "parsing error in condition", whatever went wrong with the
//! condition; upstream says what did (a syntax error, an unknown context value), so the conditions are
//! evaluated one by one to find the failing one's own error.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use nix::time::{ClockId, clock_gettime};
use serde_json::{Map, Value, json};

/// How long the search for an error's location may run.
#[derive(Debug, Clone, Copy)]
pub(super) enum Budget {
    /// This much CPU time of the searching thread, from when the search starts.
    ThreadCpu(Duration),
    /// Until the process's CPU clock reads this (the render worker's, whose CPU limit ends the process).
    UntilProcessCpu(Duration),
}

impl Budget {
    fn deadline(self) -> Deadline {
        match self {
            Self::ThreadCpu(allowed) => Deadline {
                clock: ClockId::CLOCK_THREAD_CPUTIME_ID,
                at: cpu_time(ClockId::CLOCK_THREAD_CPUTIME_ID).map(|now| now + allowed),
            },
            Self::UntilProcessCpu(at) => Deadline { clock: ClockId::CLOCK_PROCESS_CPUTIME_ID, at: Some(at) },
        }
    }
}

struct Deadline {
    clock: ClockId,
    at: Option<Duration>,
}

impl Deadline {
    fn passed(&self) -> bool {
        match (self.at, cpu_time(self.clock)) {
            (Some(at), Some(now)) => now >= at,
            _ => true,
        }
    }
}

/// The CPU time `clock` reads.
pub(super) fn cpu_time(clock: ClockId) -> Option<Duration> {
    let t = clock_gettime(clock).ok()?;
    Some(Duration::new(u64::try_from(t.tv_sec()).ok()?, u32::try_from(t.tv_nsec()).ok()?))
}

/// The text of `error`, which rendering `template` with `context` at `now` (an ISO time) failed with, as
/// upstream's json-e prints it: its class, its location in the template and its message.
pub(super) fn describe(
    error: &anyhow::Error,
    template: &Map<String, Value>,
    context: &Map<String, Value>,
    now: &str,
    budget: Budget,
) -> String {
    let text = format!("{error:#}");
    let kind = Kind::of(&text);
    if !kind.located {
        return kind.text(None);
    }
    let root = Value::Object(template.clone());
    let Some(scope) = Scope::new(context, now) else { return kind.text(None) };
    let found = Search { error: &text, deadline: budget.deadline() }.run(&root, scope);
    let kind = match found.condition_error {
        Some(real) => Kind::of(&real),
        None => kind,
    };
    kind.text(Some(&found.location))
}

/// An error's class and message, as upstream names them.
struct Kind {
    class: &'static str,
    message: String,
    located: bool,
}

impl Kind {
    /// Classifies the crate's text of an error.
    fn of(text: &str) -> Self {
        let kind = |class, message: &str| Self { class, message: upstream_message(message), located: true };
        if let Some(message) = text.strip_prefix("Interpreter Error: ") {
            match builtin_message(message) {
                Some(message) => Self { class: "BuiltinError", message, located: true },
                None => kind("InterpreterError", message),
            }
        } else if text == "TemplateError: cannot represent JSON-e functions as JSON" {
            // Upstream checks the whole result for functions after rendering it, outside any location.
            Self {
                class: "TemplateError",
                message: "evaluated template contained uncalled functions".into(),
                located: false,
            }
        } else if let Some(message) = text.strip_prefix("TemplateError: ") {
            kind("TemplateError", message)
        } else if text.starts_with("Parse error at ")
            || text.starts_with("Unexpected trailing characters")
            || text == "unterminated ${..} expression"
        {
            kind("SyntaxError", text)
        } else if let Some(duration) =
            text.strip_prefix("String '").and_then(|rest| rest.strip_suffix("' isn't a time expression"))
        {
            // Upstream's from-now.js throws a plain Error, which its render neither classes nor locates.
            Self { class: "Error", message: format!("String: '{duration}' isn't a time expression"), located: false }
        } else {
            // "interpolation of '…' produced an array or object", and anything else the crate says without a class.
            kind("TemplateError", text)
        }
    }

    fn text(&self, location: Option<&str>) -> String {
        match location {
            Some(location) if self.located && !location.is_empty() => {
                format!("{} at template{location}: {}", self.class, self.message)
            }
            _ => format!("{}: {}", self.class, self.message),
        }
    }
}

/// The message of an error the crate's builtins raise (as InterpreterError; upstream's raise BuiltinError), in
/// upstream's words where the crate's say which builtin.
fn builtin_message(message: &str) -> Option<String> {
    if let Some(message) = message.strip_prefix("BuiltinError: ") {
        return Some(message.to_owned());
    }
    let named = ["str", "len", "number", "typeof", "join", "split", "from_now", "range"].into_iter().find(|name| {
        message.strip_prefix(name).is_some_and(|rest| rest.starts_with(" expects ") || rest.starts_with(" requires "))
    });
    if let Some(name) = named {
        let name = if name == "from_now" { "fromNow" } else { name };
        return Some(format!("invalid arguments to builtin: {name}"));
    }
    let builtin = message.starts_with("invalid argument")
        || matches!(message, "expected one argument" | "builtin expects one argument")
        || message == "string can't be converted to number"
        || message == "invalid separator for split";
    builtin.then(|| message.to_owned())
}

/// `message` in upstream's words, where the crate's differ only in wording and say as much.
fn upstream_message(message: &str) -> String {
    if let Some(property) = message.strip_prefix("object has no property ") {
        return format!("object has no property \"{property}\"");
    }
    if message.starts_with("$<identifier> is reserved; use $$<identifier> (") {
        return "$<identifier> is reserved; use $$<identifier>".into();
    }
    if let Some(rest) = message.strip_prefix("interpolation of '")
        && let Some(expression) = rest.strip_suffix("' produced an array or object")
        && let Some((expression, _)) = expression.split_once('}')
        && !expression.contains(['\'', '"', '{'])
    {
        // The crate quotes all that follows `${`; upstream only the expression, which (holding no string or
        // object) ends at the first `}`.
        return format!("interpolation of '{expression}' produced an array or object");
    }
    match message {
        "dot operator expects an object" => "infix: . expects objects".into(),
        "indexing operator expects an object, string, or array" => {
            "infix: \"[..]\" expects object, array, or string".into()
        }
        "This operator expects numbers or strings" => "infix: + expects numbers/strings + numbers/strings".into(),
        _ => message.to_owned(),
    }
}

/// The name under which the search passes `now` to each render. The crate sets `now` itself (to the wall clock)
/// above the context, so each render binds it back with `$let` from this context value.
const NOW: &str = "__hooks_locate_now";

/// The context a part of the template is rendered with.
#[derive(Clone)]
struct Scope(Value);

impl Scope {
    fn new(context: &Map<String, Value>, now: &str) -> Option<Self> {
        let mut vars = context.clone();
        vars.insert(NOW.to_owned(), Value::String(now.to_owned()));
        // A template could name this context value, and a search with it would not be the same render.
        (!context.contains_key(NOW)).then_some(Self(Value::Object(vars)))
    }

    /// This scope with `bindings` added (as `$let` and `$map` add theirs).
    fn with(&self, bindings: impl IntoIterator<Item = (String, Value)>) -> Self {
        let mut scope = self.clone();
        if let Value::Object(vars) = &mut scope.0 {
            for (name, value) in bindings {
                if name == "now" {
                    vars.insert(NOW.to_owned(), value.clone());
                }
                vars.insert(name, value);
            }
        }
        scope
    }

    /// Renders `template` on its own in this scope; `Err(None)` when the crate panicked.
    fn render(&self, template: &Value) -> Result<Value, Option<String>> {
        let wrapped = json!({"$let": {"now": {"$eval": NOW}}, "in": template});
        match catch_unwind(AssertUnwindSafe(|| json_e::render(&wrapped, &self.0))) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(Some(format!("{e:#}"))),
            Err(_) => Err(None),
        }
    }

    /// Whether `condition` is true in this scope, as `$if`, `$switch` and `$match` decide it.
    fn truthy(&self, condition: &str) -> Result<bool, Option<String>> {
        match self.render(&json!({"$if": condition, "then": true, "else": false}))? {
            Value::Bool(truth) => Ok(truth),
            _ => Err(None),
        }
    }
}

/// One step into a template: a key of a plain object, an item of an array, or none (into an operator's part).
enum Step<'t> {
    Key(&'t str),
    Index(usize),
    Operator,
}

impl Step<'_> {
    /// Appends this step to `location` as upstream writes it.
    fn write(&self, location: &mut String) {
        match self {
            Self::Key(key) if is_plain_identifier(key) => {
                location.push('.');
                location.push_str(key);
            }
            Self::Key(key) => {
                location.push('[');
                location.push_str(&serde_json::to_string(key).unwrap_or_default());
                location.push(']');
            }
            Self::Index(i) => location.push_str(&format!("[{i}]")),
            Self::Operator => {}
        }
    }
}

// Upstream's test for a key it can write after a dot: /^[a-zA-Z][a-zA-Z0-9]*$/ (no underscore).
fn is_plain_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// A part of the template the crate renders, with its context.
struct Child<'t> {
    step: Step<'t>,
    template: &'t Value,
    scope: Option<Scope>,
}

impl<'t> Child<'t> {
    fn key(key: &'t str, template: &'t Value) -> Self {
        Self { step: Step::Key(key), template, scope: None }
    }

    fn index(i: usize, template: &'t Value) -> Self {
        Self { step: Step::Index(i), template, scope: None }
    }

    fn part(template: &'t Value) -> Self {
        Self { step: Step::Operator, template, scope: None }
    }

    fn bound(template: &'t Value, scope: Scope) -> Self {
        Self { step: Step::Operator, template, scope: Some(scope) }
    }
}

/// What the search found.
struct Found {
    location: String,
    /// The failing condition's own error, when the error is a `$switch` or `$match` condition's.
    condition_error: Option<String>,
}

struct Search<'e> {
    /// The crate's text of the error being located.
    error: &'e str,
    deadline: Deadline,
}

/// The crate's words for any error in a `$switch` or `$match` condition.
const CONDITION_ERROR: &str = "TemplateError: parsing error in condition";

impl Search<'_> {
    fn run(&self, root: &Value, scope: Scope) -> Found {
        let mut location = String::new();
        let (mut node, mut scope) = (root, scope);
        while !self.deadline.passed() {
            let Some(child) = self.failing_child(node, &scope) else { break };
            child.step.write(&mut location);
            node = child.template;
            if let Some(bound) = child.scope {
                scope = bound;
            }
        }
        let condition_error = (self.error == CONDITION_ERROR).then(|| condition_error(node, &scope)).flatten();
        Found { location, condition_error }
    }

    /// Whether rendering `template` in `scope` fails with the error being located.
    fn fails_the_same(&self, template: &Value, scope: &Scope) -> bool {
        !self.deadline.passed() && scope.render(template).err().flatten().as_deref() == Some(self.error)
    }

    /// The first part of `node` that the crate renders and that fails with the error, if any.
    fn failing_child<'t>(&self, node: &'t Value, scope: &Scope) -> Option<Child<'t>> {
        let same = |child: &Child<'_>| self.fails_the_same(child.template, child.scope.as_ref().unwrap_or(scope));
        match node {
            Value::Array(items) => items.iter().enumerate().map(|(i, v)| Child::index(i, v)).find(same),
            Value::Object(object) => match operator(object) {
                Some(op) => self.operator_child(op, object, scope),
                None => {
                    // The crate interpolates every key before it renders any value.
                    let key_fails =
                        object.keys().any(|k| k.contains('$') && self.fails_the_same(&Value::String(k.clone()), scope));
                    if key_fails {
                        return None;
                    }
                    object.iter().map(|(k, v)| Child::key(k, v)).find(same)
                }
            },
            _ => None,
        }
    }

    /// The first part of the operator `op` that fails with the error: the parts each operator renders, in the
    /// order the crate renders them, each with the context the operator gives it.
    fn operator_child<'t>(&self, op: &str, object: &'t Map<String, Value>, scope: &Scope) -> Option<Child<'t>> {
        let same = |child: &Child<'_>| self.fails_the_same(child.template, child.scope.as_ref().unwrap_or(scope));
        let value = &object[op];
        match op {
            "$flatten" | "$flattenDeep" | "$json" | "$merge" | "$mergeDeep" | "$reverse" | "$sort" | "$find" => {
                Some(Child::part(value)).filter(same)
            }
            "$fromNow" => object.get("from").into_iter().chain([value]).map(Child::part).find(same),
            "$if" => {
                let branch = if scope.truthy(value.as_str()?).ok()? { "then" } else { "else" };
                object.get(branch).map(Child::part).filter(same)
            }
            "$let" => {
                if same(&Child::part(value)) {
                    return Some(Child::part(value));
                }
                let Ok(Value::Object(bindings)) = scope.render(value) else { return None };
                Some(Child::bound(object.get("in")?, scope.with(bindings))).filter(same)
            }
            "$map" => {
                if same(&Child::part(value)) {
                    return Some(Child::part(value));
                }
                let (each_key, each) = object.iter().find(|(k, _)| k.as_str() != op)?;
                let (item, index) = parse_each(each_key)?;
                let bindings: Vec<Vec<(String, Value)>> = match scope.render(value).ok()? {
                    Value::Array(items) => items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let mut b = vec![(item.to_owned(), v)];
                            b.extend(index.map(|index| (index.to_owned(), json!(i))));
                            b
                        })
                        .collect(),
                    Value::Object(entries) => entries
                        .into_iter()
                        .map(|(k, v)| match index {
                            Some(index) => vec![(item.to_owned(), v), (index.to_owned(), Value::String(k))],
                            None => vec![(item.to_owned(), json!({"key": k, "val": v}))],
                        })
                        .collect(),
                    _ => return None,
                };
                bindings.into_iter().map(|b| Child::bound(each, scope.with(b))).find(same)
            }
            "$reduce" => {
                if same(&Child::part(value)) {
                    return Some(Child::part(value));
                }
                let (each_key, each) = object.iter().find(|(k, _)| !matches!(k.as_str(), "$reduce" | "initial"))?;
                let (acc_name, item, index) = parse_each_three(each_key)?;
                let Value::Array(items) = scope.render(value).ok()? else { return None };
                let mut acc = object.get("initial")?.clone();
                // Each step's result is the next step's accumulator; rendered inside an array, a step that
                // renders to nothing (which keeps the accumulator) reads as `[]`, not as `null`.
                let each_in_array = Value::Array(vec![each.clone()]);
                for (i, v) in items.into_iter().enumerate() {
                    let mut bindings = vec![(acc_name.to_owned(), acc.clone()), (item.to_owned(), v)];
                    bindings.extend(index.map(|index| (index.to_owned(), json!(i))));
                    let step = scope.with(bindings);
                    match step.render(&each_in_array) {
                        Ok(Value::Array(mut result)) => acc = result.pop().unwrap_or(acc),
                        Err(Some(e)) if e == self.error => return Some(Child::bound(each, step)),
                        _ => return None,
                    }
                    if self.deadline.passed() {
                        return None;
                    }
                }
                None
            }
            "$match" => {
                for (condition, case) in value.as_object()? {
                    if scope.truthy(condition).ok()? && same(&Child::part(case)) {
                        return Some(Child::part(case));
                    }
                }
                None
            }
            "$switch" => {
                let cases = value.as_object()?;
                let mut chosen = None;
                for (condition, case) in cases.iter().filter(|(c, _)| c.as_str() != "$default") {
                    if scope.truthy(condition).ok()? {
                        if chosen.is_some() {
                            return None; // more than one true condition: the error is the $switch's own
                        }
                        chosen = Some(case);
                    }
                }
                chosen.or_else(|| cases.get("$default")).map(Child::part).filter(same)
            }
            _ => None, // `$eval`, whose error is its expression's, and what is not an operator
        }
    }
}

/// The operator `object` invokes, if it is one: as the crate decides, the first key (in sorted order) that
/// starts with one `$` (a key starting `${` is an interpolation, and `$$` an escaped `$`).
fn operator(object: &Map<String, Value>) -> Option<&str> {
    object.keys().map(String::as_str).find(|k| k.starts_with('$') && !k.starts_with("$$") && !k.starts_with("${"))
}

/// `each(x)` or `each(x, i)`: the item's and the index's names.
fn parse_each(key: &str) -> Option<(&str, Option<&str>)> {
    match each_names(key)?.as_slice() {
        [item] => Some((item, None)),
        [item, index] => Some((item, Some(index))),
        _ => None,
    }
}

/// `each(acc, x)` or `each(acc, x, i)`: the accumulator's, the item's and the index's names.
fn parse_each_three(key: &str) -> Option<(&str, &str, Option<&str>)> {
    match each_names(key)?.as_slice() {
        [acc, item] => Some((acc, item, None)),
        [acc, item, index] => Some((acc, item, Some(index))),
        _ => None,
    }
}

fn each_names(key: &str) -> Option<Vec<&str>> {
    let inner = key.strip_prefix("each(")?.strip_suffix(')')?;
    Some(inner.split(',').map(str::trim).collect())
}

/// The own error of the first condition of the `$switch` or `$match` `node` whose evaluation fails (the crate
/// evaluates them in sorted order, as upstream does).
fn condition_error(node: &Value, scope: &Scope) -> Option<String> {
    let object = node.as_object()?;
    let (cases, default) = match (object.get("$switch"), object.get("$match")) {
        (Some(cases), _) => (cases.as_object()?, Some("$default")),
        (None, Some(cases)) => (cases.as_object()?, None),
        (None, None) => return None,
    };
    for condition in cases.keys().filter(|c| Some(c.as_str()) != default) {
        match scope.truthy(condition) {
            Ok(_) => {}
            Err(error) => return error,
        }
    }
    None
}

#[cfg(test)]
mod tests;
