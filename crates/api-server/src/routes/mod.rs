//! The routes: the endpoint table (each endpoint's path, method, name, scopes and handler, declared once) and how
//! it is registered with actix. The handlers live by concern: [`hooks`] (hook definitions and trigger tokens),
//! [`fires`] (triggering and reading last fires), [`service`] (monitoring, schemas, robots), and the project's
//! extensions (docs/api.md): [`preview`] (render previews), [`schedule`] (upcoming slots), [`pause`] (pausing
//! and resuming) and [`webhook`] (signed webhooks). Each handler checks
//! in upstream's order: body, auth and scopes, URL parameters, query string, input, then the work.

mod fires;
mod hooks;
mod pause;
mod preview;
mod schedule;
mod service;
mod webhook;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, guard, web};
use serde_json::json;

use crate::auth::authorize;
use crate::body::Body;
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::{AppState, internal};
use hooks_core::HookKey;
use hooks_core::auth::Caller;

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
    /// At least one of these scopes.
    AnyOf(&'static [&'static str]),
    /// Any caller with valid credentials, whatever its scopes; not an anonymous one.
    Authenticated,
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
    ApiRoute {
        path: "/robots.txt",
        method: Method::GET,
        name: "robots",
        scopes: Scopes::Public,
        to: |r| r.to(service::robots),
    },
    ApiRoute {
        path: "/__heartbeat__",
        method: Method::GET,
        name: "heartbeat",
        scopes: Scopes::Public,
        to: |r| r.to(service::heartbeat),
    },
    ApiRoute {
        path: "/__lbheartbeat__",
        method: Method::GET,
        name: "lbheartbeat",
        scopes: Scopes::Public,
        to: |r| r.to(service::empty_object),
    },
    ApiRoute {
        path: "/__version__",
        method: Method::GET,
        name: "version",
        scopes: Scopes::Public,
        to: |r| r.to(service::version),
    },
    ApiRoute {
        path: "/schemas/hooks/v1/{file}",
        method: Method::GET,
        name: "schema",
        scopes: Scopes::Public,
        to: |r| r.to(service::schema),
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
    ApiRoute { path: "/ping", method: Method::GET, name: "ping", scopes: Scopes::Public, to: |r| r.to(service::ping) },
    ApiRoute {
        path: "/__lbheartbeat__",
        method: Method::GET,
        name: "lbheartbeat",
        scopes: Scopes::Public,
        to: |r| r.to(service::empty_object),
    },
    ApiRoute {
        path: "/__heartbeat__",
        method: Method::GET,
        name: "heartbeat",
        scopes: Scopes::Public,
        to: |r| r.to(service::heartbeat),
    },
    ApiRoute {
        path: "/__version__",
        method: Method::GET,
        name: "version",
        scopes: Scopes::Public,
        to: |r| r.to(service::version),
    },
    ApiRoute {
        path: "/hooks",
        method: Method::GET,
        name: "listHookGroups",
        scopes: Scopes::One("hooks:list-hooks:"),
        to: |r| r.to(hooks::list_hook_groups),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}",
        method: Method::GET,
        name: "listHooks",
        scopes: Scopes::One("hooks:list-hooks:<hookGroupId>"),
        to: |r| r.to(hooks::list_hooks),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/status",
        method: Method::GET,
        name: "getHookStatus",
        scopes: Scopes::One("hooks:status:<hookGroupId>/<hookId>"),
        to: |r| r.to(fires::get_hook_status),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/trigger",
        method: Method::POST,
        name: "triggerHook",
        scopes: Scopes::One("hooks:trigger-hook:<hookGroupId>/<hookId>"),
        to: |r| r.to(fires::trigger_hook),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/trigger/{token}",
        method: Method::POST,
        name: "triggerHookWithToken",
        scopes: Scopes::Public,
        to: |r| r.to(fires::trigger_hook_with_token),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/token",
        method: Method::GET,
        name: "getTriggerToken",
        scopes: Scopes::One("hooks:get-trigger-token:<hookGroupId>/<hookId>"),
        to: |r| r.to(hooks::get_trigger_token),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/token",
        method: Method::POST,
        name: "resetTriggerToken",
        scopes: Scopes::One("hooks:reset-trigger-token:<hookGroupId>/<hookId>"),
        to: |r| r.to(hooks::reset_trigger_token),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/fire-log",
        method: Method::GET,
        name: "listFireLog",
        scopes: Scopes::One("hooks:list-last-fires:<hookGroupId>/<hookId>"),
        to: |r| r.to(fires::list_fire_log),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/last-fires",
        method: Method::GET,
        name: "listLastFires",
        scopes: Scopes::One("hooks:list-last-fires:<hookGroupId>/<hookId>"),
        to: |r| r.to(fires::list_last_fires),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/render",
        method: Method::POST,
        name: "renderHook",
        scopes: Scopes::One("hooks:trigger-hook:<hookGroupId>/<hookId>"),
        to: |r| r.to(preview::render_hook),
    },
    ApiRoute {
        path: "/render",
        method: Method::POST,
        name: "renderDefinition",
        scopes: Scopes::Authenticated,
        to: |r| r.to(preview::render_definition),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/schedule",
        method: Method::GET,
        name: "hookSchedule",
        // The form, or hook()'s (upstream's `hooks:get:<group>:<id>`): whoever may read the hook may
        // read when it fires.
        scopes: Scopes::AnyOf(&["hooks:get:<hookGroupId>/<hookId>", "hooks:get:<hookGroupId>:<hookId>"]),
        to: |r| r.to(schedule::hook_schedule),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/pause",
        method: Method::POST,
        name: "pauseHook",
        scopes: Scopes::One("hooks:modify-hook:<hookGroupId>/<hookId>"),
        to: |r| r.to(pause::pause_hook),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/resume",
        method: Method::POST,
        name: "resumeHook",
        scopes: Scopes::One("hooks:modify-hook:<hookGroupId>/<hookId>"),
        to: |r| r.to(pause::resume_hook),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/webhook",
        method: Method::PUT,
        name: "setWebhook",
        scopes: Scopes::One("hooks:modify-hook:<hookGroupId>/<hookId>"),
        to: |r| r.to(webhook::set_webhook),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/webhook",
        method: Method::GET,
        name: "getWebhook",
        scopes: Scopes::One("hooks:get:<hookGroupId>/<hookId>"),
        to: |r| r.to(webhook::get_webhook),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/webhook",
        method: Method::DELETE,
        name: "removeWebhook",
        scopes: Scopes::One("hooks:modify-hook:<hookGroupId>/<hookId>"),
        to: |r| r.to(webhook::delete_webhook),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/webhook",
        method: Method::POST,
        name: "deliverWebhook",
        // The sender's signature is the authentication.
        scopes: Scopes::Public,
        to: |r| r.to(webhook::deliver),
    },
    ApiRoute {
        path: "/hooks/{hookGroupId}/{hookId}/webhook/secret",
        method: Method::GET,
        name: "getWebhookSecret",
        scopes: Scopes::One("hooks:get-trigger-token:<hookGroupId>/<hookId>"),
        to: |r| r.to(webhook::get_webhook_secret),
    },
    ApiRoute {
        path: HOOK,
        method: Method::GET,
        name: "hook",
        scopes: Scopes::One("hooks:get:<hookGroupId>:<hookId>"),
        to: |r| r.to(hooks::hook),
    },
    ApiRoute { path: HOOK, method: Method::PUT, name: "createHook", scopes: MODIFY, to: |r| r.to(hooks::create_hook) },
    ApiRoute { path: HOOK, method: Method::POST, name: "updateHook", scopes: MODIFY, to: |r| r.to(hooks::update_hook) },
    ApiRoute {
        path: HOOK,
        method: Method::DELETE,
        name: "removeHook",
        scopes: Scopes::One("hooks:modify-hook:<hookGroupId>/<hookId>"),
        to: |r| r.to(hooks::remove_hook),
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

/// What a handler answers: a reply, or a Taskcluster error body.
type Reply = Result<HttpResponse, ApiError>;

/// Anything unmatched, as upstream: `404 {"error": "Not found"}`.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "Not found"}))
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

/// The hook `<g>/<h>`, or upstream's 404.
async fn find(st: &AppState, call: &Call, g: &str, h: &str) -> Result<hooks_core::Hook, ApiError> {
    st.hooks
        .find(&hook_key(call, g, h)?)
        .await
        .map_err(|e| internal(call, &e))?
        .ok_or_else(|| call.error(ErrorCode::ResourceNotFound, "No such hook"))
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
        assert_eq!(name(Method::POST, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}/render"), "renderHook");
        assert_eq!(name(Method::POST, "/api/hooks/v1/render"), "renderDefinition");
        assert_eq!(name(Method::GET, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}/schedule"), "hookSchedule");
        assert_eq!(name(Method::POST, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}/pause"), "pauseHook");
        assert_eq!(name(Method::POST, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}/resume"), "resumeHook");
        assert_eq!(name(Method::GET, "/__heartbeat__"), "heartbeat");
        assert_eq!(name(Method::GET, "/metrics"), "metrics");
        assert_eq!(name(Method::GET, "/api/hooks/v1/metrics"), "unknown");
        assert_eq!(name(Method::PATCH, "/api/hooks/v1/hooks/{hookGroupId}/{hookId}"), "unknown");
        assert_eq!(api_method(&Method::GET, None), "unknown");
    }
}
