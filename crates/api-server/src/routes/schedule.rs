//! A hook's upcoming slots (an extension, docs/api.md): when its schedule will fire next.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use hooks_core::time;
use serde_json::json;

use super::{Reply, find};
use crate::auth::authorize;
use crate::body::Body;
use crate::call::Call;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Slots listed when `count` is not given.
const DEFAULT_COUNT: usize = 10;
/// The most slots one call lists.
const MAX_COUNT: usize = 100;

pub(super) async fn hook_schedule(
    req: HttpRequest,
    path: Path<(String, String)>,
    body: Body,
    st: Data<AppState>,
) -> Reply {
    let (g, h) = path.into_inner();
    let call = Call::start(&[("hookGroupId", &g), ("hookId", &h)], &req, &body)?;
    authorize(&st, &req, &body, &call).await?;
    call.check_ids(&g, Some(&h))?;
    let count = count(&call, &req)?;
    let hook = find(&st, &call, &g, &h).await?;
    let schedule = &hook.definition.schedule;
    let slots: Vec<String> = schedule.next_slots(time::now_millis(), count).into_iter().map(time::to_json).collect();
    Ok(HttpResponse::Ok().json(json!({"schedule": schedule.to_strings(), "nextSlots": slots})))
}

/// The query's `count`: 1 to [`MAX_COUNT`] in decimal digits, [`DEFAULT_COUNT`] when absent.
fn count(call: &Call, req: &HttpRequest) -> Result<usize, ApiError> {
    let query = call.check_query(req, &["count"])?;
    let Some((_, text)) = query.iter().find(|(k, _)| k == "count") else { return Ok(DEFAULT_COUNT) };
    text.parse::<usize>()
        .ok()
        .filter(|n| text.bytes().all(|b| b.is_ascii_digit()) && (1..=MAX_COUNT).contains(n))
        .ok_or_else(|| {
            call.error(
                ErrorCode::InputError,
                format!("count: must be a whole number from 1 to {MAX_COUNT}, not {text:?}"),
            )
        })
}
