//! Pausing and resuming a hook (an extension, docs/api.md): while paused no slot fires, Pulse messages wait in its
//! queue and triggers answer 409. A hook that was never paused reads back exactly as upstream's.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use hooks_core::pulse::HookChange;
use hooks_core::storage::{self as store, Pause, ResumeOutcome};
use hooks_core::{Hook, HookKey, time};
use serde_json::{Value, json};

use super::{Reply, find, hook_call, hook_key};
use crate::auth::client_id;
use crate::body::Body;
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::{AppState, internal};

/// The longest reason kept.
const MAX_REASON: usize = 1000;

pub(super) async fn pause_hook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    call.check_json_content_type(&req)?;
    let reason = read_reason(&call)?;
    let key = hook_key(&call, &g, &h)?;
    let mut conn = st.conn(&call).await?;
    let pause = store::pause_hook(&mut conn, &key, &reason, client_id(&caller), time::now_millis())
        .await
        .map_err(|e| internal(&call, &e))?
        .ok_or_else(|| call.error(ErrorCode::ResourceNotFound, "No such hook"))?;
    st.changes.publish(HookChange::Updated, &g, &h);
    let hook = find(&st, &call, &g, &h).await?;
    Ok(HttpResponse::Ok().json(with_pause(hook.definition.to_json(), Some(&pause))))
}

pub(super) async fn resume_hook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    call.check_json_content_type(&req)?;
    check_keys(&call, &[])?;
    let key = hook_key(&call, &g, &h)?;
    let mut conn = st.conn(&call).await?;
    match store::resume_hook(&mut conn, &key, client_id(&caller)).await.map_err(|e| internal(&call, &e))? {
        ResumeOutcome::NoSuchHook => return Err(call.error(ErrorCode::ResourceNotFound, "No such hook")),
        ResumeOutcome::Resumed => st.changes.publish(HookChange::Updated, &g, &h),
        ResumeOutcome::NotPaused => {}
    }
    let hook = find(&st, &call, &g, &h).await?;
    Ok(HttpResponse::Ok().json(hook.definition.to_json()))
}

/// The body's `reason`: a non-empty string of at most [`MAX_REASON`] characters, and nothing else in the body.
fn read_reason(call: &Call) -> Result<String, ApiError> {
    check_keys(call, &["reason"])?;
    match call.body.get("reason") {
        Some(Value::String(r)) if !r.trim().is_empty() && r.chars().count() <= MAX_REASON => Ok(r.clone()),
        Some(Value::String(_)) => Err(call.error(
            ErrorCode::InputError,
            format!("reason: must be a non-empty string of at most {MAX_REASON} characters"),
        )),
        Some(other) => Err(call.error(ErrorCode::InputError, format!("reason: must be a string, not {other}"))),
        None => Err(call.error(ErrorCode::InputError, "reason: required (why the hook is paused)")),
    }
}

/// Refuses a body that is not an object or has keys other than `allowed`.
fn check_keys(call: &Call, allowed: &[&str]) -> Result<(), ApiError> {
    let Some(body) = call.body.as_object() else {
        return Err(call.error(ErrorCode::InputError, "the body must be a JSON object"));
    };
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(call.error(ErrorCode::InputError, format!("{extra}: unknown property"))),
        None => Ok(()),
    }
}

/// The hook's pause, if it is paused.
pub(super) async fn pause_of(st: &AppState, call: &Call, hook: &Hook) -> Result<Option<Pause>, ApiError> {
    let mut conn = st.conn(call).await?;
    store::find_pause(&mut conn, &hook.definition.key()).await.map_err(|e| internal(call, &e))
}

/// `reply` with a `paused` key when there is a pause; unchanged otherwise.
pub(super) fn with_pause(mut reply: Value, pause: Option<&Pause>) -> Value {
    if let Some(p) = pause {
        reply["paused"] = json!({"reason": p.reason, "by": p.paused_by, "since": time::to_json(p.since)});
    }
    reply
}

/// Refuses to fire a paused hook: 409 naming the reason.
pub(super) async fn refuse_if_paused(st: &AppState, call: &Call, hook: &Hook) -> Result<(), ApiError> {
    match pause_of(st, call, hook).await? {
        Some(p) => Err(paused(call, &hook.definition.key(), &p)),
        None => Ok(()),
    }
}

/// The 409 a paused hook answers a fire with, naming the reason.
pub(super) fn paused(call: &Call, key: &HookKey, pause: &Pause) -> ApiError {
    call.error(ErrorCode::RequestConflict, format!("hook `{key}` is paused: {}", pause.reason))
}
