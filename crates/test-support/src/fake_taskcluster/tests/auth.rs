//! Hawk headers and bewits, temporary credentials, authorizedScopes, roles and authenticateHawk.

use super::*;
use std::collections::BTreeMap;
use std::time::SystemTime;

use chrono::DateTime;
use hooks_core::auth::satisfies_scope;
use taskcluster::Auth;

use crate::fake_taskcluster::Directory;
use crate::fake_taskcluster::auth::load_credentials;
use crate::fake_taskcluster::scopes::expand_scopes;

#[tokio::test]
async fn wrong_access_token_or_unknown_client_is_401() {
    let fake = FakeTaskcluster::start_default();
    let bad = Credentials::new("static/hooks", "not-the-token");
    let err = queue(&fake, bad, None).createTask(&slug(), &task("x")).await.unwrap_err();
    assert_eq!(status_of(&err), Some(401));
    assert!(err.to_string().contains("Unauthorized: Bad mac"), "{err}");
    assert!(err.to_string().contains("* errorCode:  AuthenticationFailed"));

    let unknown = Credentials::new("nobody", "whatever");
    let err = queue(&fake, unknown, None).createTask(&slug(), &task("x")).await.unwrap_err();
    assert_eq!(status_of(&err), Some(401));
    assert!(err.to_string().contains("Client with clientId 'nobody' not found"), "{err}");

    assert!(fake.created_tasks().is_empty());
    let reqs = fake.create_task_requests();
    assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![401, 401]);
    assert_eq!(reqs[1].client_id, "nobody");
}

/// The real auth service rejects unsatisfiable authorizedScopes at authentication (401), not 403.

#[tokio::test]
async fn authorized_scopes_not_held_by_client_fail_authentication() {
    let fake = FakeTaskcluster::start_default();
    let q = queue(&fake, creds(fake.service_client()), Some(&["queue:create-task:*", "secrets:get:*"]));
    let err = q.createTask(&slug(), &task("x")).await.unwrap_err();
    assert_eq!(status_of(&err), Some(401));
    assert!(err.to_string().contains("Supplied credentials do not satisfy authorizedScopes"), "{err}");
    let reqs = fake.create_task_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, 401);
    assert_eq!(reqs[0].authorized_scopes, Some(vec!["queue:create-task:*".to_string(), "secrets:get:*".to_string()]));
    assert!(fake.created_tasks().is_empty());
}

#[tokio::test]
async fn temporary_credentials_are_accepted() {
    let issuer = ClientSpec {
        client_id: "static/hooks".into(),
        access_token: "issuer-token".into(),
        scopes: vec!["queue:create-task:*".into(), "notify:email:*".into(), "auth:create-client:temp/*".into()],
    };
    let fake = FakeTaskcluster::start(vec![issuer.clone()]);
    fake.set_role("unused", vec![]); // turn on the create-task scope check

    // unnamed: clientId stays the issuer's, scopes are the certificate's
    let temp = creds(&issuer).create_temp_creds(Duration::from_secs(600), ["queue:create-task:proj-test/*"]).unwrap();
    queue(&fake, temp, None).createTask(&slug(), &task("unnamed")).await.unwrap();

    // named, with authorizedScopes on top
    let temp =
        creds(&issuer).create_named_temp_creds("temp/one", Duration::from_secs(600), ["queue:create-task:*"]).unwrap();
    queue(&fake, temp, Some(&["queue:create-task:proj-test/linux"])).createTask(&slug(), &task("named")).await.unwrap();

    // the certificate's scopes, not the issuer's, are what counts
    let temp = creds(&issuer).create_temp_creds(Duration::from_secs(600), ["notify:email:*"]).unwrap();
    let err = queue(&fake, temp, None).createTask(&slug(), &task("no-scope")).await.unwrap_err();
    assert_eq!(status_of(&err), Some(403));

    let created = fake.created_tasks();
    assert_eq!(created.len(), 2);
    assert_eq!(created[0].client_id, "static/hooks");
    assert_eq!(created[1].client_id, "temp/one");
    assert_eq!(created[1].authorized_scopes, Some(vec!["queue:create-task:proj-test/linux".to_string()]));
}

