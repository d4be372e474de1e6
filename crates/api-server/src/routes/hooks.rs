//! Hook definitions: listing, reading, creating, updating and removing hooks, and their trigger tokens.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use hooks_core::pulse::HookChange;
use hooks_core::storage::{self as store, CreateOutcome};
use hooks_core::{HookDefinition, HookGroupId, HookId, HookInput, time};
use serde_json::{Value, json};

use super::pause::{pause_of, with_pause};
use super::{Reply, find, hook_call, hook_key};
use crate::auth::{authorize, client_id};
use crate::body::Body;
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::{AppState, internal};

pub(super) async fn list_hook_groups(req: HttpRequest, body: Body, st: Data<AppState>) -> Reply {
    let call = Call::start(&[], &req, &body)?;
    authorize(&st, &req, &body, &call).await?;
    call.check_query(&req, &[])?;
    let mut conn = st.conn(&call).await?;
    let groups = store::list_hook_groups(&mut conn).await.map_err(|e| internal(&call, &e))?;
    Ok(HttpResponse::Ok().json(json!({"groups": groups})))
}

pub(super) async fn list_hooks(req: HttpRequest, path: Path<String>, body: Body, st: Data<AppState>) -> Reply {
    let g = path.into_inner();
    let call = Call::start(&[("hookGroupId", &g)], &req, &body)?;
    authorize(&st, &req, &body, &call).await?;
    call.check_ids(&g, None)?;
    call.check_query(&req, &[])?;
    let mut conn = st.conn(&call).await?;
    let hooks = store::list_hooks(&mut conn, &st.keyring, &g).await.map_err(|e| internal(&call, &e))?;
    if hooks.is_empty() {
        return Err(call.error(ErrorCode::ResourceNotFound, "No such group"));
    }
    let hooks: Vec<Value> = hooks.iter().map(|h| h.definition.to_json()).collect();
    Ok(HttpResponse::Ok().json(json!({"hooks": hooks})))
}

pub(super) async fn hook(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) = hook_call(&req, (&g, &h), &body, &st).await?;
    let hook = find(&st, &call, &g, &h).await?;
    let pause = pause_of(&st, &call, &hook).await?;
    Ok(HttpResponse::Ok().json(with_pause(hook.definition.to_json(), pause.as_ref())))
}

/// Reads a create/update body: schema problems are InputValidationError.
fn parse_input(call: &Call, req: &HttpRequest, st: &AppState) -> Result<HookInput, ApiError> {
    call.check_json_content_type(req)?;
    read_input(call, &call.body, st)
}

/// Reads a definition as createHook's body (`create-hook-request`): schema problems are InputValidationError.
pub(super) fn read_input(call: &Call, body: &Value, st: &AppState) -> Result<HookInput, ApiError> {
    st.schemas.create_hook_request.validate(body).map_err(|m| call.error(ErrorCode::InputValidationError, m))?;
    // The schema admits only what the model reads, so this fails only where the two disagree (a bug): say so in
    // upstream's format rather than as a 500.
    serde_json::from_value(body.clone()).map_err(|e| {
        call.error(
            ErrorCode::InputValidationError,
            format!("\nSchema Validation Failed!\nRejecting Schema: /schemas/hooks/v1/create-hook-request.json#\nErrors:\n  * data: {e}"),
        )
    })
}

/// Validates a definition read by [`parse_input`]: its problems are InputError.
pub(super) fn define(
    call: &Call,
    g: &str,
    h: &str,
    input: HookInput,
    st: &AppState,
) -> Result<HookDefinition, ApiError> {
    HookGroupId::parse(g)
        .and_then(|g| HookId::parse(h).map(|h| (g, h)))
        .and_then(|(g, h)| HookDefinition::parse(g, h, input, &st.denylist))
        .map_err(|e| call.error(ErrorCode::InputError, e.to_string()))
}

pub(super) async fn create_hook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    let def = define(&call, &g, &h, parse_input(&call, &req, &st)?, &st)?;
    let mut conn = st.conn(&call).await?;
    let outcome = store::create_hook(&mut conn, &st.keyring, &def, client_id(&caller), time::now_millis())
        .await
        .map_err(|e| internal(&call, &e))?;
    let stored = match outcome {
        CreateOutcome::Created(hook) => hook,
        // Repeating an identical request succeeds (an omitted `bindings` counts as `[]`); anything else conflicts.
        CreateOutcome::Exists(hook) if hook.definition == def => hook,
        CreateOutcome::Exists(_) => {
            return Err(call.error(ErrorCode::RequestConflict, format!("hook `{g}/{h}` already exists.")));
        }
    };
    // Upstream announces an identical re-creation too.
    st.changes.publish(HookChange::Created, &g, &h);
    Ok(HttpResponse::Ok().json(echo(&call, &stored.definition)))
}

/// createHook's answer: as upstream, the request as read (defaults filled in, ids set from the URL), so `bindings`
/// only when the request gave them. Everything else the definition holds, the request held or defaulted.
fn echo(call: &Call, def: &HookDefinition) -> Value {
    let mut reply = def.to_json();
    if call.body.get("bindings").is_none()
        && let Some(fields) = reply.as_object_mut()
    {
        fields.remove("bindings");
    }
    reply
}

pub(super) async fn update_hook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    let mut input = parse_input(&call, &req, &st)?;
    input.check_ids(&g, &h).map_err(|e| call.error(ErrorCode::InputError, e.to_string()))?;
    // As upstream: a missing hook is 404 before its new definition is judged.
    let existing = find(&st, &call, &g, &h).await?;
    // Upstream keeps the stored bindings when an update leaves them out (and checks them against the denylist).
    input.bindings.get_or_insert(existing.definition.bindings);
    let def = define(&call, &g, &h, input, &st)?;
    let mut conn = st.conn(&call).await?;
    let updated = store::update_hook(&mut conn, &st.keyring, &def, client_id(&caller), time::now_millis())
        .await
        .map_err(|e| internal(&call, &e))?
        .ok_or_else(|| call.error(ErrorCode::ResourceNotFound, "No such hook"))?;
    st.changes.publish(HookChange::Updated, &g, &h);
    Ok(HttpResponse::Ok().json(updated.definition.to_json()))
}

pub(super) async fn remove_hook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    let mut conn = st.conn(&call).await?;
    store::delete_hook(&mut conn, &hook_key(&call, &g, &h)?, client_id(&caller))
        .await
        .map_err(|e| internal(&call, &e))?;
    // Announced even when there was nothing to remove, as upstream.
    st.changes.publish(HookChange::Deleted, &g, &h);
    Ok(HttpResponse::Ok().json(json!({})))
}

pub(super) async fn get_trigger_token(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) = hook_call(&req, (&g, &h), &body, &st).await?;
    let hook = find(&st, &call, &g, &h).await?;
    Ok(HttpResponse::Ok().json(json!({"token": hook.trigger_token.expose()})))
}

pub(super) async fn reset_trigger_token(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    let mut conn = st.conn(&call).await?;
    let token = store::reset_trigger_token(&mut conn, &st.keyring, &hook_key(&call, &g, &h)?, client_id(&caller))
        .await
        .map_err(|e| internal(&call, &e))?
        .ok_or_else(|| call.error(ErrorCode::ResourceNotFound, "No such hook"))?;
    Ok(HttpResponse::Ok().json(json!({"token": token.expose()})))
}
