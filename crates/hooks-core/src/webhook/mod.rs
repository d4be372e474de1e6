//! Signed webhooks (an extension, docs/api.md): how a hook takes deliveries from GitHub, GitLab or a Standard
//! Webhooks sender. This module holds the configuration and its validation; [`signature`] checks a delivery.

mod signature;

pub use signature::{Delivery, DeliveryError, DeliveryHeaders, MAX_DELIVERY_ID, STANDARD_TOLERANCE, verify};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::{CryptoError, Keyring, SecretString, ValidationError};

/// How a sender signs its deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookKind {
    /// `X-Hub-Signature-256`: HMAC-SHA256 of the body, hex.
    Github,
    /// `X-Gitlab-Token`: the secret itself.
    Gitlab,
    /// standardwebhooks.com: `webhook-signature`, HMAC-SHA256 of `<id>.<timestamp>.<body>`, base64.
    Standard,
}

impl WebhookKind {
    const ALL: [Self; 3] = [Self::Github, Self::Gitlab, Self::Standard];

    /// The name in the API and the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Standard => "standard",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for WebhookKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hook's webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// How deliveries are signed.
    pub kind: WebhookKind,
    /// The events that fire the hook; empty: every event.
    pub events: Vec<String>,
    /// The signing secret (for `standard`, in the `whsec_<base64>` form).
    pub secret: SecretString,
}

/// The most events a webhook names, and the longest event name: GitHub has about 70 events, GitLab fewer.
pub const MAX_EVENTS: usize = 100;
const MAX_EVENT_CHARS: usize = 100;
/// A shorter secret is too easy to guess: GitHub and GitLab take anything, so the floor is ours.
const MIN_SECRET_CHARS: usize = 16;
const MAX_SECRET_CHARS: usize = 256;
/// The Standard Webhooks specification's bounds on a key.
const STANDARD_KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;
const STANDARD_PREFIX: &str = "whsec_";
/// Bytes of randomness in a generated secret.
const GENERATED_BYTES: usize = 32;

impl Webhook {
    /// Reads a `PUT .../webhook` body (`{"kind", "events"?, "secret"?}`), generating a secret when none is given.
    /// Errors name the field.
    pub fn from_request(body: &Value, keyring: &Keyring) -> Result<Self, WebhookInputError> {
        let Value::Object(body) = body else {
            return Err(ValidationError::new("(body)", "must be an object {kind, events?, secret?}").into());
        };
        if let Some(key) = body.keys().find(|k| !matches!(k.as_str(), "kind" | "events" | "secret")) {
            return Err(ValidationError::new(key.as_str(), "is not a webhook setting (kind, events, secret)").into());
        }
        let kind = match body.get("kind") {
            None => return Err(ValidationError::new("kind", "is required: github, gitlab or standard").into()),
            Some(Value::String(name)) => WebhookKind::parse(name).ok_or_else(|| {
                ValidationError::new("kind", format!("{name:?} is not a webhook kind: github, gitlab or standard"))
            })?,
            Some(_) => return Err(ValidationError::new("kind", "must be a string: github, gitlab or standard").into()),
        };
        let events = events(body)?;
        let secret = match body.get("secret") {
            None | Some(Value::Null) => generate_secret(kind, keyring)?,
            Some(Value::String(secret)) => {
                check_secret(kind, secret)?;
                SecretString::new(secret.clone())
            }
            Some(_) => return Err(ValidationError::new("secret", "must be a string").into()),
        };
        Ok(Self { kind, events, secret })
    }

    /// Whether a delivery of `event` fires the hook.
    pub fn takes(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// Why a webhook's settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookInputError {
    /// A field is wrong.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No secret could be generated.
    #[error("cannot generate the webhook's secret: {0}")]
    Random(#[from] CryptoError),
}

fn events(body: &Map<String, Value>) -> Result<Vec<String>, ValidationError> {
    let list = match body.get("events") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ValidationError::new("events", "must be an array of event names")),
    };
    if list.len() > MAX_EVENTS {
        return Err(ValidationError::new("events", format!("names {} events; at most {MAX_EVENTS}", list.len())));
    }
    let mut events: Vec<String> = Vec::with_capacity(list.len());
    for (i, event) in list.iter().enumerate() {
        let field = format!("events[{i}]");
        let Value::String(event) = event else { return Err(ValidationError::new(field, "must be a string")) };
        if event.is_empty() || event.chars().count() > MAX_EVENT_CHARS || event.chars().any(char::is_control) {
            return Err(ValidationError::new(
                field,
                format!("must be 1 to {MAX_EVENT_CHARS} characters, without control characters"),
            ));
        }
        if !events.contains(event) {
            events.push(event.clone());
        }
    }
    Ok(events)
}

