//! Hawk authentication end to end: requests signed by the official `taskcluster` client (and, where it can't make
//! the request wanted, by the `hawk` crate), verified locally (`StaticClients`) and by a local server playing the
//! auth service (`RemoteAuth`).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use std::future::Future;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hooks_core::auth::{
    AuthError, Caller, RemoteAuth, Request, Scheme, ScopeExpression, StaticClients, Verifier, host_and_port,
};
use hooks_core::deployment::Deployment;
use serde_json::{Value, json};
use taskcluster::{ClientBuilder, Credentials, Hooks, Retry};
use test_support::{ClientSpec, FakeTaskcluster};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

// ------------------------------------------------------------------------------------------------
// Helpers

/// A request as it reached a server: everything a verifier is given.
#[derive(Debug, Clone)]
struct Captured {
    method: String,
    path_and_query: String,
    host: String,
    port: u16,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Captured {
    fn request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            path_and_query: &self.path_and_query,
            host: &self.host,
            port: self.port,
            authorization: self.authorization.as_deref(),
            body: &self.body,
            content_type: self.content_type.as_deref(),
            source_ip: Some("127.0.0.1"),
        }
    }

    /// A GET of `url` (an absolute URL, as `make_signed_url` gives) with no header.
    fn get(url: &str) -> Self {
        let parsed = reqwest::Url::parse(url).unwrap();
        let path_and_query = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        Captured {
            method: "GET".into(),
            path_and_query,
            host: parsed.host_str().unwrap().to_owned(),
            port: parsed.port_or_known_default().unwrap(),
            authorization: None,
            content_type: None,
            body: Vec::new(),
        }
    }
}

/// Runs `call` against a one-shot local HTTP server and returns the request it received (answered `200 {}`).
async fn capture<F, Fut>(call: F) -> Captured
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root_url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut raw = Vec::new();
        let mut chunk = [0u8; 8192];
        let (head_end, content_length) = loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the request was complete");
            raw.extend_from_slice(&chunk[..n]);
            if let Some(pos) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..pos]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                break (pos + 4, length);
            }
        };
        while raw.len() < head_end + content_length {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before the body was complete");
            raw.extend_from_slice(&chunk[..n]);
        }
        let reply =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
        socket.write_all(reply.as_bytes()).await.unwrap();
        let head = String::from_utf8(raw[..head_end - 4].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let mut start = lines.next().unwrap().split(' ');
        let (method, target) = (start.next().unwrap().to_owned(), start.next().unwrap().to_owned());
        let header = |name: &str| {
            head.split("\r\n")
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let (host, port) = host_and_port(header("host").as_deref(), None, None, 80).unwrap();
        Captured {
            method,
            path_and_query: target,
            host,
            port,
            authorization: header("authorization"),
            content_type: header("content-type"),
            body: raw[head_end..head_end + content_length].to_vec(),
        }
    });
    call(root_url).await;
    server.await.unwrap()
}

fn no_retries() -> Retry {
    Retry { retries: 0, ..Retry::default() }
}

/// The official hooks client, as `creds`, optionally with `authorizedScopes`.
fn hooks_client(root_url: &str, creds: Credentials, authorized: Option<&[&str]>) -> Hooks {
    let mut builder = ClientBuilder::new(root_url).credentials(creds).retry(no_retries());
    if let Some(scopes) = authorized {
        builder = builder.authorized_scopes(scopes.iter().copied());
    }
    Hooks::new(builder).unwrap()
}

/// A `triggerHook` call with a JSON payload, signed by the official client, as the server receives it.
async fn trigger_signed_by(creds: Credentials, authorized: Option<&'static [&'static str]>) -> Captured {
    capture(|root| async move {
        let hooks = hooks_client(&root, creds, authorized);
        hooks.triggerHook("g", "h/1", &json!({"a": 1})).await.unwrap();
    })
    .await
}

const ISSUER_SCOPES: [&str; 4] = ["hooks:*", "assume:hook-id:*", "auth:create-client:temp/*", "queue:create-task:*"];

fn issuer() -> ClientSpec {
    ClientSpec {
        client_id: "static/issuer".into(),
        access_token: "issuer-token-0123456789abcdefghijklmnopq".into(),
        scopes: ISSUER_SCOPES.iter().map(|s| s.to_string()).collect(),
    }
}

