//! Fires: triggering a hook (with Hawk or with its token) and reading what its fires did (getHookStatus,
//! listLastFires).

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use hooks_core::js::is_truthy;
use hooks_core::storage::last_fires::{self, PageCursor};
use hooks_core::{FireContext, FireError, FireOptions, FireOutcome, TaskId, time};
use serde_json::{Value, json};

use super::{Reply, find, hook_call};
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
    let last = last_fires::list_last_fires(&mut conn, &g, &h, 1, None).await.map_err(|e| internal(&call, &e))?;
    let last_fire = match last.first() {
        None => json!({"result": "no-fire"}),
        Some(f) if f.result == "success" => {
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
    let mut status = json!({"lastFire": last_fire});
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
    fire(&st, &call, &hook, FireContext::trigger_hook_with_token(call.body.clone())).await
}

fn check_trigger_body(call: &Call, req: &HttpRequest, st: &AppState) -> Result<(), ApiError> {
    call.check_json_content_type(req)?;
    st.schemas.trigger_hook.validate(&call.body).map_err(|m| call.error(ErrorCode::InputValidationError, m))
}

/// Validates the payload, fires, and maps the outcome onto upstream's replies.
async fn fire(st: &AppState, call: &Call, hook: &hooks_core::Hook, ctx: FireContext) -> Reply {
    let def = &hook.definition;
    if let Err(e) = def.trigger_schema.validate(&call.body) {
        return Err(call.error(ErrorCode::InputError, e.to_string()));
    }
    let mut opts = FireOptions::default();
    // Upstream takes the taskId only when it is truthy: `""`, `0`, `false` and `null` mean "none given".
    if let Some(id) = call.body.get("taskId").filter(|v| is_truthy(v)) {
        let text = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
        let task_id = TaskId::parse(&text)
            .map_err(|_| call.error(ErrorCode::InputError, format!("Invalid taskId format: {text}")))?;
        opts.task_id = Some(task_id);
    }
    match st.call_fires.fire(&st.firer, def, ctx, opts).await {
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
        // No render worker could be had: the daemon's trouble, not the template's.
        Err(FireError::Render { source, .. }) if source.is_transient() => Err(internal(call, &source)),
        // Nothing was created: the caller may try again.
        Err(e @ FireError::Unrecorded { .. }) => Err(internal(call, &e)),
        Err(e) => Err(call.error(ErrorCode::InputError, format!("While firing hook:\n\n{e}"))),
    }
}

const MAX_PAGE: usize = 1000;

pub(super) async fn list_last_fires(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let call = Call::start(&[("hookGroupId", &g), ("hookId", &h)], &req, &body)?;
    authorize(&st, &req, &body, &call).await?;
    call.check_ids(&g, Some(&h))?;
    let query = call.check_query(&req, &["continuationToken", "limit"])?;
    let mut limit = MAX_PAGE;
    let mut after = None;
    for (k, v) in &query {
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
            "continuationToken" => {
                after = Some(
                    decode_cursor(v).ok_or_else(|| call.error(ErrorCode::InputError, "Invalid continuation token"))?,
                );
            }
            _ => {}
        }
    }
    let mut conn = st.conn(&call).await?;
    let mut rows = last_fires::list_last_fires(&mut conn, &g, &h, limit as i64 + 1, after.as_ref())
        .await
        .map_err(|e| internal(&call, &e))?;
    if rows.is_empty() {
        return Err(call.error(ErrorCode::ResourceNotFound, "No such hook or never fired"));
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    let fires: Vec<Value> = rows
        .iter()
        .map(|f| {
            json!({
                "hookGroupId": f.hook_group_id, "hookId": f.hook_id, "firedBy": f.fired_by, "taskId": f.task_id,
                "taskCreateTime": time::to_json(f.task_create_time), "result": f.result, "error": f.error,
                "taskState": "unknown",
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
    use base64::Engine as _;
    let raw = format!("{}:{}", c.task_create_time.timestamp_micros(), c.task_id);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(token: &str) -> Option<PageCursor> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (micros, task_id) = raw.split_once(':')?;
    let task_create_time = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some(PageCursor { task_create_time, task_id: task_id.to_owned() })
}
