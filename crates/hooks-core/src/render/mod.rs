//! Rendering a hook's JSON-e template into a task definition.
//!
//! [`render_task`] is the rendering itself; it runs only inside a render worker process (`hooks-render`,
//! [`worker_main`]), never in a daemon: the json-e crate panics, allocates, recurses and computes as a template tells
//! it, and only the operating system can stop an allocation made in one call or interrupt a running parse. The
//! daemons render through a [`Renderer`] (`pool.rs`), which hands each render to a worker process bounded in CPU
//! time, memory, stack and output ([`RenderLimits`]), and replaces a worker that goes past a bound.

mod limits;
mod locate;
mod pool;
mod protocol;
mod worker;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use limits::{Bound, RenderArgs, RenderLimits};
pub use pool::{Renderer, default_program};
pub use worker::main as worker_main;

use crate::TaskId;
use crate::js::is_truthy;
use crate::time;

/// How long a task may wait to run when its template sets no `deadline`.
pub(crate) const DEFAULT_DEADLINE: TimeDelta = TimeDelta::days(1);
/// How long a task is kept when its template sets no `expires` (Taskcluster's "1 month" is 30 days).
pub(crate) const DEFAULT_EXPIRES: TimeDelta = TimeDelta::days(30);

/// A template that could not be rendered into a task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum RenderError {
    /// JSON-e refused the template or failed while evaluating it, said as upstream's JavaScript json-e says it:
    /// class, location in the template and message (`InterpreterError at template.payload.env.X: unknown context
    /// value foo`, see `render::locate`).
    #[error("{0}")]
    JsonE(String),
    /// The template rendered to something other than an object (and not to a falsy value, which declines).
    #[error("the task template rendered to {0}, not to a task object (render null or false to decline firing)")]
    NotAnObject(String),
    /// The render went past one of its bounds (the template's or the payload's doing).
    #[error("render exceeded its {0}")]
    Exceeded(Bound),
    /// The json-e crate failed inside (it panicked); caught, and answered like any render error.
    #[error("JSON-e error: the renderer failed on this template: {0}")]
    Failed(String),
    /// No render worker could be had (not the template's fault: the daemon's own trouble, worth a retry).
    #[error("the renderer is unavailable: {0}")]
    Unavailable(String),
}