fn narrow() -> ClientSpec {
    ClientSpec {
        client_id: "narrow".into(),
        access_token: "narrow-token".into(),
        scopes: vec!["hooks:trigger-hook:g/*".into()],
    }
}

fn creds(c: &ClientSpec) -> Credentials {
    Credentials::new(c.client_id.clone(), c.access_token.clone())
}

fn static_clients(specs: &[ClientSpec]) -> StaticClients {
    let list: Vec<Value> = specs
        .iter()
        .map(|c| json!({"clientId": c.client_id, "accessToken": c.access_token, "scopes": c.scopes}))
        .collect();
    StaticClients::from_json(&Value::Array(list).to_string()).unwrap()
}

fn verifier() -> StaticClients {
    static_clients(&[issuer(), narrow()])
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn client_of(verifier: &dyn Verifier, captured: &Captured) -> hooks_core::auth::Authenticated {
    match verifier.authenticate(&captured.request()).await {
        Ok(Caller::Client(client)) => client,
        other => panic!("expected an authenticated client, got {other:?}"),
    }
}

async fn failure(verifier: &dyn Verifier, captured: &Captured) -> String {
    match verifier.authenticate(&captured.request()).await {
        Err(AuthError::Failed(message)) => message,
        other => panic!("expected an authentication failure, got {other:?}"),
    }
}

fn hmac(key: &str, data: &[u8]) -> Vec<u8> {
    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes()), data).as_ref().to_vec()
}

