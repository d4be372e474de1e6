//! The categories thrown at the api-server: runtime-hostile templates (triggerHook), definitions refused up front
//! (createHook and updateHook), hostile payloads (triggerHook, triggerHookWithToken and a signed GitHub webhook
//! delivery) and hostile requests.

use std::io::Write as _;

use serde_json::json;

use crate::client::{Answer, Api, Auth, Request};
use crate::corpus::{self, BodyCase, DefinitionCase, Expect, PayloadCase, Statuses, TemplateCase};
use crate::report::{Category, Outcome};

/// The outcome of an answer against what was expected.
pub fn judge(answer: &anyhow::Result<Answer>, expect: &Expect) -> Outcome {
    match answer {
        Err(e) => Outcome::Unexpected(format!("no answer: {e:#}")),
        Ok(a) => match expect.mismatch(a.status, &a.body) {
            None => Outcome::Expected,
            Some(why) if a.status >= 500 => Outcome::ServerError(why),
            Some(why) => Outcome::Unexpected(why),
        },
    }
}

/// The answer a template case expects from triggerHook.
pub fn template_expect(case: &TemplateCase) -> Expect {
    match &case.error {
        Some(text) => {
            Expect { status: Statuses::One(400), code: Some("InputError".into()), contains: Some(text.clone()) }
        }
        None => Expect { status: Statuses::One(200), code: None, contains: None },
    }
}

/// Each template in a hook of its own, triggered once.
pub async fn templates(api: &Api, cases: &[TemplateCase], category: &mut Category) {
    for (i, case) in cases.iter().enumerate() {
        let hook = format!("/hooks/hostile/template-{i}");
        let mut body = corpus::good_hook();
        body["task"] = case.task_template();
        if let Err(e) = api.call("PUT", &hook, Some(&body)).await {
            category.add(&case.name, Outcome::Unexpected(format!("createHook refused the template: {e:#}")));
            continue;
        }
        let payload = corpus::expand(&case.payload);
        let answer = api.send(Request::signed("POST", &format!("{hook}/trigger"), Some(&payload))).await;
        category.add(&case.name, judge(&answer, &template_expect(case)));
    }
}

/// Each definition sent to createHook (a new hook) and to updateHook (of a good hook, which must stay as it was).
pub async fn definitions(api: &Api, cases: &[DefinitionCase], category: &mut Category) {
    let target = "/hooks/hostile/definition-target";
    if let Err(e) = api.call("PUT", target, Some(&corpus::good_hook())).await {
        category.add("(set-up)", Outcome::Unexpected(format!("creating the good hook: {e:#}")));
        return;
    }
    for (i, case) in cases.iter().enumerate() {
        let body = serde_json::to_vec(&corpus::merge(&corpus::good_hook(), &case.patch)).unwrap_or_default();
        let created = send_bytes(api, "PUT", &format!("/hooks/hostile/definition-{i}"), &body).await;
        let outcome = match judge(&created, &case.expect) {
            Outcome::Expected => match judge(&send_bytes(api, "POST", target, &body).await, &case.expect) {
                Outcome::Expected => unchanged(api, target).await,
                Outcome::ServerError(why) => Outcome::ServerError(format!("updateHook: {why}")),
                Outcome::Unexpected(why) => Outcome::Unexpected(format!("updateHook: {why}")),
            },
            other => other,
        };
        category.add(&case.name, outcome);
    }
}

/// A signed call with `body` as it is.
async fn send_bytes(api: &Api, method: &str, path: &str, body: &[u8]) -> anyhow::Result<Answer> {
    api.send(Request { body: Some(body.to_vec()), ..Request::signed(method, path, None) }).await
}

async fn unchanged(api: &Api, target: &str) -> Outcome {
    match api.call("GET", target, None).await {
        Ok(hook) if hook["task"] == corpus::good_task() => Outcome::Expected,
        Ok(hook) => {
            Outcome::Unexpected(format!("the refused update changed the hook: {}", corpus::shorten(&hook.to_string())))
        }
        Err(e) => Outcome::Unexpected(format!("reading the hook back: {e:#}")),
    }
}