impl RenderError {
    /// Whether the error is the daemon's trouble rather than the template's (an API caller gets a 500, a
    /// scheduled fire is retried).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// How much CPU time [`render_task`] may spend finding where in its template a render failed.
const LOCATE_CPU: Duration = Duration::from_millis(500);

/// Renders `template` with `context` at time `now`.
///
/// Returns `Ok(None)` when the template declines (renders to a falsy value such as `null` from
/// `{"$if": "false", ...}`). Fills `created`, `deadline`, `expires` and `taskGroupId` when the template leaves
/// them out. The same inputs always render byte-for-byte the same task.
pub fn render_task(
    template: &Map<String, Value>,
    context: &Map<String, Value>,
    task_id: &TaskId,
    now: DateTime<Utc>,
) -> Result<Option<Map<String, Value>>, RenderError> {
    render_task_within(template, context, task_id, now, locate::Budget::ThreadCpu(LOCATE_CPU))
}

/// [`render_task`], with `locate` bounding the search for where a failed render failed.
fn render_task_within(
    template: &Map<String, Value>,
    context: &Map<String, Value>,
    task_id: &TaskId,
    now: DateTime<Utc>,
    locate: locate::Budget,
) -> Result<Option<Map<String, Value>>, RenderError> {
    let now_json = time::to_json(now);
    // The json-e crate ignores `now` from the context and uses the wall clock, so bind it with `$let`: that is
    // what makes a re-fired schedule slot render the identical task.
    let wrapped = json!({"$let": {"now": now_json}, "in": Value::Object(template.clone())});
    let rendered = json_e::render(&wrapped, &Value::Object(context.clone()))
        .map_err(|e| RenderError::JsonE(locate::describe(&e, template, context, &now_json, locate)))?;
    let mut task = match rendered {
        Value::Object(task) => task,
        v if !is_truthy(&v) => return Ok(None),
        Value::Array(_) => return Err(RenderError::NotAnObject("an array".into())),
        Value::String(_) => return Err(RenderError::NotAnObject("a string".into())),
        Value::Number(_) => return Err(RenderError::NotAnObject("a number".into())),
        _ => return Err(RenderError::NotAnObject("true".into())),
    };
    fill_default(&mut task, "created", || now_json.clone());
    fill_default(&mut task, "deadline", || time::to_json(now + DEFAULT_DEADLINE));
    fill_default(&mut task, "expires", || time::to_json(now + DEFAULT_EXPIRES));
    fill_default(&mut task, "taskGroupId", || task_id.to_string());
    Ok(Some(task))
}

// Upstream fills a field when it is missing or falsy (`if (!task.created)`).
fn fill_default(task: &mut Map<String, Value>, key: &str, value: impl FnOnce() -> String) {
    if !task.get(key).is_some_and(is_truthy) {
        task.insert(key.to_owned(), Value::String(value()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 10, 17, 3).unwrap()
    }

    #[test]
    fn now_is_the_given_time_not_the_wall_clock() {
        let tid = TaskId::generate();
        let t = render_task(
            &obj(json!({"a": {"$eval": "now"}, "b": "${now}", "c": {"$fromNow": "1 hour"}})),
            &Map::new(),
            &tid,
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(t["a"], "2026-11-24T10:17:03.000Z");
        assert_eq!(t["b"], "2026-11-24T10:17:03.000Z");
        assert_eq!(t["c"], "2026-11-24T11:17:03.000Z");
    }

    #[test]
    fn defaults_are_filled_from_now_and_task_id() {
        let tid = TaskId::generate();
        let t = render_task(&obj(json!({"x": 1})), &Map::new(), &tid, now()).unwrap().unwrap();
        assert_eq!(t["created"], "2026-11-24T10:17:03.000Z");
        assert_eq!(t["deadline"], "2026-11-25T10:17:03.000Z");
        assert_eq!(t["expires"], "2026-12-24T10:17:03.000Z");
        assert_eq!(t["taskGroupId"], tid.as_str());
    }

    #[test]
    fn fields_the_template_sets_are_kept() {
        let tid = TaskId::generate();
        let t = render_task(
            &obj(json!({"created": "c", "deadline": "d", "expires": "e", "taskGroupId": "g"})),
            &Map::new(),
            &tid,
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!((t["created"].as_str(), t["deadline"].as_str()), (Some("c"), Some("d")));
        assert_eq!((t["expires"].as_str(), t["taskGroupId"].as_str()), (Some("e"), Some("g")));
    }

    #[test]
    fn falsy_renders_decline() {
        let tid = TaskId::generate();
        for template in [json!({"$if": "false", "then": {"a": 1}}), json!({"$if": "true", "then": false, "else": 1})] {
            assert_eq!(render_task(&obj(template), &Map::new(), &tid, now()).unwrap(), None);
        }
    }

    #[test]
    fn context_values_are_interpolated() {
        let tid = TaskId::generate();
        let ctx = obj(json!({"payload": {"n": 42}, "firedBy": "triggerHook", "taskId": tid.as_str()}));
        let t = render_task(
            &obj(json!({"v": {"$eval": "payload.n + 13"}, "by": "${firedBy}", "id": "${taskId}"})),
            &ctx,
            &tid,
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(t["v"], 55);
        assert_eq!(t["by"], "triggerHook");
        assert_eq!(t["id"], tid.as_str());
    }

    #[test]
    fn invalid_templates_are_errors_with_json_e_text() {
        let tid = TaskId::generate();
        let e = render_task(&obj(json!({"$if": "uhoh, this is invalid"})), &Map::new(), &tid, now()).unwrap_err();
        assert!(matches!(e, RenderError::JsonE(_)), "{e}");
        let e = render_task(&obj(json!({"$eval": "'str'"})), &Map::new(), &tid, now()).unwrap_err();
        assert_eq!(e, RenderError::NotAnObject("a string".into()));
    }

    #[test]
    fn rendering_is_deterministic() {
        let tid = TaskId::generate();
        let template = obj(json!({"a": {"$fromNow": "2 days"}, "b": {"$eval": "now"}}));
        let one = serde_json::to_string(&render_task(&template, &Map::new(), &tid, now()).unwrap()).unwrap();
        let two = serde_json::to_string(&render_task(&template, &Map::new(), &tid, now()).unwrap()).unwrap();
        assert_eq!(one, two);
    }
}
