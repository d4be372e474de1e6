//! Fires: triggering a hook (with Hawk or with its token) and reading what its fires did (getHookStatus,
//! listLastFires, the fire log).

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use hooks_core::is_truthy;
use hooks_core::render::RenderError;
use hooks_core::storage::{self as store, EventOutcome, FireEvent, LastFireResult, LogCursor, PageCursor};
use hooks_core::{FireContext, FireError, FireOptions, FireOutcome, HookDefinition, TaskId, time};
use serde_json::{Value, json};

use super::pause::{pause_of, refuse_if_paused, with_pause};
use super::{Reply, find, hook_call, hook_key};
use crate::auth::{authorize, client_id};
use crate::body::Body;
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::{AppState, internal};

pub(super) async fn get_hook_status(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) = hook_call(&req, (&g, &h), &body, &st).await?;
    let hook = find(&st, &call, &g, &h).await?;
    let mut conn = st.conn(&call).await?;
    let last =
        store::list_last_fires(&mut conn, &hook.definition.key(), 1, None).await.map_err(|e| internal(&call, &e))?;
    let last_fire = match last.first() {
        None => json!({"result": "no-fire"}),
        Some(f) if f.result == store::LastFireResult::Success => {
            json!({"result": "success", "taskId": f.task_id, "time": time::to_json(f.task_create_time)})
        }
        Some(f) => {
            let error = serde_json::from_str::<Value>(&f.error)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({"message": f.error}));
            json!({"result": f.result, "error": error, "time": time::to_json(f.task_create_time)})
        }
    };
    let pause = pause_of(&st, &call, &hook).await?;
    let mut status = with_pause(json!({"lastFire": last_fire}), pause.as_ref());
    if let Some(next) = hook.next_scheduled_date.filter(|_| !hook.definition.schedule.is_empty()) {
        status["nextScheduledDate"] = json!(time::to_json(next));
    }
    Ok(HttpResponse::Ok().json(status))
}

pub(super) async fn trigger_hook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    check_trigger_body(&call, &req, &st)?;
    let hook = find(&st, &call, &g, &h).await?;
    refuse_if_paused(&st, &call, &hook).await?;
    let ctx = FireContext::trigger_hook(call.body.clone(), client_id(&caller));
    fire(&st, &call, &hook, ctx).await
}

pub(super) async fn trigger_hook_with_token(
    req: HttpRequest,
    path: Path<(String, String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h, token) = path.into_inner();
    // The token is a secret: it is never echoed in requestInfo.
    let call = Call::start(&[("hookGroupId", &g), ("hookId", &h)], &req, &body)?;
    call.check_ids(&g, Some(&h))?;
    call.check_query(&req, &[])?;
    check_trigger_body(&call, &req, &st)?;
    let hook = find(&st, &call, &g, &h).await?;
    if !hook.trigger_token.constant_time_eq(&token) {
        return Err(call.error(ErrorCode::AuthenticationFailed, "invalid hook token"));
    }
    // Only after the token is checked: the reason is for those who may fire the hook.
    refuse_if_paused(&st, &call, &hook).await?;
    let mut ctx = FireContext::trigger_hook_with_token(call.body.clone());
    if let Some(delivery) = delivery_id(&req) {
        ctx = ctx.with_source("deliveryId", delivery);
    }
    fire(&st, &call, &hook, ctx).await
}

/// Headers webhook senders name their delivery with (GitHub, GitLab, then a generic request id), the first
/// present wins; kept in the fire log so a user can match an event to the sender's delivery log.
const DELIVERY_ID_HEADERS: [&str; 3] = ["x-github-delivery", "x-gitlab-event-uuid", "x-request-id"];
/// The longest delivery id kept; longer ones are not ids.
const MAX_DELIVERY_ID: usize = 200;

fn delivery_id(req: &HttpRequest) -> Option<&str> {
    DELIVERY_ID_HEADERS
        .iter()
        .filter_map(|name| req.headers().get(*name)?.to_str().ok())
        .find(|id| !id.is_empty() && id.len() <= MAX_DELIVERY_ID && id.bytes().all(|b| b.is_ascii_graphic()))
}

fn check_trigger_body(call: &Call, req: &HttpRequest, st: &AppState) -> Result<(), ApiError> {
    call.check_json_content_type(req)?;
    check_payload_shape(call, st, &call.body)
}

/// Checks a payload against the trigger-hook schema (any object), as triggerHook reads its body.
pub(super) fn check_payload_shape(call: &Call, st: &AppState, payload: &Value) -> Result<(), ApiError> {
    st.schemas.trigger_hook.validate(payload).map_err(|m| call.error(ErrorCode::InputValidationError, m))
}

/// A payload the hook's triggerSchema refuses: what the fire log keeps (where, never the payload) and the 400.
pub(super) struct Refused {
    pub(super) logged: String,
    pub(super) answer: ApiError,
}