/// Temporary credentials signed as the official client signs them, but with any start and expiry.
fn certificate(issuer: &ClientSpec, name: Option<&str>, start: i64, expiry: i64, scopes: &[&str]) -> Credentials {
    let seed = slugid::v4() + &slugid::v4();
    let mut lines = vec!["version:1".to_owned()];
    if let Some(name) = name {
        lines.push(format!("clientId:{name}"));
        lines.push(format!("issuer:{}", issuer.client_id));
    }
    lines.extend([format!("seed:{seed}"), format!("start:{start}"), format!("expiry:{expiry}"), "scopes:".into()]);
    lines.extend(scopes.iter().map(|s| s.to_string()));
    let mut cert = json!({
        "version": 1, "scopes": scopes, "start": start, "expiry": expiry, "seed": seed,
        "signature": STANDARD.encode(hmac(&issuer.access_token, lines.join("\n").as_bytes())),
    });
    if name.is_some() {
        cert["issuer"] = json!(issuer.client_id);
    }
    let token = URL_SAFE_NO_PAD.encode(hmac(&issuer.access_token, seed.as_bytes()));
    Credentials::new_with_certificate(name.unwrap_or(&issuer.client_id), token, cert.to_string())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn hawk_credentials(c: &ClientSpec) -> hawk::Credentials {
    hawk::Credentials { id: c.client_id.clone(), key: hawk::Key::new(c.access_token.as_bytes(), hawk::SHA256).unwrap() }
}

/// A POST signed with the `hawk` crate: `signed_body` is what the hash covers, `body` what is sent.
fn hawk_post(c: &ClientSpec, ts: SystemTime, signed_body: &[u8], body: &[u8]) -> Captured {
    let path = "/api/hooks/v1/hooks/g/h/trigger";
    let hash = hawk::PayloadHasher::hash("application/json", hawk::SHA256, signed_body).unwrap();
    let header = hawk::RequestBuilder::new("POST", "hooks.example.com", 443, path)
        .hash(&hash[..])
        .request()
        .make_header_full(&hawk_credentials(c), ts, slugid::v4())
        .unwrap();
    Captured {
        method: "POST".into(),
        path_and_query: path.into(),
        host: "hooks.example.com".into(),
        port: 443,
        authorization: Some(format!("Hawk {header}")),
        content_type: Some("application/json".into()),
        body: body.to_vec(),
    }
}

// ------------------------------------------------------------------------------------------------
// Static clients: headers

#[tokio::test]
async fn header_signed_by_the_official_client_is_accepted() {
    let captured = trigger_signed_by(creds(&issuer()), None).await;
    assert_eq!(captured.path_and_query, "/api/hooks/v1/hooks/g/h%2F1/trigger");
    assert!(captured.authorization.as_deref().unwrap().contains("hash=\""), "the client signs the payload");

    let client = client_of(&verifier(), &captured).await;
    assert_eq!(client.client_id, "static/issuer");
    assert_eq!(client.scheme, Scheme::Header);
    assert_eq!(client.expires, None);
    let mut expected = strings(&ISSUER_SCOPES);
    expected.push("assume:anonymous".into());
    expected.sort();
    assert_eq!(client.scopes, expected);
}

#[tokio::test]
async fn wrong_access_token_fails_with_bad_mac() {
    let captured = trigger_signed_by(Credentials::new("static/issuer", "not-the-token"), None).await;
    assert_eq!(failure(&verifier(), &captured).await, "Unauthorized: Bad mac");
}

#[tokio::test]
async fn unknown_client_is_refused_by_name() {
    let captured = trigger_signed_by(Credentials::new("nobody", "whatever"), None).await;
    assert_eq!(failure(&verifier(), &captured).await, "Client with clientId 'nobody' not found");
}

#[tokio::test]
async fn stale_timestamp_is_refused_either_way() {
    let v = verifier();
    let body = br#"{"a":1}"#;
    for offset in [Duration::from_secs(16 * 60), Duration::from_secs(60 * 60)] {
        let past = hawk_post(&issuer(), SystemTime::now() - offset, body, body);
        assert_eq!(failure(&v, &past).await, "Unauthorized: Stale timestamp");
        let future = hawk_post(&issuer(), SystemTime::now() + offset, body, body);
        assert_eq!(failure(&v, &future).await, "Unauthorized: Stale timestamp");
    }
    // inside the skew is fine
    let recent = hawk_post(&issuer(), SystemTime::now() - Duration::from_secs(14 * 60), body, body);
    assert_eq!(client_of(&v, &recent).await.client_id, "static/issuer");
}

#[tokio::test]
async fn tampered_path_host_or_port_fails_with_bad_mac() {
    let captured = trigger_signed_by(creds(&issuer()), None).await;
    let v = verifier();
    let mut other_path = captured.clone();
    other_path.path_and_query = "/api/hooks/v1/hooks/g/h%2F2/trigger".into();
    let mut other_host = captured.clone();
    other_host.host = "evil.example.com".into();
    let mut other_port = captured.clone();
    other_port.port += 1;
    let mut other_method = captured.clone();
    other_method.method = "PUT".into();
    for tampered in [other_path, other_host, other_port, other_method] {
        assert_eq!(failure(&v, &tampered).await, "Unauthorized: Bad mac", "{tampered:?}");
    }
    // and the untouched request still passes, so the failures above are the tampering's
    client_of(&v, &captured).await;
}

#[tokio::test]
async fn tampered_body_fails_the_payload_hash() {
    let captured = trigger_signed_by(creds(&issuer()), None).await;
    let v = verifier();
    let mut other_body = captured.clone();
    other_body.body = br#"{"a":2}"#.to_vec();
    let message = failure(&v, &other_body).await;
    assert!(message.starts_with("Invalid payload hash: "), "{message}");
    assert!(message.contains("\nComputed payload hash: "), "{message}");
    // the content type is hashed too (parameters and case aside)
    let mut other_type = captured.clone();
    other_type.content_type = Some("text/plain".into());
    assert!(failure(&v, &other_type).await.starts_with("Invalid payload hash: "));
    let mut same_type = captured.clone();
    same_type.content_type = Some("Application/JSON; charset=utf-8".into());
    client_of(&v, &same_type).await;
}

#[tokio::test]
async fn replayed_header_is_refused_until_the_server_reports_a_failure() {
    let captured = trigger_signed_by(creds(&issuer()), None).await;
    let v = verifier();
    let first = Caller::Client(client_of(&v, &captured).await);
    assert_eq!(failure(&v, &captured).await, "Unauthorized: Invalid nonce");
    // a 5xx answer lets a client resend the very same signed request, once
    v.request_failed(&first);
    client_of(&v, &captured).await;
    assert_eq!(failure(&v, &captured).await, "Unauthorized: Invalid nonce");
}

#[tokio::test]
async fn no_credentials_is_anonymous_and_two_schemes_are_refused() {
    let v = verifier();
    let plain = Captured::get("https://hooks.example.com/api/hooks/v1/hooks?x=1");
    assert_eq!(v.authenticate(&plain.request()).await, Ok(Caller::Anonymous));

    let hooks = hooks_client("https://hooks.example.com", creds(&issuer()), None);
    let mut both = Captured::get(&hooks.listHookGroups_signed_url(Duration::from_secs(60)).unwrap());
    both.authorization = Some("Hawk id=\"static/issuer\"".into());
    assert!(failure(&v, &both).await.starts_with("Cannot use two authentication schemes at once"));
}

// ------------------------------------------------------------------------------------------------
// Static clients: bewits

#[tokio::test]
async fn bewit_from_make_signed_url_is_accepted_for_get_and_head_only() {
    let hooks = hooks_client("https://hooks.example.com", creds(&issuer()), None);
    let url = hooks.listLastFires_signed_url("g", "h/1", None, Some("10"), Duration::from_secs(60)).unwrap();
    let captured = Captured::get(&url);
    assert!(captured.path_and_query.contains("?limit=10&bewit="), "{}", captured.path_and_query);

    let v = verifier();
    let client = client_of(&v, &captured).await;
    assert_eq!((client.client_id.as_str(), client.scheme), ("static/issuer", Scheme::Bewit));
    assert!(client.scopes.contains(&"hooks:*".to_owned()));
    // a bewit is reusable until it expires: no nonce
    client_of(&v, &captured).await;

    let mut head = captured.clone();
    head.method = "HEAD".into();
    client_of(&v, &head).await;
    let mut post = captured.clone();
    post.method = "POST".into();
    assert_eq!(failure(&v, &post).await, "Unauthorized: Invalid method");
}

#[tokio::test]
async fn tampered_bewit_url_fails_with_bad_mac() {
    let hooks = hooks_client("https://hooks.example.com", creds(&issuer()), None);
    let url = hooks.listLastFires_signed_url("g", "h", None, Some("10"), Duration::from_secs(60)).unwrap();
    let v = verifier();
    client_of(&v, &Captured::get(&url)).await;
    let tampered = Captured::get(&url.replace("limit=10", "limit=11"));
    assert_eq!(failure(&v, &tampered).await, "Unauthorized: Bad mac");
    let mut other_host = Captured::get(&url);
    other_host.host = "other.example.com".into();
    assert_eq!(failure(&v, &other_host).await, "Unauthorized: Bad mac");
}

#[tokio::test]
async fn expired_bewit_is_refused() {
    let path = "/api/hooks/v1/hooks/g/h";
    let request = hawk::RequestBuilder::new("GET", "hooks.example.com", 443, path).request();
    let credentials = hawk_credentials(&issuer());
    let v = verifier();
    let bewit = |exp: SystemTime| request.make_bewit(&credentials, exp).unwrap().to_str();

    let expired = Captured::get(&format!(
        "https://hooks.example.com{path}?bewit={}",
        bewit(SystemTime::now() - Duration::from_secs(1))
    ));
    assert_eq!(failure(&v, &expired).await, "Unauthorized: Access expired");
    let valid = Captured::get(&format!(
        "https://hooks.example.com{path}?bewit={}",
        bewit(SystemTime::now() + Duration::from_secs(60))
    ));
    client_of(&v, &valid).await;
}

#[tokio::test]
async fn bewit_carries_certificates_and_authorized_scopes() {
    let temp = creds(&issuer()).create_temp_creds(Duration::from_secs(600), ["hooks:list-last-fires:*"]).unwrap();
    let hooks = hooks_client("https://hooks.example.com", temp, Some(&["hooks:list-last-fires:g/h"]));
    let url = hooks.listLastFires_signed_url("g", "h", None, None, Duration::from_secs(60)).unwrap();
    let client = client_of(&verifier(), &Captured::get(&url)).await;
    assert_eq!(client.scopes, strings(&["assume:anonymous", "hooks:list-last-fires:g/h"]));
    assert!(client.expires.is_some());
}

// ------------------------------------------------------------------------------------------------
// Static clients: authorizedScopes and temporary credentials

#[tokio::test]
async fn authorized_scopes_narrow_the_callers_scopes() {
    let captured = trigger_signed_by(creds(&issuer()), Some(&["hooks:trigger-hook:g/h/1"])).await;
    let client = client_of(&verifier(), &captured).await;
    assert_eq!(client.scopes, strings(&["assume:anonymous", "hooks:trigger-hook:g/h/1"]));
    let caller = Caller::Client(client);
    let required = ScopeExpression::scope("hooks:trigger-hook:<hookGroupId>/<hookId>")
        .unwrap()
        .render(&[("hookGroupId", "g"), ("hookId", "h/1")]);
    assert!(caller.authorize(&required).is_ok());
    let other = ScopeExpression::scope("hooks:modify-hook:g/h/1").unwrap();
    assert!(caller.authorize(&other).is_err(), "the issuer's hooks:* no longer counts");
}

#[tokio::test]
async fn authorized_scopes_beyond_the_clients_fail_authentication() {
    let captured = trigger_signed_by(creds(&narrow()), Some(&["hooks:trigger-hook:g/h/1", "secrets:get:x"])).await;
    let message = failure(&verifier(), &captured).await;
    assert_eq!(
        message,
        "Supplied credentials do not satisfy authorizedScopes; credentials have scopes:\n\n```\nassume:anonymous\n\
         hooks:trigger-hook:g/*\n```\n\nauthorizedScopes are:\n\n```\nhooks:trigger-hook:g/h/1\nsecrets:get:x\n```"
    );
}

#[tokio::test]
async fn temporary_credentials_get_the_certificates_scopes() {
    let temp = creds(&issuer()).create_temp_creds(Duration::from_secs(600), ["hooks:trigger-hook:g/*"]).unwrap();
    let captured = trigger_signed_by(temp, None).await;
    let client = client_of(&verifier(), &captured).await;
    assert_eq!(client.client_id, "static/issuer", "unnamed temporary credentials keep the issuer's clientId");
    assert_eq!(client.scopes, strings(&["assume:anonymous", "hooks:trigger-hook:g/*"]));
    let expires = client.expires.unwrap();
    assert!(expires > chrono::Utc::now() + chrono::Duration::seconds(590));
    assert!(expires <= chrono::Utc::now() + chrono::Duration::seconds(600));
}

#[tokio::test]
async fn named_temporary_credentials_need_create_client_on_the_issuer() {
    let temp = creds(&issuer()).create_named_temp_creds("temp/one", Duration::from_secs(600), ["hooks:*"]).unwrap();
    let client = client_of(&verifier(), &trigger_signed_by(temp, Some(&["hooks:trigger-hook:g/*"])).await).await;
    assert_eq!(client.client_id, "temp/one");
    assert_eq!(client.scopes, strings(&["assume:anonymous", "hooks:trigger-hook:g/*"]));

    let temp = creds(&issuer()).create_named_temp_creds("other/one", Duration::from_secs(600), ["hooks:*"]).unwrap();
    let message = failure(&verifier(), &trigger_signed_by(temp, None).await).await;
    assert_eq!(
        message,
        "ext.certificate issuer `static/issuer` doesn't have `auth:create-client:other/one` for supplied clientId."
    );
}

#[tokio::test]
async fn certificate_scopes_beyond_the_issuers_are_refused() {
    let temp = creds(&narrow()).create_temp_creds(Duration::from_secs(600), ["hooks:*"]).unwrap();
    let message = failure(&verifier(), &trigger_signed_by(temp, None).await).await;
    assert_eq!(
        message,
        "ext.certificate issuer `narrow` doesn't satisfy all certificate scopes hooks:*.  The temporary credentials \
         were not generated correctly."
    );
}

#[tokio::test]
async fn expired_or_future_certificates_are_refused() {
    let hour = 3_600_000;
    let now = now_ms();
    let v = verifier();
    let expired = certificate(&issuer(), None, now - 2 * hour, now - hour, &["hooks:*"]);
    assert_eq!(failure(&v, &trigger_signed_by(expired, None).await).await, "ext.certificate.expiry < now");
    let future = certificate(&issuer(), None, now + hour, now + 2 * hour, &["hooks:*"]);
    assert_eq!(failure(&v, &trigger_signed_by(future, None).await).await, "ext.certificate.start > now");
    let too_long = certificate(&issuer(), None, now, now + 32 * 24 * hour, &["hooks:*"]);
    assert_eq!(
        failure(&v, &trigger_signed_by(too_long, None).await).await,
        "ext.certificate cannot last longer than 31 days!"
    );
    // the same construction with sane times is accepted, so the refusals above are about the times
    let fine = certificate(&issuer(), Some("temp/x"), now, now + hour, &["hooks:*"]);
    assert_eq!(client_of(&v, &trigger_signed_by(fine, None).await).await.client_id, "temp/x");
}

#[tokio::test]
async fn forged_certificate_is_refused() {
    let v = verifier();
    let temp = creds(&issuer()).create_temp_creds(Duration::from_secs(600), ["hooks:list-hooks:*"]).unwrap();
    let mut cert: Value = serde_json::from_str(temp.certificate.as_ref().unwrap()).unwrap();
    cert["scopes"] = json!(["hooks:*"]);
    let forged = Credentials::new_with_certificate(temp.client_id.clone(), temp.access_token.clone(), cert.to_string());
    assert_eq!(failure(&v, &trigger_signed_by(forged, None).await).await, "ext.certificate.signature is not valid");

    let named = creds(&issuer()).create_named_temp_creds("temp/a", Duration::from_secs(600), ["hooks:*"]).unwrap();
    let renamed =
        Credentials::new_with_certificate("temp/b", named.access_token.clone(), named.certificate.clone().unwrap());
    assert_eq!(
        failure(&v, &trigger_signed_by(renamed, None).await).await,
        "ext.certificate.signature is not valid, or wrong clientId provided"
    );
}

#[tokio::test]
async fn temporary_certificate_signed_with_the_permanent_token_fails_with_bad_mac() {
    let temp = creds(&issuer()).create_temp_creds(Duration::from_secs(600), ["hooks:*"]).unwrap();
    let wrong_key = Credentials::new_with_certificate(
        temp.client_id.clone(),
        issuer().access_token,
        temp.certificate.clone().unwrap(),
    );
    assert_eq!(failure(&verifier(), &trigger_signed_by(wrong_key, None).await).await, "Unauthorized: Bad mac");
}

#[tokio::test]
async fn insufficient_scopes_message_names_the_verified_client() {
    let captured = trigger_signed_by(creds(&narrow()), None).await;
    let caller = Caller::Client(client_of(&verifier(), &captured).await);
    let create_hook = ScopeExpression::from_json(&json!({"AllOf": [
        "hooks:modify-hook:<hookGroupId>/<hookId>", "assume:hook-id:<hookGroupId>/<hookId>"
    ]}))
    .unwrap()
    .render(&[("hookGroupId", "g"), ("hookId", "h/1")]);
    let err = caller.authorize(&create_hook).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Client ID narrow does not have sufficient scopes and is missing the following scopes:\n\n```\n{\n  \"AllOf\": [\n    \
         \"hooks:modify-hook:g/h/1\",\n    \"assume:hook-id:g/h/1\"\n  ]\n}\n```\n\nThis request requires the client to \
         satisfy the following scope expression:\n\n```\n{\n  \"AllOf\": [\n    \"hooks:modify-hook:g/h/1\",\n    \
         \"assume:hook-id:g/h/1\"\n  ]\n}\n```"
    );
}

