//! The routes under `/api/hooks/v1`, one handler per API method, each checking in upstream's order: body, auth and
//! scopes, URL parameters, query string, input, then the work.

use actix_web::http::Method;
use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, guard, web};
use hooks_core::storage::{
    self as store, CreateOutcome, EventOutcome, FireEvent, LastFireResult, LogCursor, PageCursor,
};
use hooks_core::{
    FireContext, FireError, FireOptions, FireOutcome, HookDefinition, HookGroupId, HookId, HookInput, HookKey, TaskId,
    time,
};
use serde_json::{Value, json};

use crate::auth::{authorize, client_id};
use crate::body::Body;
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::{AppState, internal};
use hooks_core::auth::Caller;
use hooks_core::is_truthy;
use hooks_core::pulse::HookChange;

/// Where the API's routes live.
pub const API_PREFIX: &str = "/api/hooks/v1";

/// What a caller must hold to call an endpoint, as the reference declares it; `<param>` is filled from the URL.
#[derive(Debug, Clone, Copy)]
pub enum Scopes {
    /// Anyone, unauthenticated.
    Public,
    /// One scope.
    One(&'static str),
    /// Every one of these scopes.
    AllOf(&'static [&'static str]),
}

/// An endpoint, declared once: its path (under [`API_PREFIX`] for [`API_ROUTES`]), HTTP method, the API method's
/// name (for metrics, spans and error bodies), its scopes and its handler. Routing, names and scope checks all
/// come from this table.
struct ApiRoute {
    path: &'static str,
    method: Method,
    name: &'static str,
    scopes: Scopes,
    to: fn(actix_web::Route) -> actix_web::Route,
}

/// The routes outside the API.
const ROOT_ROUTES: &[ApiRoute] = &[
    ApiRoute { path: "/robots.txt", method: Method::GET, name: "robots", scopes: Scopes::Public, to: |r| r.to(robots) },
    ApiRoute {
        path: "/__heartbeat__",
        method: Method::GET,
        name: "heartbeat",
        scopes: Scopes::Public,
        to: |r| r.to(heartbeat),
    },
    ApiRoute {
        path: "/__lbheartbeat__",
        method: Method::GET,
        name: "lbheartbeat",
        scopes: Scopes::Public,
        to: |r| r.to(empty_object),
    },
    ApiRoute {
        path: "/__version__",
        method: Method::GET,
        name: "version",
        scopes: Scopes::Public,
        to: |r| r.to(version),
    },
    ApiRoute {
        path: "/schemas/hooks/v1/{file}",
        method: Method::GET,
        name: "schema",
        scopes: Scopes::Public,
        to: |r| r.to(schema),
    },
    ApiRoute {
        path: "/metrics",
        method: Method::GET,
        name: "metrics",
        scopes: Scopes::Public,
        to: |r| r.to(crate::metrics::serve),
    },
];

const HOOK: &str = "/hooks/{hookGroupId}/{hookId}";
/// createHook and updateHook: nobody defines a hook more powerful than themselves.
const MODIFY: Scopes =
    Scopes::AllOf(&["hooks:modify-hook:<hookGroupId>/<hookId>", "assume:hook-id:<hookGroupId>/<hookId>"]);

