//! Hostile Pulse messages: each case gets a hook of its own bound to the suite's exchange under `case.<n>.#`, its
//! message is published there, and the suite waits for what should become of it: an error (or success) last fire,
//! the message in the dead-letter queue, or the message acknowledged without a fire.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use serde_json::{Value, json};

use crate::client::{Api, Publisher};
use crate::corpus::{self, PulseCase, PulseExpect, TemplateCase};
use crate::report::{Category, Outcome};

/// One message to throw, from `pulse.json` or a template marked `"pulse": true`.
pub struct Throw {
    /// The case's name.
    pub name: String,
    /// The hook's definition, bindings aside.
    pub hook: Value,
    /// The message.
    pub body: Vec<u8>,
    /// Appended to `case.<n>.`.
    pub suffix: String,
    /// What should become of it.
    pub expect: PulseExpect,
}

impl Throw {
    /// From a Pulse case.
    pub fn from_case(case: &PulseCase) -> anyhow::Result<Self> {
        Ok(Self {
            name: case.name.clone(),
            hook: corpus::merge(&corpus::good_hook(), case.hook.as_ref().unwrap_or(&json!({}))),
            body: case.message.bytes()?,
            suffix: case.routing_key_suffix.clone().unwrap_or_else(|| "x".to_owned()),
            expect: case.expect.clone(),
        })
    }

    /// From a template case: its payload is the message; its error, the last fire's.
    pub fn from_template(case: &TemplateCase) -> anyhow::Result<Self> {
        let mut hook = corpus::good_hook();
        hook["task"] = case.task_template();
        Ok(Self {
            name: format!("template: {}", case.name),
            hook,
            body: serde_json::to_vec(&corpus::expand(&case.payload))?,
            suffix: "x".to_owned(),
            expect: case.error.clone().map_or(PulseExpect::Fired, PulseExpect::Error),
        })
    }
}

/// Where messages go and are looked for.
pub struct Broker<'a> {
    /// Publishes to the suite's exchange.
    pub publisher: &'a Publisher,
    /// The broker's URL (to read the dead-letter queue).
    pub url: &'a str,
    /// The listener's dead-letter queue.
    pub dead_letter_queue: String,
    /// The listener's operations address, for its counters.
    pub listener_ops: String,
}

