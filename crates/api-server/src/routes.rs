//! The routes under `/api/hooks/v1`, one handler per API method, each checking in upstream's order: body, auth and
//! scopes, URL parameters, query string, input, then the work.

use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse, web};
use hooks_core::storage::hooks::{self as store, CreateOutcome};
use hooks_core::storage::last_fires::{self, PageCursor};
use hooks_core::{
    FireContext, FireError, FireOptions, FireOutcome, HookDefinition, HookGroupId, HookId, HookInput, TaskId, time,
};
use serde_json::{Value, json};

use crate::auth::{authorize, client_id};
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::{AppState, internal};
use hooks_core::auth::{Caller, ScopeExpression};
use hooks_core::pulse::HookChange;

/// Where the API's routes live.
pub const API_PREFIX: &str = "/api/hooks/v1";

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/robots.txt", web::get().to(robots))
        .route("/__heartbeat__", web::get().to(heartbeat))
        .route("/__lbheartbeat__", web::get().to(empty_object))
        .route("/__version__", web::get().to(version))
        .route("/schemas/hooks/v1/{file}", web::get().to(schema))
        .route("/metrics", web::get().to(crate::metrics::serve));
    cfg.service(
        web::scope(API_PREFIX)
            .route("/ping", web::get().to(ping))
            .route("/__lbheartbeat__", web::get().to(empty_object))
            .route("/__heartbeat__", web::get().to(heartbeat))
            .route("/__version__", web::get().to(version))
            .route("/hooks", web::get().to(list_hook_groups))
            .route("/hooks/{hookGroupId}", web::get().to(list_hooks))
            .route("/hooks/{hookGroupId}/{hookId}/status", web::get().to(get_hook_status))
            .route("/hooks/{hookGroupId}/{hookId}/trigger", web::post().to(trigger_hook))
            .route("/hooks/{hookGroupId}/{hookId}/trigger/{token}", web::post().to(trigger_hook_with_token))
            .route("/hooks/{hookGroupId}/{hookId}/token", web::get().to(get_trigger_token))
            .route("/hooks/{hookGroupId}/{hookId}/token", web::post().to(reset_trigger_token))
            .route("/hooks/{hookGroupId}/{hookId}/last-fires", web::get().to(list_last_fires))
            .route("/hooks/{hookGroupId}/{hookId}", web::get().to(hook))
            .route("/hooks/{hookGroupId}/{hookId}", web::put().to(create_hook))
            .route("/hooks/{hookGroupId}/{hookId}", web::post().to(update_hook))
            .route("/hooks/{hookGroupId}/{hookId}", web::delete().to(remove_hook)),
    );
}

type Reply = Result<HttpResponse, ApiError>;

/// Anything unmatched, as upstream: `404 {"error": "Not found"}`.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "Not found"}))
}

/// One of the project's JSON schemas (`/schemas/hooks/v1/<name>.json`), as written; anything else is the 404 of
/// every unmatched path.
async fn schema(file: Path<String>) -> HttpResponse {
    match file.strip_suffix(".json").and_then(crate::schemas::find) {
        Some(text) => HttpResponse::Ok().content_type("application/json").body(text),
        None => not_found().await,
    }
}

async fn robots() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("User-Agent: *\nDisallow: /\n")
}

/// `ping`: the process is up.
async fn ping(st: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"alive": true, "uptime": st.started.elapsed().as_secs_f64()}))
}

async fn empty_object() -> HttpResponse {
    HttpResponse::Ok().json(json!({}))
}

/// `version`: Dockerflow's version object.
pub async fn version() -> HttpResponse {
    HttpResponse::Ok().json(hooks_core::health::version())
}

/// `heartbeat`: 200 `{}` while the database answers, else 503 naming what is down.
async fn heartbeat(st: Data<AppState>) -> HttpResponse {
    let report = st.health.check().await;
    let status = actix_web::http::StatusCode::from_u16(report.status())
        .unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
    HttpResponse::build(status).json(report.body())
}