/// The API's routes, under [`API_PREFIX`].
const API_ROUTES: &[ApiRoute] = &[
    ApiRoute { path: "/ping", method: Method::GET, name: "ping", scopes: Scopes::Public, to: |r| r.to(ping) },
    ApiRoute {
        path: "/__lbheartbeat__",
        method: Method::GET,
        name: "lbheartbeat",
        scopes: Scopes::Public,
        to: |r| r.to(empty_object),
    },
    ApiRoute {
        path: "/__heartbeat__",
        method: Method::GET,
        name: "heartbeat",
        scopes: Scopes::Public,
        to: |r| r.to(heartbeat),
    },
    ApiRoute {
        path: "/__version__",
        method: Method::GET,
        name: "version",
        scopes: Scopes::Public,
        to: |r| r.to(version),
    },
    ApiRoute {
        path: "/hooks",
        method: Method::GET,
        name: "listHookGroups",
        scopes: Scopes::One("hooks:list-hooks:"),
        to: |r| r.to(list_hook_groups),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}",
        method: Method::GET,
        name: "listHooks",
        scopes: Scopes::One("hooks:list-hooks:<hookGroupId>"),
        to: |r| r.to(list_hooks),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/status",
        method: Method::GET,
        name: "getHookStatus",
        scopes: Scopes::One("hooks:status:<hookGroupId>/<hookId>"),
        to: |r| r.to(get_hook_status),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/trigger",
        method: Method::POST,
        name: "triggerHook",
        scopes: Scopes::One("hooks:trigger-hook:<hookGroupId>/<hookId>"),
        to: |r| r.to(trigger_hook),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/trigger/{token}",
        method: Method::POST,
        name: "triggerHookWithToken",
        scopes: Scopes::Public,
        to: |r| r.to(trigger_hook_with_token),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/token",
        method: Method::GET,
        name: "getTriggerToken",
        scopes: Scopes::One("hooks:get-trigger-token:<hookGroupId>/<hookId>"),
        to: |r| r.to(get_trigger_token),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/token",
        method: Method::POST,
        name: "resetTriggerToken",
        scopes: Scopes::One("hooks:reset-trigger-token:<hookGroupId>/<hookId>"),
        to: |r| r.to(reset_trigger_token),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/last-fires",
        method: Method::GET,
        name: "listLastFires",
        scopes: Scopes::One("hooks:list-last-fires:<hookGroupId>/<hookId>"),
        to: |r| r.to(list_last_fires),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/fire-log",
        method: Method::GET,
        name: "listFireLog",
        scopes: Scopes::One("hooks:list-last-fires:<hookGroupId>/<hookId>"),
        to: |r| r.to(list_fire_log),
    },
    ApiRoute {
        path: HOOK,
        method: Method::GET,
        name: "hook",
        scopes: Scopes::One("hooks:get:<hookGroupId>:<hookId>"),
        to: |r| r.to(hook),
    },
    ApiRoute { path: HOOK, method: Method::PUT, name: "createHook", scopes: MODIFY, to: |r| r.to(create_hook) },
    ApiRoute { path: HOOK, method: Method::POST, name: "updateHook", scopes: MODIFY, to: |r| r.to(update_hook) },
    ApiRoute {
        path: HOOK,
        method: Method::DELETE,
        name: "removeHook",
        scopes: Scopes::One("hooks:modify-hook:<hookGroupId>/<hookId>"),
        to: |r| r.to(remove_hook),
    },
];

/// Registers every route. As Express does for upstream, a GET route also answers HEAD, every path answers OPTIONS
/// with the methods it has, and a method a path does not have gets the 404 of unmatched paths.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for path in paths(ROOT_ROUTES) {
        cfg.service(resource(ROOT_ROUTES, path));
    }
    let mut api = web::scope(API_PREFIX);
    for path in paths(API_ROUTES) {
        api = api.service(resource(API_ROUTES, path));
    }
    cfg.service(api);
}

/// The API method a request was routed to, from the route's pattern (as actix reports it) and HTTP method;
/// `unknown` for anything unmatched.
pub fn api_method(method: &Method, pattern: Option<&str>) -> &'static str {
    route(method, pattern).map_or("unknown", |r| r.name)
}

fn route(method: &Method, pattern: Option<&str>) -> Option<&'static ApiRoute> {
    let pattern = pattern?;
    // Each path is also routed with a trailing slash.
    let pattern = if pattern.len() > 1 { pattern.strip_suffix('/').unwrap_or(pattern) } else { pattern };
    let (routes, path) = match pattern.strip_prefix(API_PREFIX) {
        Some(path) => (API_ROUTES, path),
        None => (ROOT_ROUTES, pattern),
    };
    let method = if method == Method::HEAD { &Method::GET } else { method };
    routes.iter().find(|r| r.path == path && r.method == method)
}

/// Each API method's declared scopes.
pub fn declared_scopes() -> impl Iterator<Item = (&'static str, Scopes)> {
    API_ROUTES.iter().map(|r| (r.name, r.scopes))
}