#[tokio::test]
async fn bad_certificates_are_rejected() {
    let issuer = ClientSpec {
        client_id: "static/hooks".into(),
        access_token: "issuer-token".into(),
        scopes: vec!["queue:create-task:*".into(), "notify:email:*".into()],
    };
    let fake = FakeTaskcluster::start(vec![issuer.clone()]);
    let now = Utc::now().timestamp_millis();
    let hour = 3_600_000;
    let attempt = |c: Credentials| {
        let q = queue(&fake, c, None);
        async move { q.createTask(&slug(), &task("x")).await.unwrap_err() }
    };

    // a correctly signed certificate is accepted (so the failures below are meaningful)
    let good = make_cert(&issuer, None, now, now + hour, &["queue:create-task:*"]);
    queue(&fake, good, None).createTask(&slug(), &task("good")).await.unwrap();

    let expired = make_cert(&issuer, None, now - 2 * hour, now - hour, &["queue:create-task:*"]);
    let err = attempt(expired).await;
    assert_eq!(status_of(&err), Some(401));
    assert!(err.to_string().contains("ext.certificate.expiry < now"), "{err}");

    let future = make_cert(&issuer, None, now + hour, now + 2 * hour, &["queue:create-task:*"]);
    let err = attempt(future).await;
    assert!(err.to_string().contains("ext.certificate.start > now"), "{err}");

    // forged: scopes changed after signing
    let temp = creds(&issuer).create_temp_creds(Duration::from_secs(600), ["notify:email:*"]).unwrap();
    let mut cert: Value = serde_json::from_str(temp.certificate.as_ref().unwrap()).unwrap();
    cert["scopes"] = json!(["queue:create-task:*"]);
    let forged = Credentials::new_with_certificate(temp.client_id.clone(), temp.access_token.clone(), cert.to_string());
    let err = attempt(forged).await;
    assert_eq!(status_of(&err), Some(401));
    assert!(err.to_string().contains("ext.certificate.signature is not valid"), "{err}");

    // certificate scopes beyond the issuer's
    let greedy = make_cert(&issuer, None, now, now + hour, &["secrets:*"]);
    let err = attempt(greedy).await;
    assert!(err.to_string().contains("doesn't satisfy all certificate scopes"), "{err}");

    // signing the request with the permanent token instead of the temporary one
    let temp = creds(&issuer).create_temp_creds(Duration::from_secs(600), ["queue:create-task:*"]).unwrap();
    let wrong_key = Credentials::new_with_certificate(
        temp.client_id.clone(),
        issuer.access_token.clone(),
        temp.certificate.clone().unwrap(),
    );
    let err = attempt(wrong_key).await;
    assert!(err.to_string().contains("Unauthorized: Bad mac"), "{err}");

    // named credentials need auth:create-client:<name> on the issuer
    let named = creds(&issuer).create_named_temp_creds("temp/x", Duration::from_secs(600), ["notify:email:*"]).unwrap();
    let err = attempt(named).await;
    assert!(err.to_string().contains("doesn't have `auth:create-client:temp/x` for supplied clientId"), "{err}");

    assert_eq!(fake.created_tasks().len(), 1);
}