// ------------------------------------------------------------------------------------------------
// Remote: the auth service decides

fn remote(fake: &FakeTaskcluster) -> RemoteAuth {
    RemoteAuth::new(&fake.deployment(), Duration::from_secs(10))
}

fn fake() -> FakeTaskcluster {
    FakeTaskcluster::start(vec![issuer(), narrow()])
}

#[tokio::test]
async fn remote_auth_accepts_what_the_auth_service_accepts() {
    let fake = fake();
    fake.set_role("hook-id:g/*", vec!["queue:route:index.g.*".into()]);
    let captured = trigger_signed_by(creds(&issuer()), None).await;
    let client = client_of(&remote(&fake), &captured).await;
    assert_eq!(client.client_id, "static/issuer");
    assert_eq!(client.scheme, Scheme::Header);
    // the service expands roles, which static clients never do
    assert!(client.scopes.contains(&"queue:route:index.g.*".to_owned()), "{:?}", client.scopes);
    assert!(client.scopes.contains(&"hooks:*".to_owned()));
    assert!(client.expires.is_some());
}

#[tokio::test]
async fn remote_auth_reports_the_auth_services_failure_message() {
    let fake = fake();
    let v = remote(&fake);
    let captured = trigger_signed_by(Credentials::new("static/issuer", "wrong"), None).await;
    assert_eq!(failure(&v, &captured).await, "Unauthorized: Bad mac");
    let captured = trigger_signed_by(creds(&narrow()), Some(&["secrets:get:x"])).await;
    assert!(failure(&v, &captured).await.starts_with("Supplied credentials do not satisfy authorizedScopes"));
}

