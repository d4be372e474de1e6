//! Render previews (an extension, docs/api.md): the task a fire would create, rendered exactly as the fire would
//! render it, for a stored hook (renderHook) or for a definition before it is saved (renderDefinition). Nothing
//! is created or recorded: no task, no last fire, no fire-log event.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use hooks_core::auth::Caller;
use hooks_core::{FireContext, FireOptions, FiredBy, HookDefinition};
use serde_json::{Map, Value, json};

use super::fires::{check_payload_shape, check_trigger_schema, payload_task_id, render_error};
use super::hooks::{define, read_input};
use super::{Reply, find, hook_call};
use crate::auth::{authorize, client_id};
use crate::body::Body;
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// What renderDefinition renders as when its definition names no ids: the template never sees them, so they
/// only have to be valid.
const PLACEHOLDER_ID: &str = "preview";

/// The event a preview pretends, read from the request's body.
struct Event {
    fired_by: FiredBy,
    /// `None` for a scheduled fire, which has no payload.
    payload: Option<Value>,
    now: Option<DateTime<Utc>>,
    /// A Pulse message's exchange and routing key.
    message: Option<(String, String)>,
}

impl Event {
    /// Reads the body's event fields (every other field but `hook`, which only renderDefinition reads, is
    /// refused), checking the payload's shape as triggerHook checks its body.
    fn read(call: &Call, st: &AppState, body: &Map<String, Value>, with_hook: bool) -> Result<Self, ApiError> {
        let refuse = |message: String| call.error(ErrorCode::InputError, message);
        let known: &[&str] = if with_hook { &DEFINITION_FIELDS } else { &EVENT_FIELDS[..] };
        if let Some(unknown) = body.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(refuse(format!("{unknown}: is not a field of this request (it takes {})", known.join(", "))));
        }
        let text = |name: &str| match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(refuse(format!("{name}: must be a string"))),
        };
        let fired_by = match text("firedBy")? {
            None => FiredBy::TriggerHook,
            // A webhook's context comes from its sender's headers, which a preview has none of.
            Some(name) => FiredBy::parse(&name).filter(|f| *f != FiredBy::Webhook).ok_or_else(|| {
                refuse(format!(
                    "firedBy: must be triggerHook, triggerHookWithToken, schedule or pulseMessage, not {name:?}"
                ))
            })?,
        };
        let now = text("now")?
            .map(|now| {
                DateTime::parse_from_rfc3339(&now).map(|t| t.with_timezone(&Utc)).map_err(|e| {
                    refuse(format!("now: must be an ISO 8601 time such as 2026-12-05T10:00:00.000Z, not {now:?} ({e})"))
                })
            })
            .transpose()?;
        let message = match (fired_by, text("exchange")?, text("routingKey")?) {
            (FiredBy::PulseMessage, Some(exchange), Some(routing_key)) => Some((exchange, routing_key)),
            (FiredBy::PulseMessage, None, _) => return Err(refuse("exchange: a pulseMessage fire needs one".into())),
            (FiredBy::PulseMessage, _, None) => return Err(refuse("routingKey: a pulseMessage fire needs one".into())),
            (_, None, None) => None,
            (_, Some(_), _) => return Err(refuse("exchange: only a pulseMessage fire has one".into())),
            (_, _, Some(_)) => return Err(refuse("routingKey: only a pulseMessage fire has one".into())),
        };
        let payload = match (fired_by, body.get("payload")) {
            (FiredBy::Schedule, None | Some(Value::Null)) => None,
            (FiredBy::Schedule, Some(_)) => return Err(refuse("payload: a scheduled fire has none".into())),
            (_, None) => Some(json!({})),
            (_, Some(payload)) => {
                check_payload_shape(call, st, payload)?;
                Some(payload.clone())
            }
        };
        Ok(Self { fired_by, payload, now, message })
    }

    /// The fire's context and options, as the daemon firing such an event builds them; the taskId is the payload's
    /// for an API call that names one (as triggerHook takes it), otherwise a fresh one.
    fn context(self, call: &Call, caller: &Caller) -> Result<(FireContext, FireOptions), ApiError> {
        let payload = self.payload.unwrap_or_else(|| json!({}));
        let task_id = match self.fired_by {
            FiredBy::TriggerHook | FiredBy::TriggerHookWithToken => payload_task_id(call, &payload)?,
            FiredBy::Schedule | FiredBy::PulseMessage | FiredBy::Webhook => None,
        };
        let ctx = match (self.fired_by, self.message) {
            (FiredBy::Schedule, _) => FireContext::schedule(),
            (FiredBy::TriggerHook, _) => FireContext::trigger_hook(payload, client_id(caller)),
            (FiredBy::TriggerHookWithToken, _) => FireContext::trigger_hook_with_token(payload),
            // Refused when the body was read; kept so the match is total.
            (FiredBy::Webhook, _) => FireContext::webhook(payload, "", "", ""),
            (FiredBy::PulseMessage, message) => {
                let (exchange, routing_key) = message.unwrap_or_default();
                FireContext::pulse_message(payload, &exchange, &routing_key)
            }
        };
        Ok((ctx, FireOptions { task_id, now: self.now }))
    }
}

/// The fields of renderHook's body: the event.
const EVENT_FIELDS: [&str; 5] = ["payload", "firedBy", "now", "exchange", "routingKey"];
/// The fields of renderDefinition's body: the definition and the event.
const DEFINITION_FIELDS: [&str; 6] = ["hook", "payload", "firedBy", "now", "exchange", "routingKey"];

/// The body as an object (`Call::start` has refused anything but an object or an array).
fn body_object(call: &Call) -> Result<&Map<String, Value>, ApiError> {
    call.body.as_object().ok_or_else(|| call.error(ErrorCode::InputError, "the body must be a JSON object"))
}

pub(super) async fn render_hook(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let (call, caller) = hook_call(&req, (&g, &h), &body, &st).await?;
    call.check_json_content_type(&req)?;
    let event = Event::read(&call, &st, body_object(&call)?, false)?;
    let hook = find(&st, &call, &g, &h).await?;
    preview(&st, &call, &caller, &hook.definition, event).await
}

pub(super) async fn render_definition(req: HttpRequest, body: Body, st: Data<AppState>) -> Reply {
    let call = Call::start(&[], &req, &body)?;
    let caller = authorize(&st, &req, &body, &call).await?;
    call.check_query(&req, &[])?;
    call.check_json_content_type(&req)?;
    let fields = body_object(&call)?;
    let event = Event::read(&call, &st, fields, true)?;
    let hook = fields.get("hook").ok_or_else(|| call.error(ErrorCode::InputError, "hook: is required"))?;
    let input = read_input(&call, hook, &st)?;
    let g = input.hook_group_id.clone().unwrap_or_else(|| PLACEHOLDER_ID.to_owned());
    let h = input.hook_id.clone().unwrap_or_else(|| PLACEHOLDER_ID.to_owned());
    let def = define(&call, &g, &h, input, &st)?;
    preview(&st, &call, &caller, &def, event).await
}

/// Checks the payload against the hook's triggerSchema and renders, answering as triggerHook would answer a
/// refusal or a render error.
async fn preview(st: &AppState, call: &Call, caller: &Caller, def: &HookDefinition, event: Event) -> Reply {
    if let Some(payload) = &event.payload {
        check_trigger_schema(call, def, payload).map_err(|refused| refused.answer)?;
    }
    let (ctx, opts) = event.context(call, caller)?;
    let task = st.firer.preview(def, ctx, opts).await.map_err(|e| render_error(call, &e))?;
    Ok(HttpResponse::Ok().json(json!({"task": task})))
}