#[tokio::test]
async fn authenticate_hawk_with_a_header() {
    let fake = FakeTaskcluster::start_default();
    fake.set_role("hook-id:g/h", vec!["queue:route:index.*".into()]);
    let svc = fake.service_client().clone();
    let auth = Auth::new(ClientBuilder::new(fake.root_url())).unwrap();
    let resource = "/api/hooks/v1/hooks/g/h%2Fx/trigger";
    let body = br#"{"a":1}"#;
    let hash = hawk::PayloadHasher::hash("application/json", hawk::SHA256, body).unwrap();
    let header = hawk::RequestBuilder::new("POST", "hooks.example.com", 443, resource)
        .hash(&hash[..])
        .request()
        .make_header(&hawk_creds(&svc))
        .unwrap();
    let request = json!({
        "method": "post", "resource": resource, "host": "hooks.example.com", "port": 443,
        "authorization": format!("Hawk {header}"), "sourceIp": "127.0.0.1",
    });
    let res = auth.authenticateHawk(&request).await.unwrap();
    assert_eq!(res["status"], json!("auth-success"), "{res}");
    assert_eq!(res["scheme"], json!("hawk"));
    assert_eq!(res["clientId"], json!("static/hooks"));
    assert_eq!(
        res["scopes"],
        json!(["assume:anonymous", "assume:hook-id:*", "notify:email:*", "queue:create-task:*", "queue:route:index.*"])
    );
    assert_eq!(res["hash"], json!(general_purpose::STANDARD.encode(&hash)));
    assert!(DateTime::parse_from_rfc3339(res["expires"].as_str().unwrap()).is_ok());

    // the same header presented for another resource fails
    let mut other = request.clone();
    other["resource"] = json!("/api/hooks/v1/hooks/g/other/trigger");
    let res = auth.authenticateHawk(&other).await.unwrap();
    assert_eq!(res, json!({"status": "auth-failed", "message": "Unauthorized: Bad mac"}));

    // authorizedScopes restrict and are expanded
    let ext = ext_b64(json!({"authorizedScopes": ["assume:hook-id:g/h"]}));
    let header = hawk::RequestBuilder::new("GET", "hooks.example.com", 443, "/x")
        .ext(ext.as_str())
        .request()
        .make_header(&hawk_creds(&svc))
        .unwrap();
    let res = auth
        .authenticateHawk(&json!({
            "method": "get", "resource": "/x", "host": "hooks.example.com", "port": 443,
            "authorization": format!("Hawk {header}"),
        }))
        .await
        .unwrap();
    assert_eq!(res["status"], json!("auth-success"), "{res}");
    assert_eq!(res["scopes"], json!(["assume:anonymous", "assume:hook-id:g/h", "queue:route:index.*"]));
    assert!(res.get("hash").is_none());

    // a stale timestamp fails
    let old = SystemTime::now() - Duration::from_secs(3600);
    let header = hawk::RequestBuilder::new("GET", "hooks.example.com", 443, "/x")
        .request()
        .make_header_full(&hawk_creds(&svc), old, "nonce")
        .unwrap();
    let res = auth
        .authenticateHawk(&json!({
            "method": "get", "resource": "/x", "host": "hooks.example.com", "port": 443,
            "authorization": format!("Hawk {header}"),
        }))
        .await
        .unwrap();
    assert_eq!(res["message"], json!("Unauthorized: Stale timestamp"));

    // no credentials at all
    let res = auth
        .authenticateHawk(&json!({
            "method": "get", "resource": "/x", "host": "hooks.example.com", "port": 443,
        }))
        .await
        .unwrap();
    assert_eq!(res["status"], json!("no-auth"));
    assert_eq!(res["scopes"], json!(["assume:anonymous"]));

    // the request must carry the required properties
    let err = auth.authenticateHawk(&json!({"method": "get"})).await.unwrap_err();
    assert_eq!(status_of(&err), Some(400));
}