#[tokio::test]
async fn remote_auth_recomputes_the_payload_hash_the_service_returns() {
    let fake = fake();
    let v = remote(&fake);
    let signed = br#"{"a":1}"#;
    let mismatched = hawk_post(&issuer(), SystemTime::now(), signed, br#"{"a":2}"#);
    let message = failure(&v, &mismatched).await;
    assert!(message.starts_with("Invalid payload hash: "), "{message}");
    let matching = hawk_post(&issuer(), SystemTime::now(), signed, signed);
    client_of(&v, &matching).await;
}

#[tokio::test]
async fn remote_auth_refuses_replays_the_service_accepts() {
    let fake = fake();
    let v = remote(&fake);
    let captured = trigger_signed_by(creds(&issuer()), None).await;
    let first = Caller::Client(client_of(&v, &captured).await);
    assert_eq!(failure(&v, &captured).await, "Unauthorized: Invalid nonce");
    v.request_failed(&first);
    client_of(&v, &captured).await;
}

#[tokio::test]
async fn remote_auth_verifies_bewits_and_temporary_credentials() {
    let fake = fake();
    let v = remote(&fake);
    let temp = creds(&issuer()).create_named_temp_creds("temp/r", Duration::from_secs(600), ["hooks:*"]).unwrap();
    let hooks = hooks_client("https://hooks.example.com", temp, Some(&["hooks:get:g:h"]));
    let url = hooks.hook_signed_url("g", "h", Duration::from_secs(60)).unwrap();
    let client = client_of(&v, &Captured::get(&url)).await;
    assert_eq!((client.client_id.as_str(), client.scheme), ("temp/r", Scheme::Bewit));
    assert_eq!(client.scopes, strings(&["assume:anonymous", "hooks:get:g:h"]));
    // served again (from the short bewit cache or the service alike)
    assert_eq!(client_of(&v, &Captured::get(&url)).await, client);
    let tampered = Captured::get(&url.replace("/g/h", "/g/i"));
    assert_eq!(failure(&v, &tampered).await, "Unauthorized: Bad mac");
}

/// A deployment nothing listens for.
async fn dead_deployment() -> Deployment {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    Deployment::new(&url, "c", &hooks_core::SecretString::new("t"), 1).unwrap()
}

#[tokio::test]
async fn remote_auth_without_credentials_never_calls_the_service() {
    let v = RemoteAuth::new(&dead_deployment().await, Duration::from_secs(2));
    let plain = Captured::get("https://hooks.example.com/api/hooks/v1/hooks");
    assert_eq!(v.authenticate(&plain.request()).await, Ok(Caller::Anonymous));
}

#[tokio::test]
async fn remote_auth_down_is_unavailable_not_unauthorized() {
    let v = RemoteAuth::new(&dead_deployment().await, Duration::from_secs(2));
    let captured = trigger_signed_by(creds(&issuer()), None).await;
    match v.authenticate(&captured.request()).await {
        Err(AuthError::Unavailable(message)) => {
            assert!(message.contains("/api/auth/v1/authenticate-hawk"), "{message}");
            assert!(!message.contains(&issuer().access_token));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
