//! notify's email.

use super::*;
use taskcluster::Notify;

#[tokio::test]
async fn notify_email_is_recorded() {
    let fake = FakeTaskcluster::start(vec![
        ClientSpec {
            client_id: "static/hooks".into(),
            access_token: "t1".into(),
            scopes: vec!["notify:email:*".into()],
        },
        ClientSpec {
            client_id: "no-notify".into(),
            access_token: "t2".into(),
            scopes: vec!["queue:create-task:*".into()],
        },
    ]);
    let notify =
        |c: Credentials| Notify::new(ClientBuilder::new(fake.root_url()).credentials(c).retry(retry(0))).unwrap();
    let email = json!({"address": "a@example.com", "subject": "s", "content": "c"});
    let n = notify(creds(fake.service_client()));
    n.email(&email).await.unwrap();
    assert_eq!(fake.emails(), vec![email.clone()]);

    fake.fail_notify(1, 500, "InternalServerError");
    let err = n.email(&email).await.unwrap_err();
    assert_eq!(status_of(&err), Some(500));

    let err = notify(Credentials::new("no-notify", "t2")).email(&email).await.unwrap_err();
    assert_eq!(status_of(&err), Some(403));
    assert!(err.to_string().contains("notify:email:a@example.com"), "{err}");

    let err = notify(Credentials::new("static/hooks", "wrong")).email(&email).await.unwrap_err();
    assert_eq!(status_of(&err), Some(401));
    assert_eq!(fake.emails().len(), 1);
}