/// Throws every message, then waits (at most `patience`) for each to meet its fate.
pub async fn run(api: &Api, broker: &Broker<'_>, throws: &[Throw], patience: Duration, category: &mut Category) {
    let invalid_before = invalid_count(&broker.listener_ops).await;
    let mut pending: Vec<usize> = Vec::new();
    for (i, throw) in throws.iter().enumerate() {
        let mut hook = throw.hook.clone();
        hook["bindings"] = json!([{"exchange": broker.publisher.exchange, "routingKeyPattern": format!("case.{i}.#")}]);
        if let Err(e) = api.call("PUT", &format!("/hooks/hostile/pulse-{i}"), Some(&hook)).await {
            category.add(&throw.name, Outcome::Unexpected(format!("createHook: {e:#}")));
            continue;
        }
        pending.push(i);
    }
    let mut published = Vec::new();
    for i in pending {
        let throw = &throws[i];
        let key = format!("case.{i}.{}", throw.suffix);
        match broker.publisher.publish_routed(&key, &message_id(i), &throw.body, Duration::from_secs(30)).await {
            Ok(()) => published.push(i),
            Err(e) => category.add(&throw.name, Outcome::Unexpected(format!("publishing: {e:#}"))),
        }
    }

    let deadline = Instant::now() + patience;
    let mut dead_lettered: HashSet<String> = HashSet::new();
    let mut waiting = published;
    // Discarded messages leave no trace but a counter: they are judged once everything else has settled.
    let mut discarded = Vec::new();
    while !waiting.is_empty() {
        dead_lettered.extend(read_dead_letters(broker).await);
        let mut still = Vec::new();
        for i in waiting {
            let throw = &throws[i];
            let fires = api.last_fires("hostile", &format!("pulse-{i}")).await.unwrap_or_default();
            let dead = dead_lettered.contains(&message_id(i));
            match (&throw.expect, fires.first(), dead) {
                (PulseExpect::Discarded, None, false) => discarded.push(i),
                (_, None, false) => still.push(i),
                (expect, fire, dead) => category.add(&throw.name, judge(expect, fire, dead)),
            }
        }
        waiting = still;
        if Instant::now() > deadline {
            for i in waiting.drain(..) {
                let why =
                    format!("nothing became of the message within {patience:?} (expected {:?})", throws[i].expect);
                category.add(&throws[i].name, Outcome::Unexpected(why));
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Settle: a discarded message must not turn into a fire or a dead letter later either.
    tokio::time::sleep(Duration::from_secs(2)).await;
    dead_lettered.extend(read_dead_letters(broker).await);
    let invalid = invalid_count(&broker.listener_ops).await.saturating_sub(invalid_before);
    for i in &discarded {
        let fires = api.last_fires("hostile", &format!("pulse-{i}")).await.unwrap_or_default();
        let outcome = if let Some(fire) = fires.first() {
            Outcome::Unexpected(format!("fired: {}", corpus::shorten(&fire.to_string())))
        } else if dead_lettered.contains(&message_id(*i)) {
            Outcome::Unexpected("dead-lettered, not discarded".into())
        } else if invalid < discarded.len() as u64 {
            Outcome::Unexpected(format!("only {invalid} messages counted invalid for {} discarded", discarded.len()))
        } else {
            Outcome::Expected
        };
        category.add(&throws[*i].name, outcome);
    }
}

fn judge(expect: &PulseExpect, fire: Option<&Value>, dead: bool) -> Outcome {
    let result = fire.map(|f| f["result"].as_str().unwrap_or_default());
    let error = fire.map(|f| f["error"].as_str().unwrap_or_default()).unwrap_or_default();
    match (expect, result, dead) {
        (PulseExpect::Error(text), Some("error"), false) if error.contains(text.as_str()) => Outcome::Expected,
        (PulseExpect::Fired, Some("success"), false) => Outcome::Expected,
        (PulseExpect::DeadLetter, None, true) => Outcome::Expected,
        _ => Outcome::Unexpected(format!(
            "expected {expect:?}; saw {}{}",
            fire.map_or("no fire".to_owned(), |f| corpus::shorten(&f.to_string())),
            if dead { ", dead-lettered" } else { "" },
        )),
    }
}

fn message_id(i: usize) -> String {
    format!("hostile-case-{i}")
}

/// The message ids taken off the dead-letter queue now.
async fn read_dead_letters(broker: &Broker<'_>) -> Vec<String> {
    let Ok(connection) = lapin::Connection::connect(broker.url, lapin::ConnectionProperties::default()).await else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    if let Ok(channel) = connection.create_channel().await {
        let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        if channel.queue_declare(broker.dead_letter_queue.as_str().into(), passive, FieldTable::default()).await.is_ok()
        {
            let get = BasicGetOptions { no_ack: true };
            while let Ok(Some(message)) = channel.basic_get(broker.dead_letter_queue.as_str().into(), get).await {
                ids.push(
                    message.delivery.properties.message_id().as_ref().map(ToString::to_string).unwrap_or_default(),
                );
            }
        }
    }
    let _ = connection.close(200, "ok".into()).await;
    ids
}

/// The listener's count of messages refused by a triggerSchema.
async fn invalid_count(ops: &str) -> u64 {
    let text = match reqwest::get(format!("http://{ops}/metrics")).await {
        Ok(res) => res.text().await.unwrap_or_default(),
        Err(_) => return 0,
    };
    text.lines()
        .find(|l| l.starts_with("hooks_pulse_messages_total{") && l.contains(r#"outcome="invalid""#))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}