/// Each path of `routes` once, in order.
fn paths(routes: &'static [ApiRoute]) -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = Vec::new();
    for route in routes {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    paths
}

fn resource(routes: &'static [ApiRoute], path: &'static str) -> actix_web::Resource {
    let mut allow: Vec<&str> = Vec::new();
    // Express routes are not strict about a trailing slash: `/ping/` is `/ping`.
    let mut resource = web::resource([path.to_owned(), format!("{path}/")]).default_service(web::to(not_found));
    for route in routes.iter().filter(|r| r.path == path) {
        allow.push(route.method.as_str());
        let guarded = if route.method == Method::GET {
            allow.push("HEAD");
            web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
        } else {
            web::route().method(route.method.clone())
        };
        resource = resource.route((route.to)(guarded));
    }
    allow.sort_unstable();
    allow.dedup();
    let allow = allow.join(", ");
    resource.route(web::route().method(Method::OPTIONS).to(move || std::future::ready(options(&allow))))
}

/// Express's answer to OPTIONS: the path's methods, in a header and as the body.
fn options(allow: &str) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Allow", allow)).content_type("text/plain").body(allow.to_owned())
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
    HttpResponse::Ok().json(hooks_core::version())
}

/// `heartbeat`: 200 `{}` while the database answers, else 503 naming what is down.
async fn heartbeat(st: Data<AppState>) -> HttpResponse {
    let report = st.health.check().await;
    let status = actix_web::http::StatusCode::from_u16(report.status())
        .unwrap_or(actix_web::http::StatusCode::SERVICE_UNAVAILABLE);
    HttpResponse::build(status).json(report.body())
}

async fn list_hook_groups(req: HttpRequest, body: Body, st: Data<AppState>) -> Reply {
    let call = Call::start(&[], &req, &body)?;
    authorize(&st, &req, &body, &call).await?;
    call.check_query(&req, &[])?;
    let mut conn = st.conn(&call).await?;
    let groups = store::list_hook_groups(&mut conn).await.map_err(|e| internal(&call, &e))?;
    Ok(HttpResponse::Ok().json(json!({"groups": groups})))
}

async fn list_hooks(req: HttpRequest, path: Path<String>, body: Body, st: Data<AppState>) -> Reply {
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

/// Starts a call on `/hooks/<g>/<h>...`: body, auth, ids, query.
async fn hook_call(
    req: &HttpRequest,
    (g, h): (&str, &str),
    body: &Body,
    st: &AppState,
) -> Result<(Call, Caller), ApiError> {
    let call = Call::start(&[("hookGroupId", g), ("hookId", h)], req, body)?;
    let caller = authorize(st, req, body, &call).await?;
    call.check_ids(g, Some(h))?;
    call.check_query(req, &[])?;
    Ok((call, caller))
}

/// The hook's key from the URL's ids (which the call has checked against upstream's patterns).
fn hook_key(call: &Call, g: &str, h: &str) -> Result<HookKey, ApiError> {
    HookKey::parse(g, h).map_err(|e| call.error(ErrorCode::InvalidRequestArguments, e.to_string()))
}

async fn find(st: &AppState, call: &Call, g: &str, h: &str) -> Result<hooks_core::Hook, ApiError> {
    st.hooks
        .find(&hook_key(call, g, h)?)
        .await
        .map_err(|e| internal(call, &e))?
        .ok_or_else(|| call.error(ErrorCode::ResourceNotFound, "No such hook"))
}

async fn hook(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) = hook_call(&req, (&g, &h), &body, &st).await?;
    let hook = find(&st, &call, &g, &h).await?;
    Ok(HttpResponse::Ok().json(hook.definition.to_json()))
}

async fn get_hook_status(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
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
    let mut status = json!({"lastFire": last_fire});
    if let Some(next) = hook.next_scheduled_date.filter(|_| !hook.definition.schedule.is_empty()) {
        status["nextScheduledDate"] = json!(time::to_json(next));
    }
    Ok(HttpResponse::Ok().json(status))
}

/// Reads a create/update body: schema problems are InputValidationError.
fn parse_input(call: &Call, req: &HttpRequest, st: &AppState) -> Result<HookInput, ApiError> {
    call.check_json_content_type(req)?;
    st.schemas.create_hook_request.validate(&call.body).map_err(|m| call.error(ErrorCode::InputValidationError, m))?;
    // The schema admits only what the model reads, so this fails only where the two disagree (a bug): say so in
    // upstream's format rather than as a 500.
    serde_json::from_value(call.body.clone()).map_err(|e| {
        call.error(
            ErrorCode::InputValidationError,
            format!("\nSchema Validation Failed!\nRejecting Schema: /schemas/hooks/v1/create-hook-request.json#\nErrors:\n  * data: {e}"),
        )
    })
}

