//! Hawk signatures checked locally (`StaticClients`): `Authorization` headers signed by the official `taskcluster`
//! client or the `hawk` crate (MAC, timestamp, payload hash, replay), and bewits in signed URLs.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::{Duration, SystemTime};

use common::auth::*;
use hooks_core::auth::{Caller, Scheme, Verifier};
use taskcluster::Credentials;

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
