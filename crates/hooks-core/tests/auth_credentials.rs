//! What authenticated credentials may do, checked locally (`StaticClients`): `authorizedScopes`, temporary
//! credentials and their certificates, and the message for insufficient scopes.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::auth::*;
use hooks_core::auth::{Caller, ScopeExpression};
use serde_json::{Value, json};
use taskcluster::Credentials;
use test_support::ClientSpec;

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