#[tokio::test]
async fn authenticate_hawk_with_a_bewit() {
    let fake = FakeTaskcluster::start_default();
    let svc = fake.service_client().clone();
    let root = fake.root_url();
    let port = fake.addr.port();
    let auth = Auth::new(ClientBuilder::new(root.clone())).unwrap();
    let check = |resource: String, method: &str| {
        let req = json!({"method": method, "resource": resource, "host": "127.0.0.1", "port": port});
        let auth = &auth;
        async move { auth.authenticateHawk(&req).await.unwrap() }
    };

    let q = queue(&fake, creds(&svc), None);
    let url = q.client.make_signed_url("task/abc", Some(vec![("x", "1")]), Duration::from_secs(60)).unwrap();
    let resource = url.strip_prefix(&root).unwrap().to_string();
    assert!(resource.starts_with("/api/queue/v1/task/abc?x=1&bewit="));
    let res = check(resource.clone(), "get").await;
    assert_eq!(res["status"], json!("auth-success"), "{res}");
    assert_eq!(res["clientId"], json!("static/hooks"));
    assert!(res["scopes"].as_array().unwrap().contains(&json!("queue:create-task:*")));

    let res = check(resource.replace("x=1", "x=2"), "get").await;
    assert_eq!(res["message"], json!("Unauthorized: Bad mac"));
    let res = check(resource, "post").await;
    assert_eq!(res["message"], json!("Unauthorized: Invalid method"));

    // bewits carry authorizedScopes and certificates too
    let temp =
        creds(&svc).create_temp_creds(Duration::from_secs(600), ["notify:email:*", "queue:create-task:*"]).unwrap();
    let q = queue(&fake, temp, Some(&["notify:email:a@example.com"]));
    let url = q.client.make_signed_url("task/abc", None, Duration::from_secs(60)).unwrap();
    let res = check(url.strip_prefix(&root).unwrap().to_string(), "get").await;
    assert_eq!(res["status"], json!("auth-success"), "{res}");
    assert_eq!(res["scopes"], json!(["assume:anonymous", "notify:email:a@example.com"]));
}

#[test]
fn role_expansion() {
    let mut roles = BTreeMap::new();
    roles.insert("hook-id:g/h".to_string(), vec!["a:1".to_string(), "assume:inner".to_string()]);
    roles.insert("hook-id:w/*".to_string(), vec!["b:*".to_string()]);
    roles.insert("inner".to_string(), vec!["c:1".to_string()]);
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        expand_scopes(&s(&["assume:hook-id:g/h"]), &roles),
        s(&["a:1", "assume:hook-id:g/h", "assume:inner", "c:1"])
    );
    assert_eq!(expand_scopes(&s(&["assume:hook-id:w/x"]), &roles), s(&["assume:hook-id:w/x", "b:*"]));
    // a star scope grants every role it matches, and covered scopes are dropped
    assert_eq!(
        expand_scopes(&s(&["assume:hook-id:*", "b:2"]), &roles),
        s(&["a:1", "assume:hook-id:*", "assume:inner", "b:*", "c:1"])
    );
    assert_eq!(expand_scopes(&s(&["x:1"]), &roles), s(&["x:1"]));
    assert!(satisfies_scope(&s(&["queue:*"]), "queue:create-task:a/b"));
    assert!(!satisfies_scope(&s(&["queue:create-task:a/b"]), "queue:create-task:a/c"));
}

#[test]
fn certificate_signature_matches_the_taskcluster_client() {
    // the fake verifies certificates produced by the official client byte for byte
    let issuer = ClientSpec { client_id: "issuer".into(), access_token: "tok".into(), scopes: vec!["*".into()] };
    let mut dir = Directory::default();
    dir.clients.insert(issuer.client_id.clone(), issuer.clone());
    for named in [false, true] {
        let temp = if named {
            creds(&issuer).create_named_temp_creds("t/1", Duration::from_secs(60), ["a", "b:*"])
        } else {
            creds(&issuer).create_temp_creds(Duration::from_secs(60), ["a", "b:*"])
        }
        .unwrap();
        let ext = ext_b64(json!({
            "certificate": serde_json::from_str::<Value>(temp.certificate.as_ref().unwrap()).unwrap()
        }));
        let loaded =
            load_credentials(&dir, &temp.client_id, Some(&ext)).unwrap_or_else(|e| panic!("named={named}: {e}"));
        assert_eq!(loaded.key, temp.access_token);
        assert_eq!(loaded.client_id, temp.client_id);
        assert_eq!(loaded.scopes, vec!["a", "assume:anonymous", "b:*"]);
        assert!(loaded.expires < Utc::now() + chrono::Duration::seconds(61));
    }
}
