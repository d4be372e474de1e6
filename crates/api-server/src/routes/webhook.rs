//! Signed webhooks (an extension, docs/api.md): configuring a hook's webhook (Hawk, like the rest of the API) and
//! receiving its deliveries (no Hawk: the sender's signature is the authentication).

use std::time::Duration;

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use hooks_core::storage::{self as store, DeliveryState, EventOutcome, FireEvent, Pause};
use hooks_core::webhook::{Delivery, DeliveryError, DeliveryHeaders, Webhook, WebhookInputError, verify};
use hooks_core::{Accepted, FiredBy, Hook, HookKey, ReadyDelivery};
use serde_json::{Value, json};

use super::fires::{check_trigger_schema, fire_reply};
use super::pause::paused;
use super::{API_PREFIX, Reply, find, hook_call, hook_key};
use crate::auth::client_id;
use crate::body::Body;
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::{AppState, internal};

/// How long a delivery's answer waits for its task: well inside GitHub's 10 s. Past it the answer is 202 and the
/// fire finishes in the background (and, should this server stop, on another: see `WebhookDeliveries`).
const ANSWER_WITHIN: Duration = Duration::from_secs(8);

pub(super) async fn set_webhook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    call.check_json_content_type(&req)?;
    let webhook = Webhook::from_request(&call.body, &st.keyring).map_err(|e| match e {
        WebhookInputError::Invalid(e) => call.error(ErrorCode::InputError, e.to_string()),
        WebhookInputError::Random(e) => internal(&call, &e),
    })?;
    let key = hook_key(&call, &g, &h)?;
    let mut conn = st.conn(&call).await?;
    let found = store::set_webhook(&mut conn, &st.keyring, &key, &webhook, client_id(&caller))
        .await
        .map_err(|e| internal(&call, &e))?;
    if !found {
        return Err(call.error(ErrorCode::ResourceNotFound, "No such hook"));
    }
    let mut reply = shown(&st, &req, &key, &webhook);
    reply["secret"] = json!(webhook.secret.expose());
    Ok(HttpResponse::Ok().json(reply))
}

pub(super) async fn get_webhook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) = hook_call(&req, (&g, &h), &body, &st).await?;
    let (hook, webhook, _) = webhook_of(&st, &call, (&g, &h)).await?;
    Ok(HttpResponse::Ok().json(shown(&st, &req, &hook.definition.key(), &webhook)))
}

pub(super) async fn get_webhook_secret(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, _) = hook_call(&req, (&g, &h), &body, &st).await?;
    let (_, webhook, _) = webhook_of(&st, &call, (&g, &h)).await?;
    Ok(HttpResponse::Ok().json(json!({"secret": webhook.secret.expose()})))
}

pub(super) async fn delete_webhook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    let key = hook_key(&call, &g, &h)?;
    let mut conn = st.conn(&call).await?;
    if !store::delete_webhook(&mut conn, &key, client_id(&caller)).await.map_err(|e| internal(&call, &e))? {
        return Err(no_webhook(&call, &key));
    }
    Ok(HttpResponse::Ok().json(json!({})))
}

/// A delivery: checked as its sender signs it, then fired once per delivery id.
pub(super) async fn deliver(req: HttpRequest, path: Path<(String, String)>, body: Body, st: Data<AppState>) -> Reply {
    let (g, h) = path.into_inner();
    let call = Call::start(&[("hookGroupId", &g), ("hookId", &h)], &req, &body)?;
    call.check_ids(&g, Some(&h))?;
    call.check_query(&req, &[])?;
    let (hook, webhook, pause) = webhook_of(&st, &call, (&g, &h)).await?;
    let key = hook.definition.key();
    let headers = DeliveryHeaders::read(|name| Some(req.headers().get(name)?.to_str().ok()?.to_owned()));
    let mut delivery =
        verify(webhook.kind, &webhook.secret, &headers, &body, chrono::Utc::now()).map_err(|e| match e {
            DeliveryError::Unauthenticated(m) => call.error(ErrorCode::AuthenticationFailed, m),
            DeliveryError::Malformed(m) => call.error(ErrorCode::InputError, m),
        })?;
    let payload = delivery_payload(&call, &req, &body)?;
    if delivery.is_ping() {
        return Ok(HttpResponse::Ok().json(json!({})));
    }
    delivery.read_event(&payload);
    if !webhook.takes(&delivery.event) {
        let problem = format!("event {:?} is not one of the webhook's events", delivery.event);
        let event = FireEvent::without_task(&key, FiredBy::Webhook, EventOutcome::Declined, problem, source(&delivery));
        st.call_fires.record_refused(event).await;
        return Ok(HttpResponse::Ok().json(json!({})));
    }
    if let Some(pause) = pause {
        return Err(paused(&call, &key, &pause));
    }
    if let Err(refused) = check_trigger_schema(&call, &hook.definition, &payload) {
        let event = FireEvent::without_task(
            &key,
            FiredBy::Webhook,
            EventOutcome::PayloadRejected,
            refused.logged,
            source(&delivery),
        );
        st.call_fires.record_refused(event).await;
        return Err(refused.answer);
    }
    let accepted = st.deliveries.accept(&st.firer, &hook, &delivery, payload).await;
    match accepted.map_err(|e| internal(&call, &e))? {
        Accepted::Earlier(earlier) => Ok(match earlier.state {
            DeliveryState::Created => HttpResponse::Ok().json(json!({"taskId": earlier.task_id})),
            DeliveryState::Pending => HttpResponse::Accepted().json(json!({"taskId": earlier.task_id})),
            DeliveryState::Declined | DeliveryState::Failed => HttpResponse::Ok().json(json!({})),
        }),
        Accepted::Ready(ready) => create_in_time(&st, &call, &hook, ready).await,
    }
}