async fn list_hook_groups(req: HttpRequest, body: Bytes, st: Data<AppState>) -> Reply {
    let call = Call::start("listHookGroups", &[], &body)?;
    authorize(&st, &req, &body, &call, &st.scopes.list_hook_groups).await?;
    call.check_query(&req, &[])?;
    let mut conn = st.conn(&call).await?;
    let groups = store::list_hook_groups(&mut conn).await.map_err(|e| internal(&call, &e))?;
    Ok(HttpResponse::Ok().json(json!({"groups": groups})))
}

async fn list_hooks(req: HttpRequest, path: Path<String>, body: Bytes, st: Data<AppState>) -> Reply {
    let g = path.into_inner();
    let call = Call::start("listHooks", &[("hookGroupId", &g)], &body)?;
    authorize(&st, &req, &body, &call, &st.scopes.list_hooks.render(&[("hookGroupId", &g)])).await?;
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

/// Starts a call on `/hooks/<g>/<h>...`: body, auth, ids, query.
async fn hook_call(
    method: &'static str,
    req: &HttpRequest,
    (g, h): (&str, &str),
    body: &Bytes,
    st: &AppState,
    required: &ScopeExpression,
) -> Result<(Call, Caller), ApiError> {
    let call = Call::start(method, &[("hookGroupId", g), ("hookId", h)], body)?;
    let caller = authorize(st, req, body, &call, required).await?;
    call.check_ids(g, Some(h))?;
    call.check_query(req, &[])?;
    Ok((call, caller))
}

async fn find(st: &AppState, call: &Call, g: &str, h: &str) -> Result<hooks_core::Hook, ApiError> {
    st.hooks
        .find(g, h)
        .await
        .map_err(|e| internal(call, &e))?
        .ok_or_else(|| call.error(ErrorCode::ResourceNotFound, "No such hook"))
}

async fn hook(req: HttpRequest, path: Path<(String, String)>, body: Bytes, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) = hook_call("hook", &req, (&g, &h), &body, &st, &st.scopes.hook.for_hook(&g, &h)).await?;
    let hook = find(&st, &call, &g, &h).await?;
    Ok(HttpResponse::Ok().json(hook.definition.to_json()))
}

async fn get_hook_status(req: HttpRequest, path: Path<(String, String)>, body: Bytes, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) = hook_call("getHookStatus", &req, (&g, &h), &body, &st, &st.scopes.status.for_hook(&g, &h)).await?;
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

/// Parses a create/update body into a definition: schema problems are InputValidationError, semantic ones InputError.
fn parse_definition(
    call: &Call,
    req: &HttpRequest,
    g: &str,
    h: &str,
    st: &AppState,
) -> Result<(HookDefinition, bool), ApiError> {
    call.check_json_content_type(req)?;
    st.schemas.create_hook_request.validate(&call.body).map_err(|m| call.error(ErrorCode::InputValidationError, m))?;
    // The schema admits only what the model reads, so this fails only where the two disagree (a bug): say so in
    // upstream's format rather than as a 500.
    let input: HookInput = serde_json::from_value(call.body.clone()).map_err(|e| {
        call.error(
            ErrorCode::InputValidationError,
            format!("\nSchema Validation Failed!\nRejecting Schema: /schemas/hooks/v1/create-hook-request.json#\nErrors:\n  * data: {e}"),
        )
    })?;
    let bindings_given = input.bindings.is_some();
    let ids = HookGroupId::parse(g).and_then(|g| HookId::parse(h).map(|h| (g, h)));
    let def = ids
        .and_then(|(g, h)| HookDefinition::parse(g, h, input, &st.denylist))
        .map_err(|e| call.error(ErrorCode::InputError, e.to_string()))?;
    Ok((def, bindings_given))
}

async fn create_hook(req: HttpRequest, path: Path<(String, String)>, body: Bytes, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) =
        hook_call("createHook", &req, (&g, &h), &body, &st, &st.scopes.modify.for_hook(&g, &h)).await?;
    let (def, _) = parse_definition(&call, &req, &g, &h, &st)?;
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
    Ok(HttpResponse::Ok().json(stored.definition.to_json()))
}

