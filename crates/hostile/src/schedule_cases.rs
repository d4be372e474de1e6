//! Scheduled hostile hooks: the templates marked `"scheduled": true`, each in a hook firing every second for the
//! whole run next to a good hook that does the same; at the end each must have recorded its error fires, and the
//! good one a fire every second.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::client::Api;
use crate::corpus::{self, TemplateCase};
use crate::report::{Category, Check, Outcome};

/// Every second.
pub const EVERY_SECOND: &str = "* * * * * *";

/// Creates the good scheduled hook (`hostile/good-schedule`) and one hook per case (`hostile/scheduled-<n>`).
pub async fn start(api: &Api, cases: &[&TemplateCase]) -> anyhow::Result<()> {
    let mut good = corpus::good_hook();
    good["schedule"] = json!([EVERY_SECOND]);
    api.call("PUT", "/hooks/hostile/good-schedule", Some(&good)).await?;
    for (i, case) in cases.iter().enumerate() {
        let mut hook = corpus::good_hook();
        hook["schedule"] = json!([EVERY_SECOND]);
        hook["task"] = case.task_template();
        api.call("PUT", &format!("/hooks/hostile/scheduled-{i}"), Some(&hook)).await?;
    }
    Ok(())
}

/// Judges each scheduled case by its last fires (at least two, every one as expected), then deletes its hook.
pub async fn judge(api: &Api, cases: &[&TemplateCase], category: &mut Category) {
    for (i, case) in cases.iter().enumerate() {
        let hook = format!("scheduled-{i}");
        let outcome = match api.last_fires("hostile", &hook).await {
            Err(e) => Outcome::Unexpected(format!("listLastFires: {e:#}")),
            Ok(fires) if fires.len() < 2 => {
                Outcome::Unexpected(format!("{} fires recorded, expected one a second", fires.len()))
            }
            Ok(fires) => match fires.iter().find(|f| !as_expected(case, f)) {
                None => Outcome::Expected,
                Some(f) => Outcome::Unexpected(format!(
                    "of {} fires, one is {} (expected {})",
                    fires.len(),
                    corpus::shorten(&f.to_string()),
                    case.error.as_deref().map_or("success".to_owned(), |e| format!("an error containing {e:?}")),
                )),
            },
        };
        category.add(&case.name, outcome);
        let _ = api.call("DELETE", &format!("/hooks/hostile/{hook}"), None).await;
    }
}

fn as_expected(case: &TemplateCase, fire: &Value) -> bool {
    match &case.error {
        Some(text) => fire["result"] == "error" && fire["error"].as_str().is_some_and(|e| e.contains(text.as_str())),
        None => fire["result"] == "success",
    }
}

/// Whether the good scheduled hook fired every second between `from` and `to` (a second or two of lag at the
/// edges allowed; no gap between fires over 3 s).
pub async fn good_schedule(api: &Api, from: DateTime<Utc>, to: DateTime<Utc>) -> Check {
    let what = "good hook scheduled every second".to_owned();
    let fires = match api.last_fires("hostile", "good-schedule").await {
        Ok(f) => f,
        Err(e) => return Check { what, seen: format!("listLastFires: {e:#}"), ok: false },
    };
    let mut times: Vec<DateTime<Utc>> = fires
        .iter()
        .filter(|f| f["result"] == "success")
        .filter_map(|f| f["taskCreateTime"].as_str()?.parse().ok())
        .filter(|t| *t >= from && *t <= to)
        .collect();
    times.sort();
    let failed = fires.iter().filter(|f| f["result"] != "success").count();
    let gaps = times.windows(2).map(|w| (w[1] - w[0]).num_milliseconds() as f64 / 1000.0);
    let largest = gaps.fold(0.0f64, f64::max);
    let seconds = (to - from).num_seconds();
    let ok = failed == 0 && times.len() as i64 >= seconds - 3 && largest <= 3.0;
    Check {
        what,
        seen: format!("{} fires in {seconds} s, largest gap {largest:.1} s, {failed} failed", times.len()),
        ok,
    }
}