/// Creates a claimed delivery's task, answering with the outcome if it comes within [`ANSWER_WITHIN`], else 202:
/// the creation goes on regardless (it is its own task, not this request's).
async fn create_in_time(st: &Data<AppState>, call: &Call, hook: &Hook, ready: ReadyDelivery) -> Reply {
    let task_id = ready.task_id().to_string();
    let creating = {
        let st = st.clone();
        tokio::spawn(async move { st.deliveries.create(&st.firer, &st.call_fires, ready).await })
    };
    match tokio::time::timeout(ANSWER_WITHIN, creating).await {
        Ok(Ok(result)) => fire_reply(call, &hook.definition, result),
        Ok(Err(panicked)) => Err(internal(call, &panicked)),
        Err(_) => Ok(HttpResponse::Accepted().json(json!({"taskId": task_id}))),
    }
}

/// The delivery's payload: a JSON object, sent as `application/json` or as GitHub's form (`payload=<JSON>`).
fn delivery_payload(call: &Call, req: &HttpRequest, body: &[u8]) -> Result<Value, ApiError> {
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let not_json = |why: String| call.error(ErrorCode::MalformedPayload, why);
    let payload = match media.as_str() {
        // Call::start has parsed it (and refused what is not JSON).
        "application/json" => call.body.clone(),
        "application/x-www-form-urlencoded" => {
            let field = form_urlencoded::parse(body).find(|(k, _)| k == "payload").map(|(_, v)| v.into_owned());
            let field = field.ok_or_else(|| not_json("the form has no payload field".into()))?;
            serde_json::from_str::<Value>(&field)
                .map_err(|e| not_json(format!("the form's payload is not JSON: {e}")))?
        }
        _ => {
            return Err(not_json(format!(
                "a webhook delivery must be application/json (or GitHub's application/x-www-form-urlencoded), not {}",
                if content_type.is_empty() { "null" } else { content_type }
            )));
        }
    };
    if !payload.is_object() {
        return Err(not_json("the payload must be a JSON object".into()));
    }
    Ok(payload)
}

/// What the fire log keeps of a delivery: its kind, event and id (never the payload).
fn source(delivery: &Delivery) -> serde_json::Map<String, Value> {
    let mut source = serde_json::Map::new();
    source.insert("kind".into(), json!(delivery.kind.as_str()));
    source.insert("event".into(), json!(delivery.event));
    if let Some(id) = &delivery.delivery_id {
        source.insert("deliveryId".into(), json!(id));
    }
    source
}

/// The hook and its webhook (with the hook's pause), read at once: the answer waits for one round trip, not two.
async fn webhook_of(
    st: &AppState,
    call: &Call,
    (g, h): (&str, &str),
) -> Result<(Hook, Webhook, Option<Pause>), ApiError> {
    let key = hook_key(call, g, h)?;
    let webhook = async { st.hooks.find_webhook(&key).await.map_err(|e| internal(call, &e)) };
    let (hook, webhook) = tokio::join!(find(st, call, g, h), webhook);
    let hook = hook?;
    let (webhook, pause) = webhook?.ok_or_else(|| no_webhook(call, &key))?;
    Ok((hook, webhook, pause))
}

fn no_webhook(call: &Call, key: &HookKey) -> ApiError {
    call.error(ErrorCode::ResourceNotFound, format!("hook `{key}` has no webhook"))
}

/// The webhook as `GET .../webhook` shows it: no secret.
fn shown(st: &AppState, req: &HttpRequest, key: &HookKey, webhook: &Webhook) -> Value {
    json!({"kind": webhook.kind.as_str(), "events": webhook.events, "url": delivery_url(st, req, key)})
}

/// Where senders deliver: under the deployment's root URL when one is configured (clients reach the service
/// there), else the address this request came to.
fn delivery_url(st: &AppState, req: &HttpRequest, key: &HookKey) -> String {
    let path = format!("{API_PREFIX}/hooks/{}/{}/webhook", key.group, key.id);
    if let Some(root) = &st.root_url {
        return format!("{}{path}", root.trim_end_matches('/'));
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let scheme = if st.trust_proxy { header("x-forwarded-proto") } else { None }.unwrap_or("http");
    let host = header("host").unwrap_or("localhost");
    format!("{scheme}://{host}{path}")
}