fn check_secret(kind: WebhookKind, secret: &str) -> Result<(), ValidationError> {
    let field = "secret";
    if kind == WebhookKind::Standard {
        return standard_key(secret).map(|_| ()).map_err(|problem| ValidationError::new(field, problem));
    }
    let chars = secret.chars().count();
    if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&chars) {
        return Err(ValidationError::new(
            field,
            format!(
                "has {chars} characters; give {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} (or none, to have one generated)"
            ),
        ));
    }
    // GitLab sends it in a header, so it must be a header's text; GitHub's is held to the same.
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new(field, "must be printable ASCII without spaces"));
    }
    Ok(())
}

/// The HMAC key of a Standard Webhooks secret: base64 after an optional `whsec_`, 24 to 64 bytes.
pub(crate) fn standard_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix(STANDARD_PREFIX).unwrap_or(secret);
    let key = BASE64
        .decode(encoded)
        .map_err(|_| "must be whsec_ followed by base64 (the Standard Webhooks form), e.g. whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned())?;
    if !STANDARD_KEY_BYTES.contains(&key.len()) {
        return Err(format!(
            "decodes to {} bytes; the Standard Webhooks specification wants {} to {}",
            key.len(),
            STANDARD_KEY_BYTES.start(),
            STANDARD_KEY_BYTES.end()
        ));
    }
    Ok(key)
}

fn generate_secret(kind: WebhookKind, keyring: &Keyring) -> Result<SecretString, CryptoError> {
    let mut bytes = [0u8; GENERATED_BYTES];
    keyring.random_bytes(&mut bytes)?;
    Ok(SecretString::new(match kind {
        WebhookKind::Standard => format!("{STANDARD_PREFIX}{}", BASE64.encode(bytes)),
        WebhookKind::Github | WebhookKind::Gitlab => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keyring() -> Keyring {
        Keyring::parse(&Keyring::generate_key().unwrap()).unwrap()
    }

    fn field_of(body: Value) -> String {
        match Webhook::from_request(&body, &keyring()) {
            Err(WebhookInputError::Invalid(e)) => e.field,
            other => panic!("{body} was not refused: {other:?}"),
        }
    }

    #[test]
    fn generated_secrets_have_each_kinds_form() {
        let k = keyring();
        let github = Webhook::from_request(&json!({"kind": "github"}), &k).unwrap();
        assert_eq!(github.secret.expose().len(), 64);
        assert!(github.events.is_empty());
        let standard = Webhook::from_request(&json!({"kind": "standard"}), &k).unwrap();
        assert_eq!(standard_key(standard.secret.expose()).unwrap().len(), 32);
        assert!(standard.secret.expose().starts_with("whsec_"));
        let other = Webhook::from_request(&json!({"kind": "github"}), &k).unwrap();
        assert_ne!(github.secret, other.secret);
    }

    #[test]
    fn settings_are_kept_and_events_deduplicated() {
        let body = json!({"kind": "gitlab", "events": ["Push Hook", "Tag Push Hook", "Push Hook"], "secret": "0123456789abcdef"});
        let w = Webhook::from_request(&body, &keyring()).unwrap();
        assert_eq!(w.kind, WebhookKind::Gitlab);
        assert_eq!(w.events, ["Push Hook", "Tag Push Hook"]);
        assert_eq!(w.secret.expose(), "0123456789abcdef");
        assert!(w.takes("Push Hook") && !w.takes("push"));
    }

    #[test]
    fn bad_settings_name_their_field() {
        assert_eq!(field_of(json!({})), "kind");
        assert_eq!(field_of(json!({"kind": "bitbucket"})), "kind");
        assert_eq!(field_of(json!({"kind": 1})), "kind");
        assert_eq!(field_of(json!({"kind": "github", "event": ["push"]})), "event");
        assert_eq!(field_of(json!({"kind": "github", "events": "push"})), "events");
        assert_eq!(field_of(json!({"kind": "github", "events": ["push", 3]})), "events[1]");
        assert_eq!(field_of(json!({"kind": "github", "events": [""]})), "events[0]");
        assert_eq!(field_of(json!({"kind": "github", "events": vec!["e"; 101]})), "events");
        assert_eq!(field_of(json!({"kind": "github", "secret": "short"})), "secret");
        assert_eq!(field_of(json!({"kind": "github", "secret": "with a space in it!"})), "secret");
        assert_eq!(field_of(json!({"kind": "standard", "secret": "whsec_not base64"})), "secret");
        assert_eq!(field_of(json!({"kind": "standard", "secret": "whsec_c2hvcnQ="})), "secret");
        assert_eq!(field_of(json!([])), "(body)");
    }

    #[test]
    fn a_standard_secret_may_come_without_its_prefix() {
        let key = BASE64.encode([7u8; 24]);
        let w = Webhook::from_request(&json!({"kind": "standard", "secret": key}), &keyring()).unwrap();
        assert_eq!(standard_key(w.secret.expose()).unwrap(), [7u8; 24]);
    }
}