/// Each payload sent to triggerHook and to triggerHookWithToken of a hook of its own.
pub async fn payloads(api: &Api, cases: &[PayloadCase], category: &mut Category) {
    for (i, case) in cases.iter().enumerate() {
        let hook = format!("/hooks/hostile/payload-{i}");
        let body = corpus::merge(&corpus::good_hook(), case.hook.as_ref().unwrap_or(&json!({})));
        let token = match api.call("PUT", &hook, Some(&body)).await {
            Ok(_) => api.call("GET", &format!("{hook}/token"), None).await,
            Err(e) => Err(e),
        };
        let token = match token.map(|t| t["token"].as_str().map(ToOwned::to_owned)) {
            Ok(Some(token)) => token,
            Ok(None) => {
                category.add(&case.name, Outcome::Unexpected("getTriggerToken answered no token".into()));
                continue;
            }
            Err(e) => {
                category.add(&case.name, Outcome::Unexpected(format!("set-up: {e:#}")));
                continue;
            }
        };
        let bytes = match case.payload.bytes() {
            Ok(b) => b,
            Err(e) => {
                category.add(&case.name, Outcome::Unexpected(format!("the corpus: {e:#}")));
                continue;
            }
        };
        let outcome = match judge(&send_bytes(api, "POST", &format!("{hook}/trigger"), &bytes).await, &case.expect) {
            Outcome::Expected => {
                let path = format!("{hook}/trigger/{token}");
                let with_token =
                    Request { body: Some(bytes.clone()), auth: Auth::None, ..Request::signed("POST", &path, None) };
                match judge(&api.send(with_token).await, &case.expect) {
                    Outcome::Expected => {
                        match judge(&deliver(api, &hook, i, &bytes).await, &webhook_expect(&case.expect)) {
                            Outcome::Expected => Outcome::Expected,
                            Outcome::ServerError(why) => Outcome::ServerError(format!("webhook delivery: {why}")),
                            Outcome::Unexpected(why) => Outcome::Unexpected(format!("webhook delivery: {why}")),
                        }
                    }
                    Outcome::ServerError(why) => Outcome::ServerError(format!("triggerHookWithToken: {why}")),
                    Outcome::Unexpected(why) => Outcome::Unexpected(format!("triggerHookWithToken: {why}")),
                }
            }
            Outcome::ServerError(why) => Outcome::ServerError(format!("triggerHook: {why}")),
            Outcome::Unexpected(why) => Outcome::Unexpected(format!("triggerHook: {why}")),
        };
        category.add(&case.name, outcome);
    }
}

/// The secret of the hostile hooks' webhooks.
const WEBHOOK_SECRET: &str = "hostile-webhook-secret-0123456789";

/// `bytes` delivered to the hook's GitHub webhook (set up first), signed as GitHub signs, under a delivery id of its
/// own.
async fn deliver(api: &Api, hook: &str, i: usize, bytes: &[u8]) -> anyhow::Result<Answer> {
    let webhook = format!("{hook}/webhook");
    api.call("PUT", &webhook, Some(&json!({"kind": "github", "secret": WEBHOOK_SECRET}))).await?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, WEBHOOK_SECRET.as_bytes());
    let signature: String = ring::hmac::sign(&key, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let headers = vec![
        ("x-github-event", "push".to_owned()),
        ("x-github-delivery", format!("hostile-payload-{i}")),
        ("x-hub-signature-256", format!("sha256={signature}")),
    ];
    let request =
        Request { body: Some(bytes.to_vec()), auth: Auth::None, headers, ..Request::signed("POST", &webhook, None) };
    api.send(request).await
}

/// What a webhook delivery of a payload must answer: what triggerHook does when that fires (200), else a refusal,
/// whose code may differ (a delivery's body is read as a sender's, not as triggerHook's input).
fn webhook_expect(expect: &Expect) -> Expect {
    if expect.status.allows(200) {
        return Expect { status: Statuses::One(200), code: None, contains: None };
    }
    Expect { status: Statuses::Any((400..500).collect()), code: None, contains: None }
}

/// The hook hostile requests are aimed at (`/hooks/hostile/bodies`).
pub async fn create_body_target(api: &Api) -> anyhow::Result<()> {
    let mut body = corpus::good_hook();
    body["task"]["payload"]["location"] = json!("${payload.location}");
    api.call("PUT", "/hooks/hostile/bodies", Some(&body)).await.map(drop)
}

/// Each hostile request.
pub async fn bodies(api: &Api, cases: &[BodyCase], category: &mut Category) {
    if let Err(e) = create_body_target(api).await {
        category.add("(set-up)", Outcome::Unexpected(format!("creating the target hook: {e:#}")));
        return;
    }
    for case in cases {
        let outcome = match request_body(case) {
            Ok(body) => {
                let request = Request {
                    method: &case.method,
                    path: &case.path,
                    body: Some(body),
                    content_type: &case.content_type,
                    content_encoding: case.content_encoding.as_deref().or(case.compress.as_deref().map(base_encoding)),
                    auth: Auth::parse(&case.auth),
                    headers: Vec::new(),
                };
                judge(&api.send(request).await, &case.expect)
            }
            Err(e) => Outcome::Unexpected(format!("the corpus: {e:#}")),
        };
        category.add(&case.name, outcome);
    }
}

fn base_encoding(compress: &str) -> &str {
    compress.split('-').next().unwrap_or(compress)
}

fn request_body(case: &BodyCase) -> anyhow::Result<Vec<u8>> {
    let plain = case.body.bytes()?;
    Ok(match case.compress.as_deref() {
        None => plain,
        Some("gzip") => gzip(&plain)?,
        Some("deflate") => {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(&plain)?;
            encoder.finish()?
        }
        Some("gzip-corrupt") => {
            let mut body = gzip(&plain)?;
            let crc_at = body.len() - 8;
            body[crc_at] ^= 0xff;
            body
        }
        Some("gzip-truncated") => {
            let whole = gzip(&plain)?;
            whole[..whole.len() / 2].to_vec()
        }
        Some(other) => anyhow::bail!("unknown compression {other:?} (gzip, deflate, gzip-corrupt, gzip-truncated)"),
    })
}

fn gzip(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}