async fn update_hook(req: HttpRequest, path: Path<(String, String)>, body: Bytes, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) =
        hook_call("updateHook", &req, (&g, &h), &body, &st, &st.scopes.modify.for_hook(&g, &h)).await?;
    let (mut def, bindings_given) = parse_definition(&call, &req, &g, &h, &st)?;
    let existing = find(&st, &call, &g, &h).await?;
    if !bindings_given {
        // Upstream keeps the stored bindings when an update leaves them out.
        def.bindings = existing.definition.bindings;
    }
    let mut conn = st.conn(&call).await?;
    let updated = store::update_hook(&mut conn, &st.keyring, &def, client_id(&caller), time::now_millis())
        .await
        .map_err(|e| internal(&call, &e))?
        .ok_or_else(|| call.error(ErrorCode::ResourceNotFound, "No such hook"))?;
    st.changes.publish(HookChange::Updated, &g, &h);
    Ok(HttpResponse::Ok().json(updated.definition.to_json()))
}

async fn remove_hook(req: HttpRequest, path: Path<(String, String)>, body: Bytes, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) =
        hook_call("removeHook", &req, (&g, &h), &body, &st, &st.scopes.remove.for_hook(&g, &h)).await?;
    let mut conn = st.conn(&call).await?;
    store::delete_hook(&mut conn, &g, &h, client_id(&caller)).await.map_err(|e| internal(&call, &e))?;
    // Announced even when there was nothing to remove, as upstream.
    st.changes.publish(HookChange::Deleted, &g, &h);
    Ok(HttpResponse::Ok().json(json!({})))
}

async fn get_trigger_token(req: HttpRequest, path: Path<(String, String)>, body: Bytes, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) =
        hook_call("getTriggerToken", &req, (&g, &h), &body, &st, &st.scopes.get_token.for_hook(&g, &h)).await?;
    let hook = find(&st, &call, &g, &h).await?;
    Ok(HttpResponse::Ok().json(json!({"token": hook.trigger_token.expose()})))
}

async fn reset_trigger_token(req: HttpRequest, path: Path<(String, String)>, body: Bytes, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) =
        hook_call("resetTriggerToken", &req, (&g, &h), &body, &st, &st.scopes.reset_token.for_hook(&g, &h)).await?;
    let mut conn = st.conn(&call).await?;
    let token = store::reset_trigger_token(&mut conn, &st.keyring, &g, &h, client_id(&caller))
        .await
        .map_err(|e| internal(&call, &e))?
        .ok_or_else(|| call.error(ErrorCode::ResourceNotFound, "No such hook"))?;
    Ok(HttpResponse::Ok().json(json!({"token": token.expose()})))
}

async fn trigger_hook(req: HttpRequest, path: Path<(String, String)>, body: Bytes, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) =
        hook_call("triggerHook", &req, (&g, &h), &body, &st, &st.scopes.trigger.for_hook(&g, &h)).await?;
    check_trigger_body(&call, &req, &st)?;
    let hook = find(&st, &call, &g, &h).await?;
    let ctx = FireContext::trigger_hook(call.body.clone(), client_id(&caller));
    fire(&st, &call, &hook, ctx).await
}

async fn trigger_hook_with_token(
    req: HttpRequest,
    path: Path<(String, String, String)>,
    body: Bytes,
    st: Data<AppState>,
) -> Reply {
    let (g, h, token) = path.into_inner();
    // The token is a secret: it is never echoed in requestInfo.
    let call = Call::start("triggerHookWithToken", &[("hookGroupId", &g), ("hookId", &h)], &body)?;
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
    if let Some(id) = call.body.get("taskId").filter(|v| !matches!(v, Value::Null | Value::Bool(false))) {
        let text = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
        let task_id = TaskId::parse(&text)
            .map_err(|_| call.error(ErrorCode::InputError, format!("Invalid taskId format: {text}")))?;
        opts.task_id = Some(task_id);
    }
    match st.firer.fire(def, ctx, opts).await {
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
        Err(FireError::Storage(e)) => Err(internal(call, &e)),
        Err(e) => Err(call.error(ErrorCode::InputError, format!("While firing hook:\n\n{e}"))),
    }
}

const MAX_PAGE: usize = 1000;

async fn list_last_fires(req: HttpRequest, path: Path<(String, String)>, body: Bytes, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let call = Call::start("listLastFires", &[("hookGroupId", &g), ("hookId", &h)], &body)?;
    authorize(&st, &req, &body, &call, &st.scopes.last_fires.for_hook(&g, &h)).await?;
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
