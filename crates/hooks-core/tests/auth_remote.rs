//! Hawk authentication by the auth service (`RemoteAuth`), played by a local server: what it accepts and refuses,
//! and what happens when it is down.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::{Duration, SystemTime};

use common::auth::*;
use hooks_core::Deployment;
use hooks_core::auth::{AuthError, Caller, RemoteAuth, Scheme, Verifier};
use taskcluster::Credentials;
use test_support::FakeTaskcluster;

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