/// Checks `payload` against the hook's triggerSchema.
pub(super) fn check_trigger_schema(call: &Call, def: &HookDefinition, payload: &Value) -> Result<(), Refused> {
    def.trigger_schema.validate(payload).map_err(|e| Refused {
        logged: format!("the payload does not match the hook's triggerSchema: {}", e.locations.join("; ")),
        answer: call.error(ErrorCode::InputError, e.to_string()),
    })
}

/// The taskId a call's payload names, as upstream takes it: only when truthy (`""`, `0`, `false` and `null` mean
/// "none given"), and then it must be a slugid.
pub(super) fn payload_task_id(call: &Call, payload: &Value) -> Result<Option<TaskId>, ApiError> {
    let Some(id) = payload.get("taskId").filter(|v| is_truthy(v)) else { return Ok(None) };
    let text = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
    TaskId::parse(&text)
        .map(Some)
        .map_err(|_| call.error(ErrorCode::InputError, format!("Invalid taskId format: {text}")))
}

/// The answer to a template that cannot be rendered: the template's fault is a 400; no render worker to be had
/// is the daemon's trouble, a 500.
pub(super) fn render_error(call: &Call, source: &RenderError) -> ApiError {
    if source.is_transient() {
        internal(call, source)
    } else {
        call.error(ErrorCode::InputError, format!("While firing hook:\n\n{source}"))
    }
}

/// Validates the payload, fires, and maps the outcome onto upstream's replies.
async fn fire(st: &AppState, call: &Call, hook: &hooks_core::Hook, ctx: FireContext) -> Reply {
    let def = &hook.definition;
    if let Err(refused) = check_trigger_schema(call, def, &call.body) {
        let (by, outcome) = (ctx.fired_by, EventOutcome::PayloadRejected);
        let event = FireEvent::without_task(&def.key(), by, outcome, refused.logged, ctx.source);
        st.call_fires.record_refused(event).await;
        return Err(refused.answer);
    }
    let opts = FireOptions { task_id: payload_task_id(call, &call.body)?, now: None };
    fire_reply(call, def, st.call_fires.fire(&st.firer, def, ctx, opts).await)
}

/// An API fire's result as upstream answers it.
pub(super) fn fire_reply(call: &Call, def: &HookDefinition, result: Result<FireOutcome, FireError>) -> Reply {
    match result {
        Ok(FireOutcome::Created { task_id }) => {
            Ok(HttpResponse::Ok().json(json!({"taskId": task_id, "status": {"taskId": task_id}})))
        }
        Ok(FireOutcome::Declined) => Ok(HttpResponse::Ok().json(json!({}))),
        Err(FireError::CreateTask {
            source: hooks_core::sink::CreateTaskError::Rejected { code, message, .. },
            ..
        }) if code == "InsufficientScopes" => Err(call.error(
            ErrorCode::InsufficientScopes,
            format!(
                "The role `hook-id:{}` does not have sufficient scopes to create the task:\n\n{message}",
                def.path()
            ),
        )),
        Err(FireError::CreateTask {
            source: hooks_core::sink::CreateTaskError::Rejected { code, message, .. },
            ..
        }) => Err(call.error(ErrorCode::InputError, format!("While calling createTask: {code}\n\n{message}"))),
        Err(FireError::Render { source, .. }) => Err(render_error(call, &source)),
        // Nothing was created: the caller may try again.
        Err(e @ FireError::Unrecorded { .. }) => Err(internal(call, &e)),
        Err(e) => Err(call.error(ErrorCode::InputError, format!("While firing hook:\n\n{e}"))),
    }
}

const MAX_PAGE: usize = 1000;
/// How long listLastFires waits for the queue to say what became of a page's tasks; those it has not answered
/// for by then are `unknown`, so a slow or failing queue never makes the listing slow or fail.
const TASK_STATE_BUDGET: std::time::Duration = std::time::Duration::from_millis(800);

/// A page's `limit` (1 to [`MAX_PAGE`], [`MAX_PAGE`] when absent) and `continuationToken`, as listLastFires reads
/// them.
fn page_query(call: &Call, req: &HttpRequest) -> Result<(usize, Option<String>), ApiError> {
    let query = call.check_query(req, &["continuationToken", "limit"])?;
    let mut limit = MAX_PAGE;
    let mut token = None;
    for (k, v) in query {
        match k.as_str() {
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        call.error(
                            ErrorCode::InvalidRequestArguments,
                            format!("Query-string parameter: limit=\"{v}\" does not match expression: /^[0-9]+$/"),
                        )
                    })?
                    .clamp(1, MAX_PAGE);
            }
            "continuationToken" => token = Some(v),
            _ => {}
        }
    }
    Ok((limit, token))
}

