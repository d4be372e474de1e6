//! Hawk verified locally against a fixed list of clients (`HOOKS_STATIC_CLIENTS`), with the auth service's logic.
//!
//! Nothing here is worth caching: a client lookup is a hash-map read and a certificate costs two HMACs, while a
//! cached result would have to be keyed by the `Authorization` header, which the nonce check makes single-use.

use std::collections::HashMap;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::certificate::{StoredClient, load_credentials};
use super::hawk::{
    Bewit, SignedHeader, bewit_mac_matches, check_payload_hash, decode_bewit, find_bewit, header_mac_matches, is_stale,
    parse_authorization, unix_seconds,
};
use super::replay::{DEFAULT_CAPACITY, ReplayCache, ReplayKey};
use super::{AuthError, Authenticated, Caller, Presented, Request, Scheme, Scope, TIMESTAMP_SKEW, Verifier};
use crate::{SecretString, ValidationError};

/// A client that may call the API, with its permanent access token and (unexpanded) scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticClient {
    /// The clientId.
    pub client_id: String,
    /// The access token the client signs with.
    pub access_token: SecretString,
    /// The scopes the client holds.
    pub scopes: Vec<Scope>,
}

/// The clients of `HOOKS_STATIC_CLIENTS`, verifying requests locally.
#[derive(Debug)]
pub struct StaticClients {
    clients: HashMap<String, Stored>,
    replay: ReplayCache,
}

#[derive(Debug)]
struct Stored {
    access_token: SecretString,
    scopes: Vec<String>,
}

/// What a clientId may contain: Taskcluster's own clientId pattern.
fn valid_client_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"!@/:.+|_-".contains(&b))
}

impl StaticClients {
    /// A verifier for `clients`; clientIds must be unique and well-formed, access tokens non-empty.
    pub fn new(clients: Vec<StaticClient>) -> Result<Self, ValidationError> {
        let mut map = HashMap::with_capacity(clients.len());
        for (i, client) in clients.into_iter().enumerate() {
            let at = |field: &str| format!("[{i}].{field}");
            if !valid_client_id(&client.client_id) {
                return Err(ValidationError::new(
                    at("clientId"),
                    format!("{:?} must match ^[A-Za-z0-9!@/:.+|_-]+$", client.client_id),
                ));
            }
            if client.access_token.expose().is_empty() {
                return Err(ValidationError::new(at("accessToken"), "must not be empty"));
            }
            let stored = Stored {
                access_token: client.access_token,
                scopes: client.scopes.into_iter().map(Scope::into_string).collect(),
            };
            if map.insert(client.client_id.clone(), stored).is_some() {
                return Err(ValidationError::new(
                    at("clientId"),
                    format!("{:?} is listed more than once", client.client_id),
                ));
            }
        }
        Ok(Self { clients: map, replay: ReplayCache::new(TIMESTAMP_SKEW, DEFAULT_CAPACITY) })
    }

    /// Parses `HOOKS_STATIC_CLIENTS`: a JSON array of `{"clientId", "accessToken", "scopes": [...]}`.
    ///
    /// Error messages name the entry and field, and never repeat an access token.
    pub fn from_json(json: &str) -> Result<Self, ValidationError> {
        // Parsed by hand rather than with derive: serde's messages quote the offending value, a token perhaps.
        let value: Value =
            serde_json::from_str(json).map_err(|e| ValidationError::new("", format!("is not valid JSON ({e})")))?;
        let entries = value.as_array().ok_or_else(|| {
            ValidationError::new("", "must be a JSON array of {\"clientId\", \"accessToken\", \"scopes\"}")
        })?;
        let clients =
            entries.iter().enumerate().map(|(i, entry)| parse_client(entry).map_err(|e| e.within(&format!("[{i}]"))));
        Self::new(clients.collect::<Result<_, _>>()?)
    }

    /// How many clients there are.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether there are no clients (every signed request then fails).
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    fn lookup(&self, client_id: &str) -> Option<StoredClient<'_>> {
        self.clients.get(client_id).map(|c| StoredClient {
            access_token: &c.access_token,
            scopes: &c.scopes,
            expires: None,
        })
    }

    fn verify_header(&self, request: &Request<'_>, authorization: &str) -> Result<Caller, AuthError> {
        let attributes = parse_authorization(authorization)?;
        let header: SignedHeader<'_> = attributes.require()?;
        let now = SystemTime::now();
        let credentials = load_credentials(header.id, header.ext, |id| self.lookup(id), DateTime::<Utc>::from(now))?;
        let resource = request.path_and_query;
        if !header_mac_matches(credentials.key.expose(), &header, request.method, request.host, request.port, resource)
        {
            return Err(AuthError::unauthorized("Bad mac"));
        }
        // Before the nonce check, so the nonce cache only ever holds fresh requests.
        if is_stale(header.ts, now) {
            return Err(AuthError::unauthorized("Stale timestamp"));
        }
        if let Some(hash) = header.hash {
            check_payload_hash(hash, request.content_type, request.body)?;
        }
        let ts = header.ts.parse::<u64>().map_err(|_| AuthError::unauthorized("Stale timestamp"))?;
        let replay = ReplayKey::new(header.id, header.nonce, ts);
        if !self.replay.record(replay, unix_seconds(now)) {
            return Err(AuthError::unauthorized("Invalid nonce"));
        }
        Ok(Caller::Client(Authenticated {
            client_id: header.id.to_owned(),
            scopes: credentials.scopes,
            expires: credentials.expires,
            scheme: Scheme::Header,
            replay: Some(replay),
        }))
    }

    fn verify_bewit(&self, request: &Request<'_>) -> Result<Caller, AuthError> {
        let Some(found) = find_bewit(request.path_and_query) else {
            // The auth service doesn't see a bewit where taskcluster-lib-api saw one (`%62ewit=`): no credentials.
            return Ok(Caller::Anonymous);
        };
        let now = SystemTime::now();
        let bewit: Bewit = decode_bewit(&found, request.method, now)?;
        let credentials =
            load_credentials(&bewit.id, bewit.ext.as_deref(), |id| self.lookup(id), DateTime::<Utc>::from(now))?;
        if !bewit_mac_matches(credentials.key.expose(), &bewit, request.host, request.port, &found.resource) {
            return Err(AuthError::unauthorized("Bad mac"));
        }
        Ok(Caller::Client(Authenticated {
            client_id: bewit.id,
            scopes: credentials.scopes,
            expires: credentials.expires,
            scheme: Scheme::Bewit,
            replay: None,
        }))
    }
}

