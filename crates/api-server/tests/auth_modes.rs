//! Authentication end to end with the official client: `authorizedScopes`, temporary credentials, bewit URLs, and
//! the `remote` mode that asks the deployment's auth service.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::time::Duration;

use common::{TESTER_TOKEN, TestApp, hook_body, status_of};
use serde_json::json;
use taskcluster::{ClientBuilder, Credentials, Hooks};
use test_support::fake_taskcluster::ClientSpec;
use test_support::{FakeTaskcluster, broker};

const REMOTE_TOKEN: &str = "remote-access-token-0123456789abcdefghijklmn";

fn client(app: &TestApp, credentials: Credentials, authorized: Option<&[&str]>) -> Hooks {
    let mut builder = ClientBuilder::new(&app.root_url).credentials(credentials);
    if let Some(scopes) = authorized {
        builder = builder.authorized_scopes(scopes.iter().copied());
    }
    Hooks::new(builder).unwrap()
}

#[tokio::test]
async fn authorized_scopes_narrow_the_caller_and_must_be_its_own() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let tester = Credentials::new("tester", TESTER_TOKEN);

    let narrowed = client(&app, tester.clone(), Some(&["hooks:get:g:h"]));
    assert_eq!(narrowed.hook("g", "h").await.unwrap()["hookId"], "h");
    let err = narrowed.removeHook("g", "h").await.unwrap_err();
    assert_eq!(status_of(&err), Some(403), "{err:#}");
    assert!(err.to_string().contains("hooks:modify-hook:g/h"), "names the missing scope: {err}");

    // `limited` cannot authorize scopes it does not hold.
    let beyond = client(&app, Credentials::new("limited", common::LIMITED_TOKEN), Some(&["hooks:get:other:h"]));
    let err = beyond.hook("g", "h").await.unwrap_err();
    assert_eq!(status_of(&err), Some(401), "{err:#}");
}

#[tokio::test]
async fn temporary_credentials_carry_their_scopes_only() {
    let app = TestApp::spawn().await;
    app.hooks().createHook("g", "h", &hook_body()).await.unwrap();
    let tester = Credentials::new("tester", TESTER_TOKEN);

    let temp = tester.create_named_temp_creds("tester/temp", Duration::from_secs(600), ["hooks:get:g:*"]).unwrap();
    let hooks = client(&app, temp, None);
    assert_eq!(hooks.hook("g", "h").await.unwrap()["hookGroupId"], "g");
    assert_eq!(status_of(&hooks.removeHook("g", "h").await.unwrap_err()), Some(403));

    // A certificate signed with the wrong token, or for scopes its issuer lacks, is refused.
    let forged = Credentials::new("tester", "not-the-token-0123456789abcdefghijklmnopqr")
        .create_temp_creds(Duration::from_secs(600), ["hooks:get:g:*"])
        .unwrap();
    assert_eq!(status_of(&client(&app, forged, None).hook("g", "h").await.unwrap_err()), Some(401));
    let greedy = Credentials::new("limited", common::LIMITED_TOKEN)
        .create_temp_creds(Duration::from_secs(600), ["hooks:get:*"])
        .unwrap();
    assert_eq!(status_of(&client(&app, greedy, None).hook("g", "h").await.unwrap_err()), Some(401));
}

#[tokio::test]
async fn a_bewit_url_works_until_tampered_with() {
    let app = TestApp::spawn().await;
    let hooks = app.hooks();
    hooks.createHook("g", "h", &hook_body()).await.unwrap();
    let url = hooks.hook_signed_url("g", "h", Duration::from_secs(60)).unwrap();
    let res = app.http.get(&url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["hookId"], "h");
    let other = url.replace("/hooks/g/h", "/hooks/g/x");
    assert_eq!(app.http.get(&other).send().await.unwrap().status().as_u16(), 401);
}

#[tokio::test]
async fn remote_mode_asks_the_auth_service() {
    let service = ClientSpec {
        client_id: "static/hooks".into(),
        access_token: "service-access-token-0123456789abcdefghijkl".into(),
        scopes: vec!["assume:hook-id:*".into(), "queue:create-task:*".into()],
    };
    let fake = FakeTaskcluster::start(vec![
        service,
        ClientSpec {
            client_id: "remote-user".into(),
            access_token: REMOTE_TOKEN.into(),
            scopes: vec!["hooks:get:g:*".into(), "hooks:modify-hook:g/*".into(), "assume:hook-id:g/*".into()],
        },
    ]);
    let app = TestApp::spawn_with(&broker::pulse_url(), fake, &["--auth=remote"]).await;
    let user = Credentials::new("remote-user", REMOTE_TOKEN);
    let hooks = client(&app, user.clone(), None);
    assert_eq!(hooks.createHook("g", "h", &hook_body()).await.unwrap()["hookId"], "h");
    assert_eq!(hooks.hook("g", "h").await.unwrap()["hookId"], "h");
    // The auth service was told the request as upstream tells it, with the caller's address.
    let asked = app.fake.authenticate_hawk_requests();
    let port = common::port_of(&app);
    for method in ["put", "get"] {
        let request = asked
            .iter()
            .find(|r| r["method"] == method && r["resource"] == "/api/hooks/v1/hooks/g/h")
            .unwrap_or_else(|| panic!("no {method} of /hooks/g/h among {asked:?}"));
        let mut keys: Vec<&str> = request.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["authorization", "host", "method", "port", "resource", "sourceIp"], "{request}");
        assert_eq!((&request["host"], &request["port"]), (&json!("127.0.0.1"), &json!(port)), "{request}");
        assert_eq!(request["sourceIp"], "127.0.0.1", "{request}");
        let authorization = request["authorization"].as_str().unwrap();
        assert!(authorization.starts_with("Hawk ") && authorization.contains("id=\"remote-user\""), "{request}");
    }
    // Scopes come from the auth service: this user holds nothing under group `other`.
    assert_eq!(status_of(&hooks.createHook("other", "h", &hook_body()).await.unwrap_err()), Some(403));
    // The static clients mean nothing in remote mode, and a wrong token is the auth service's 401.
    let static_client = client(&app, Credentials::new("tester", TESTER_TOKEN), None);
    assert_eq!(status_of(&static_client.hook("g", "h").await.unwrap_err()), Some(401));
    let wrong = client(&app, Credentials::new("remote-user", "wrong-token-0123456789abcdefghijklmnopqrs"), None);
    assert_eq!(status_of(&wrong.hook("g", "h").await.unwrap_err()), Some(401));
    // Temporary credentials and authorizedScopes pass through the auth service too.
    let temp = user.create_temp_creds(Duration::from_secs(600), ["hooks:get:g:h"]).unwrap();
    assert_eq!(client(&app, temp, None).hook("g", "h").await.unwrap()["hookId"], "h");
    let narrowed = client(&app, user, Some(&["hooks:get:g:h"]));
    assert_eq!(status_of(&narrowed.removeHook("g", "h").await.unwrap_err()), Some(403));
}