/// A paginated listing's call, checked in upstream's order (auth and scopes, URL parameters, query string): the
/// call, its page size and its continuation token.
async fn page_call(
    req: &HttpRequest,
    (g, h): (&str, &str),
    body: &Body,
    st: &AppState,
) -> Result<(Call, usize, Option<String>), ApiError> {
    let call = Call::start(&[("hookGroupId", g), ("hookId", h)], req, body)?;
    authorize(st, req, body, &call).await?;
    call.check_ids(g, Some(h))?;
    let (limit, token) = page_query(&call, req)?;
    Ok((call, limit, token))
}

fn invalid_token(call: &Call) -> ApiError {
    call.error(ErrorCode::InputError, "Invalid continuation token")
}

pub(super) async fn list_last_fires(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, limit, token) = page_call(&req, (&g, &h), &body, &st).await?;
    let after = token.map(|t| decode_cursor(&t).ok_or_else(|| invalid_token(&call))).transpose()?;
    let mut conn = st.conn(&call).await?;
    let mut rows = store::list_last_fires(&mut conn, &hook_key(&call, &g, &h)?, limit as i64 + 1, after.as_ref())
        .await
        .map_err(|e| internal(&call, &e))?;
    drop(conn);
    if rows.is_empty() {
        return Err(call.error(ErrorCode::ResourceNotFound, "No such hook or never fired"));
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    // A failed fire's taskId names no task; asking for it would only cost a lookup.
    let task_ids: Vec<TaskId> = rows
        .iter()
        .filter(|f| f.result == LastFireResult::Success)
        .filter_map(|f| TaskId::parse(&f.task_id).ok())
        .collect();
    let states = st.task_states.states(&task_ids, TASK_STATE_BUDGET).await;
    let state_of: std::collections::HashMap<&str, &'static str> =
        task_ids.iter().zip(&states).filter_map(|(id, s)| Some((id.as_str(), s.as_ref()?.as_str()))).collect();
    let fires: Vec<Value> = rows
        .iter()
        .map(|f| {
            let state = state_of.get(f.task_id.as_str()).copied().unwrap_or("unknown");
            json!({
                "hookGroupId": f.hook_group_id, "hookId": f.hook_id, "firedBy": f.fired_by, "taskId": f.task_id,
                "taskCreateTime": time::to_json(f.task_create_time), "result": f.result, "error": f.error,
                "taskState": state,
            })
        })
        .collect();
    let mut reply = json!({"lastFires": fires});
    if more && let Some(last) = rows.last() {
        reply["continuationToken"] = json!(encode_cursor(&PageCursor {
            task_create_time: last.task_create_time,
            task_id: last.task_id.clone()
        }));
    }
    Ok(HttpResponse::Ok().json(reply))
}

/// An opaque page token: the last listed fire's time (µs) and task id, url-safe base64.
fn encode_cursor(c: &PageCursor) -> String {
    encode_token(c.task_create_time, &c.task_id)
}

fn decode_cursor(token: &str) -> Option<PageCursor> {
    let (task_create_time, task_id) = decode_token(token)?;
    Some(PageCursor { task_create_time, task_id })
}

fn encode_token(time: chrono::DateTime<chrono::Utc>, tie_break: &str) -> String {
    use base64::Engine as _;
    let raw = format!("{}:{tie_break}", time.timestamp_micros());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_token(token: &str) -> Option<(chrono::DateTime<chrono::Utc>, String)> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (micros, tie_break) = raw.split_once(':')?;
    Some((chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?, tie_break.to_owned()))
}

/// The hook's fire log, newest first, paginated like listLastFires: an existing hook with no events has an empty
/// log; an unknown hook is a 404.
pub(super) async fn list_fire_log(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, limit, token) = page_call(&req, (&g, &h), &body, &st).await?;
    let after = token
        .map(|t| {
            let (time, id) = decode_token(&t).ok_or_else(|| invalid_token(&call))?;
            Ok::<_, ApiError>(LogCursor { time, id: id.parse().map_err(|_| invalid_token(&call))? })
        })
        .transpose()?;
    let mut conn = st.conn(&call).await?;
    let mut events = store::list_fire_log(&mut conn, &hook_key(&call, &g, &h)?, limit as i64 + 1, after)
        .await
        .map_err(|e| internal(&call, &e))?;
    drop(conn);
    if events.is_empty() {
        find(&st, &call, &g, &h).await?;
    }
    let more = events.len() > limit;
    events.truncate(limit);
    let listed: Vec<Value> = events
        .iter()
        .map(|logged| {
            let e = &logged.event;
            let mut event = json!({
                "time": time::to_json(e.time), "firedBy": e.fired_by.as_str(), "outcome": e.outcome.as_str(),
                "source": e.source,
            });
            if let Some(task_id) = &e.task_id {
                event["taskId"] = json!(task_id);
            }
            if let Some(error) = &e.error {
                event["error"] = json!(error);
            }
            event
        })
        .collect();
    let mut reply = json!({"events": listed});
    if more && let Some(last) = events.last() {
        reply["continuationToken"] = json!(encode_token(last.cursor.time, &last.cursor.id.to_string()));
    }
    Ok(HttpResponse::Ok().json(reply))
}