fn parse_client(entry: &Value) -> Result<StaticClient, ValidationError> {
    let object = entry.as_object().ok_or_else(|| ValidationError::new("", "must be an object"))?;
    for key in object.keys() {
        if !matches!(key.as_str(), "clientId" | "accessToken" | "scopes") {
            return Err(ValidationError::new(key.as_str(), "is not a known field (clientId, accessToken, scopes)"));
        }
    }
    let client_id = match object.get("clientId") {
        Some(Value::String(id)) => id.clone(),
        Some(_) => return Err(ValidationError::new("clientId", "must be a string")),
        None => return Err(ValidationError::new("clientId", "is required")),
    };
    let access_token = match object.get("accessToken") {
        Some(Value::String(token)) => SecretString::new(token.clone()),
        Some(_) => return Err(ValidationError::new("accessToken", "must be a string")),
        None => return Err(ValidationError::new("accessToken", "is required")),
    };
    let scopes = match object.get("scopes") {
        Some(Value::Array(scopes)) => scopes
            .iter()
            .enumerate()
            .map(|(i, scope)| {
                let field = format!("scopes[{i}]");
                let text = scope.as_str().ok_or_else(|| ValidationError::new(field.as_str(), "must be a string"))?;
                Scope::parse(text).map_err(|e| ValidationError::new(field.as_str(), e.problem))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ValidationError::new("scopes", "must be an array of strings")),
        None => Vec::new(),
    };
    Ok(StaticClient { client_id, access_token, scopes })
}

#[async_trait::async_trait]
impl Verifier for StaticClients {
    async fn authenticate(&self, request: &Request<'_>) -> Result<Caller, AuthError> {
        match Presented::of(request)? {
            Presented::Nothing => Ok(Caller::Anonymous),
            Presented::Header(authorization) => self.verify_header(request, authorization),
            Presented::Bewit => self.verify_bewit(request),
        }
    }

    fn request_failed(&self, caller: &Caller) {
        self.replay.forget(caller);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_json_reads_clients() {
        let clients = StaticClients::from_json(
            r#"[{"clientId": "a", "accessToken": "ta", "scopes": ["hooks:*"]}, {"clientId": "b/c", "accessToken": "tb"}]"#,
        )
        .unwrap();
        assert_eq!(clients.len(), 2);
        assert_eq!(clients.lookup("a").map(|c| c.scopes.to_vec()), Some(vec!["hooks:*".to_owned()]));
        assert_eq!(clients.lookup("b/c").map(|c| c.scopes.len()), Some(0));
        assert!(StaticClients::from_json("[]").unwrap().is_empty());
    }

    #[test]
    fn from_json_errors_name_the_entry_and_never_the_token() {
        let err = |json: &str| StaticClients::from_json(json).unwrap_err().to_string();
        assert!(err("{").starts_with(": is not valid JSON"), "{}", err("{"));
        assert!(err(r#"{"clientId": "a"}"#).contains("must be a JSON array"));
        assert_eq!(err(r#"[{"accessToken": "sekrit"}]"#), "[0].clientId: is required");
        assert_eq!(err(r#"[{"clientId": "a", "accessToken": 12345}]"#), "[0].accessToken: must be a string");
        assert_eq!(err(r#"[{"clientId": "a", "accessToken": ""}]"#), "[0].accessToken: must not be empty");
        assert_eq!(
            err(r#"[{"clientId": "a", "accessToken": "sekrit", "scopes": ["ok", "tab\t"]}]"#).split(':').next(),
            Some("[0].scopes[1]")
        );
        assert_eq!(
            err(r#"[{"clientId": "a", "accessToken": "sekrit", "scope": []}]"#),
            "[0].scope: is not a known field (clientId, accessToken, scopes)"
        );
        assert_eq!(
            err(r#"[{"clientId": "a b", "accessToken": "sekrit"}]"#),
            "[0].clientId: \"a b\" must match ^[A-Za-z0-9!@/:.+|_-]+$"
        );
        let dup = err(r#"[{"clientId": "a", "accessToken": "sekrit1"}, {"clientId": "a", "accessToken": "sekrit2"}]"#);
        assert_eq!(dup, "[1].clientId: \"a\" is listed more than once");
        for json in [
            r#"[{"clientId": 5, "accessToken": "sekrit"}]"#,
            r#"[{"clientId": "a", "accessToken": "sekrit", "scopes": "sekrit"}]"#,
        ] {
            assert!(!err(json).contains("sekrit"), "{}", err(json));
        }
    }
}
