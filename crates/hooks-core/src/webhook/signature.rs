//! Checking a delivery: its signature (over the body's bytes as sent, compared in constant time), its event and
//! its delivery id, each as its kind of sender sends them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeDelta, Utc};
use ring::hmac;
use serde_json::Value;

use super::{WebhookKind, standard_key};
use crate::SecretString;
use crate::secret::constant_time_eq;

/// How far a Standard Webhooks delivery's timestamp may be from this server's clock (the specification's
/// default): an older one is a replay, a newer one a wrong clock.
pub const STANDARD_TOLERANCE: TimeDelta = TimeDelta::minutes(5);
/// The longest delivery id kept; a longer one is not an id.
pub const MAX_DELIVERY_ID: usize = 200;
/// The longest event name taken; senders' are far shorter.
const MAX_EVENT: usize = 200;

/// The headers a delivery is read from, as the request carried them (those that are not text count as absent).
#[derive(Debug, Default)]
pub struct DeliveryHeaders(Vec<(&'static str, String)>);

impl DeliveryHeaders {
    /// Every header any kind reads, lowercase.
    pub const NAMES: [&'static str; 10] = [
        "x-hub-signature-256",
        "x-github-event",
        "x-github-delivery",
        "x-gitlab-token",
        "x-gitlab-event",
        "x-gitlab-event-uuid",
        "idempotency-key",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    ];

    /// Reads the headers in [`Self::NAMES`] through `get`.
    pub fn read(mut get: impl FnMut(&str) -> Option<String>) -> Self {
        Self(Self::NAMES.iter().filter_map(|name| Some((*name, get(name)?))).collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// A delivery whose signature holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Who sent it.
    pub kind: WebhookKind,
    /// The sender's event (`push`, `Push Hook`); for `standard`, the payload's `type` once
    /// [`Delivery::read_event`] has looked.
    pub event: String,
    /// The sender's id for it, the same on a redelivery; absent only from a GitLab too old to send one.
    pub delivery_id: Option<String>,
}

impl Delivery {
    /// A Standard Webhooks delivery names its event in the payload (`{"type": "invoice.paid", ...}`).
    pub fn read_event(&mut self, payload: &Value) {
        if self.kind == WebhookKind::Standard {
            let event = payload.get("type").and_then(Value::as_str);
            let event = event.filter(|t| t.len() <= MAX_EVENT && !t.chars().any(char::is_control));
            self.event = event.unwrap_or_default().to_owned();
        }
    }

    /// GitHub's check that the webhook is reachable, which fires nothing.
    pub fn is_ping(&self) -> bool {
        self.kind == WebhookKind::Github && self.event == "ping"
    }
}

/// Why a delivery was refused. Never carries the secret or the signature expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The signature is missing or wrong, or the delivery is stale: a 401.
    #[error("{0}")]
    Unauthenticated(String),
    /// The delivery is signed but malformed (no event, an unusable delivery id): a 400.
    #[error("{0}")]
    Malformed(String),
}

use DeliveryError::{Malformed, Unauthenticated};

/// Checks a delivery of `body` (the bytes as sent) against the webhook's `secret`, as `kind`'s sender signs it.
pub fn verify(
    kind: WebhookKind,
    secret: &SecretString,
    headers: &DeliveryHeaders,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Delivery, DeliveryError> {
    match kind {
        WebhookKind::Github => github(secret, headers, body),
        WebhookKind::Gitlab => gitlab(secret, headers),
        WebhookKind::Standard => standard(secret, headers, body, now),
    }
}

fn github(secret: &SecretString, headers: &DeliveryHeaders, body: &[u8]) -> Result<Delivery, DeliveryError> {
    let header = headers.get("x-hub-signature-256").ok_or_else(|| {
        Unauthenticated("X-Hub-Signature-256 is missing: set the webhook's secret in the sender's settings".into())
    })?;
    let signature = header
        .strip_prefix("sha256=")
        .and_then(hex)
        .ok_or_else(|| Unauthenticated("X-Hub-Signature-256 is not sha256=<64 hex digits>".into()))?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    hmac::verify(&key, body, &signature)
        .map_err(|_| Unauthenticated("X-Hub-Signature-256 does not match the body and the webhook's secret".into()))?;
    let event = required(headers, "x-github-event", "X-GitHub-Event")?;
    let id = headers.get("x-github-delivery").ok_or_else(|| Malformed("X-GitHub-Delivery is missing".into()))?;
    let delivery_id = delivery_id(Some(id.to_owned()))?;
    Ok(Delivery { kind: WebhookKind::Github, event, delivery_id })
}

fn gitlab(secret: &SecretString, headers: &DeliveryHeaders) -> Result<Delivery, DeliveryError> {
    let token = headers.get("x-gitlab-token").ok_or_else(|| {
        Unauthenticated("X-Gitlab-Token is missing: set the webhook's secret token in the sender's settings".into())
    })?;
    // Digests of equal length are compared, so timing tells nothing of the secret's length either.
    let digest = |text: &str| ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    if !constant_time_eq(digest(secret.expose()).as_ref(), digest(token).as_ref()) {
        return Err(Unauthenticated("X-Gitlab-Token is not the webhook's secret".into()));
    }
    let event = required(headers, "x-gitlab-event", "X-Gitlab-Event")?;
    let id = headers.get("x-gitlab-event-uuid").or_else(|| headers.get("idempotency-key"));
    Ok(Delivery { kind: WebhookKind::Gitlab, event, delivery_id: delivery_id(id.map(str::to_owned))? })
}

fn standard(
    secret: &SecretString,
    headers: &DeliveryHeaders,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Delivery, DeliveryError> {
    let missing = |name: &str| Unauthenticated(format!("{name} is missing: the delivery is not signed"));
    let id = headers.get("webhook-id").ok_or_else(|| missing("webhook-id"))?;
    let timestamp = headers.get("webhook-timestamp").ok_or_else(|| missing("webhook-timestamp"))?;
    let signatures = headers.get("webhook-signature").ok_or_else(|| missing("webhook-signature"))?;
    let sent = timestamp
        .parse::<i64>()
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .ok_or_else(|| Unauthenticated("webhook-timestamp is not a time in seconds since 1970".into()))?;
    if (now - sent).abs() > STANDARD_TOLERANCE {
        return Err(Unauthenticated(format!(
            "webhook-timestamp is more than {} minutes from this server's clock: a replayed or delayed delivery",
            STANDARD_TOLERANCE.num_minutes()
        )));
    }
    // The key was checked when the secret was set; a secret that no longer decodes signs nothing.
    let key = standard_key(secret.expose())
        .map_err(|_| Unauthenticated("the webhook's secret is not a Standard Webhooks secret".into()))?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let mut signed = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    signed.extend_from_slice(format!("{id}.{timestamp}.").as_bytes());
    signed.extend_from_slice(body);
    let expected = hmac::sign(&key, &signed);
    // Several signatures may be sent (while the sender rotates its secret): one matching is enough. Each is
    // compared in full, in constant time.
    let mut matched = false;
    for candidate in signatures.split(' ') {
        if let Some(sig) = candidate.strip_prefix("v1,").and_then(|b| BASE64.decode(b).ok()) {
            matched |= constant_time_eq(&sig, expected.as_ref());
        }
    }
    if !matched {
        return Err(Unauthenticated(
            "webhook-signature has no v1 signature matching the body and the webhook's secret".into(),
        ));
    }
    Ok(Delivery { kind: WebhookKind::Standard, event: String::new(), delivery_id: delivery_id(Some(id.to_owned()))? })
}

/// A header naming the event.
fn required(headers: &DeliveryHeaders, name: &str, shown: &str) -> Result<String, DeliveryError> {
    let value = headers.get(name).ok_or_else(|| Malformed(format!("{shown} is missing")))?;
    if value.len() > MAX_EVENT {
        return Err(Malformed(format!("{shown} is longer than {MAX_EVENT} bytes")));
    }
    Ok(value.to_owned())
}

fn delivery_id(id: Option<String>) -> Result<Option<String>, DeliveryError> {
    match id {
        Some(id) if id.is_empty() || id.len() > MAX_DELIVERY_ID || !id.bytes().all(|b| b.is_ascii_graphic()) => {
            Err(Malformed(format!("the delivery id must be 1 to {MAX_DELIVERY_ID} printable ASCII characters")))
        }
        id => Ok(id),
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> DeliveryHeaders {
        DeliveryHeaders::read(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    const BODY: &[u8] = br#"{"ref":"refs/heads/main"}"#;

    #[test]
    fn github_signatures_are_checked_over_the_body() {
        let secret = SecretString::new("It's a Secret to Everybody");
        // GitHub's documented example: this secret and body give this signature.
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let h = headers(&[("x-hub-signature-256", sig), ("x-github-event", "push"), ("x-github-delivery", "d-1")]);
        let d = verify(WebhookKind::Github, &secret, &h, b"Hello, World!", Utc::now()).unwrap();
        assert_eq!((d.event.as_str(), d.delivery_id.as_deref()), ("push", Some("d-1")));
        assert!(matches!(
            verify(WebhookKind::Github, &secret, &h, b"Hello, World?", Utc::now()),
            Err(Unauthenticated(_))
        ));
        let other = SecretString::new("another secret, as long");
        assert!(matches!(
            verify(WebhookKind::Github, &other, &h, b"Hello, World!", Utc::now()),
            Err(Unauthenticated(_))
        ));
        for bad in ["", "sha1=757107ea", "sha256=zz", &sig[..20]] {
            let h = headers(&[("x-hub-signature-256", bad), ("x-github-event", "push"), ("x-github-delivery", "d")]);
            assert!(
                matches!(
                    verify(WebhookKind::Github, &secret, &h, b"Hello, World!", Utc::now()),
                    Err(Unauthenticated(_))
                ),
                "{bad}"
            );
        }
        let unsigned = headers(&[("x-github-event", "push"), ("x-github-delivery", "d-1")]);
        assert!(matches!(verify(WebhookKind::Github, &secret, &unsigned, BODY, Utc::now()), Err(Unauthenticated(_))));
        let long = "e".repeat(201);
        let long_event =
            headers(&[("x-hub-signature-256", sig), ("x-github-event", &long), ("x-github-delivery", "d-1")]);
        assert!(matches!(
            verify(WebhookKind::Github, &secret, &long_event, b"Hello, World!", Utc::now()),
            Err(Malformed(_))
        ));
        let no_event = headers(&[("x-hub-signature-256", sig), ("x-github-delivery", "d-1")]);
        assert!(matches!(
            verify(WebhookKind::Github, &secret, &no_event, b"Hello, World!", Utc::now()),
            Err(Malformed(_))
        ));
    }

    #[test]
    fn gitlab_tokens_are_the_secret() {
        let secret = SecretString::new("0123456789abcdef");
        let h = headers(&[
            ("x-gitlab-token", "0123456789abcdef"),
            ("x-gitlab-event", "Push Hook"),
            ("idempotency-key", "k"),
        ]);
        let d = verify(WebhookKind::Gitlab, &secret, &h, BODY, Utc::now()).unwrap();
        assert_eq!((d.event.as_str(), d.delivery_id.as_deref()), ("Push Hook", Some("k")));
        let h = headers(&[
            ("x-gitlab-token", "0123456789abcdef"),
            ("x-gitlab-event", "Push Hook"),
            ("x-gitlab-event-uuid", "u"),
            ("idempotency-key", "k"),
        ]);
        assert_eq!(
            verify(WebhookKind::Gitlab, &secret, &h, BODY, Utc::now()).unwrap().delivery_id.as_deref(),
            Some("u")
        );
        let h = headers(&[("x-gitlab-token", "0123456789abcdeF"), ("x-gitlab-event", "Push Hook")]);
        assert!(matches!(verify(WebhookKind::Gitlab, &secret, &h, BODY, Utc::now()), Err(Unauthenticated(_))));
        let h = headers(&[("x-gitlab-token", "0123456789abcdef"), ("x-gitlab-event", "Push Hook")]);
        assert_eq!(verify(WebhookKind::Gitlab, &secret, &h, BODY, Utc::now()).unwrap().delivery_id, None);
    }

    fn standard_signature(key: &[u8], id: &str, ts: &str, body: &[u8]) -> String {
        let mut signed = format!("{id}.{ts}.").into_bytes();
        signed.extend_from_slice(body);
        format!("v1,{}", BASE64.encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), &signed).as_ref()))
    }

    #[test]
    fn standard_webhooks_signatures_and_timestamps_are_checked() {
        let key = [42u8; 32];
        let secret = SecretString::new(format!("whsec_{}", BASE64.encode(key)));
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let good = standard_signature(&key, "msg_1", &ts, BODY);
        let check = |id: &str, ts: &str, sig: &str| {
            let h = headers(&[("webhook-id", id), ("webhook-timestamp", ts), ("webhook-signature", sig)]);
            verify(WebhookKind::Standard, &secret, &h, BODY, now)
        };
        assert_eq!(check("msg_1", &ts, &good).unwrap().delivery_id.as_deref(), Some("msg_1"));
        // Several signatures, one of them good.
        assert!(check("msg_1", &ts, &format!("v1,Zm9v v1a,bar {good}")).is_ok());
        // The id and timestamp are signed too.
        assert!(matches!(check("msg_2", &ts, &good), Err(Unauthenticated(_))));
        let stale = (now - TimeDelta::minutes(6)).timestamp().to_string();
        assert!(matches!(
            check("msg_1", &stale, &standard_signature(&key, "msg_1", &stale, BODY)),
            Err(Unauthenticated(_))
        ));
        let future = (now + TimeDelta::minutes(6)).timestamp().to_string();
        assert!(matches!(
            check("msg_1", &future, &standard_signature(&key, "msg_1", &future, BODY)),
            Err(Unauthenticated(_))
        ));
        let recent = (now - TimeDelta::minutes(4)).timestamp().to_string();
        assert!(check("msg_1", &recent, &standard_signature(&key, "msg_1", &recent, BODY)).is_ok());
        assert!(matches!(check("msg_1", "yesterday", &good), Err(Unauthenticated(_))));
        assert!(matches!(check("msg_1", &ts, "v2,abc"), Err(Unauthenticated(_))));
        let h = headers(&[("webhook-id", "msg_1"), ("webhook-timestamp", &ts)]);
        assert!(matches!(verify(WebhookKind::Standard, &secret, &h, BODY, now), Err(Unauthenticated(_))));
    }

    #[test]
    fn a_standard_event_is_the_payloads_type() {
        let mut d = Delivery { kind: WebhookKind::Standard, event: String::new(), delivery_id: None };
        d.read_event(&serde_json::json!({"type": "invoice.paid"}));
        assert_eq!(d.event, "invoice.paid");
        assert!(!d.is_ping());
    }

    #[test]
    fn delivery_ids_are_bounded_printable_text() {
        assert!(delivery_id(Some("a".repeat(MAX_DELIVERY_ID))).is_ok());
        assert!(delivery_id(Some("a".repeat(MAX_DELIVERY_ID + 1))).is_err());
        assert!(delivery_id(Some("a b".into())).is_err());
        assert!(delivery_id(Some(String::new())).is_err());
        assert_eq!(hex_of(&hex(&"ab".repeat(32)).unwrap()), "ab".repeat(32));
    }
}