/// Validates a definition read by [`parse_input`]: its problems are InputError.
fn define(call: &Call, g: &str, h: &str, input: HookInput, st: &AppState) -> Result<HookDefinition, ApiError> {
    HookGroupId::parse(g)
        .and_then(|g| HookId::parse(h).map(|h| (g, h)))
        .and_then(|(g, h)| HookDefinition::parse(g, h, input, &st.denylist))
        .map_err(|e| call.error(ErrorCode::InputError, e.to_string()))
}

async fn create_hook(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
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
    Ok(HttpResponse::Ok().json(stored.definition.to_json()))
}

async fn update_hook(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
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

async fn remove_hook(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
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

async fn get_trigger_token(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) = hook_call(&req, (&g, &h), &body, &st).await?;
    let hook = find(&st, &call, &g, &h).await?;
    Ok(HttpResponse::Ok().json(json!({"token": hook.trigger_token.expose()})))
}

async fn reset_trigger_token(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    let mut conn = st.conn(&call).await?;
    let token = store::reset_trigger_token(&mut conn, &st.keyring, &hook_key(&call, &g, &h)?, client_id(&caller))
        .await
        .map_err(|e| internal(&call, &e))?
        .ok_or_else(|| call.error(ErrorCode::ResourceNotFound, "No such hook"))?;
    Ok(HttpResponse::Ok().json(json!({"token": token.expose()})))
}

async fn trigger_hook(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    check_trigger_body(&call, &req, &st)?;
    let hook = find(&st, &call, &g, &h).await?;
    let ctx = FireContext::trigger_hook(call.body.clone(), client_id(&caller));
    fire(&st, &call, &hook, ctx).await
}

async fn trigger_hook_with_token(
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
    st.schemas.trigger_hook.validate(&call.body).map_err(|m| call.error(ErrorCode::InputValidationError, m))
}

/// Validates the payload, fires, and maps the outcome onto upstream's replies.
async fn fire(st: &AppState, call: &Call, hook: &hooks_core::Hook, ctx: FireContext) -> Reply {
    let def = &hook.definition;
    if let Err(e) = def.trigger_schema.validate(&call.body) {
        let key = hooks_core::HookKey::new(def.hook_group_id.clone(), def.hook_id.clone());
        let error = format!("the payload does not match the hook's triggerSchema: {}", e.locations.join("; "));
        let event = FireEvent::without_task(&key, ctx.fired_by, EventOutcome::PayloadRejected, error, ctx.source);
        st.call_fires.record_refused(event).await;
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

fn invalid_token(call: &Call) -> ApiError {
    call.error(ErrorCode::InputError, "Invalid continuation token")
}

async fn list_last_fires(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let call = Call::start(&[("hookGroupId", &g), ("hookId", &h)], &req, &body)?;
    authorize(&st, &req, &body, &call).await?;
    call.check_ids(&g, Some(&h))?;
    let (limit, token) = page_query(&call, &req)?;
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
async fn list_fire_log(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let call = Call::start(&[("hookGroupId", &g), ("hookId", &h)], &req, &body)?;
    authorize(&st, &req, &body, &call).await?;
    call.check_ids(&g, Some(&h))?;
    let (limit, token) = page_query(&call, &req)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_named_by_api_method() {
        let name = |m: Method, p: &str| api_method(&m, Some(p));
        assert_eq!(name(Method::POST, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}/trigger"), "triggerHook");
        assert_eq!(name(Method::PUT, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "createHook");
        assert_eq!(name(Method::POST, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "updateHook");
        assert_eq!(name(Method::GET, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "hook");
        assert_eq!(name(Method::HEAD, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "hook");
        assert_eq!(name(Method::GET, "/api/hooks/v1/hooks/{hookGroupId}"), "listHooks");
        assert_eq!(name(Method::GET, "/__heartbeat__"), "heartbeat");
        assert_eq!(name(Method::GET, "/metrics"), "metrics");
        assert_eq!(name(Method::GET, "/api/hooks/v1/metrics"), "unknown");
        assert_eq!(name(Method::PATCH, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "unknown");
        assert_eq!(api_method(&Method::GET, None), "unknown");
    }
}
