//! The fake's own tests, by service: the official client (and raw HTTP where it cannot go) against the fake.

mod auth;
mod notify;
mod queue;
mod server;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose;
use chrono::Utc;
use serde_json::{Value, json};
use taskcluster::{ClientBuilder, Credentials, Queue, Retry, err_status_code};

use super::ClientSpec;
use super::FakeTaskcluster;
use super::auth::hmac_sha256;
use super::framework::iso;

/// A random v4 slugid, as the queue requires for taskIds.
fn slug() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut b).unwrap();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn task(name: &str) -> Value {
    let now = Utc::now();
    json!({
        "provisionerId": "proj-test",
        "workerType": "linux",
        "created": iso(now),
        "deadline": iso(now + chrono::Duration::hours(1)),
        "payload": {},
        "metadata": {
            "name": name,
            "description": "a test task",
            "owner": "nobody@example.com",
            "source": "https://example.com/",
        },
    })
}

fn creds(c: &ClientSpec) -> Credentials {
    Credentials::new(c.client_id.clone(), c.access_token.clone())
}

fn retry(retries: usize) -> Retry {
    Retry {
        retries,
        max_delay: Duration::from_millis(10),
        delay_factor: Duration::from_millis(1),
        randomization_factor: 0.0,
    }
}

fn queue(fake: &FakeTaskcluster, creds: Credentials, authorized: Option<&[&str]>) -> Queue {
    let mut b = ClientBuilder::new(fake.root_url()).credentials(creds).retry(retry(0));
    if let Some(a) = authorized {
        b = b.authorized_scopes(a.iter().copied());
    }
    Queue::new(b).unwrap()
}

fn status_of(err: &anyhow::Error) -> Option<u16> {
    err_status_code(err).map(|s| s.as_u16())
}

/// A minimal blocking HTTP/1.1 client, for requests the official client cannot make.
fn raw(
    root: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, HashMap<String, String>, Value) {
    let addr = root.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string())).collect();
    (status, headers, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Signs a certificate exactly as the taskcluster client does, with free start/expiry.
fn make_cert(
    issuer: &ClientSpec,
    temp_client_id: Option<&str>,
    start: i64,
    expiry: i64,
    scopes: &[&str],
) -> Credentials {
    let seed = format!("{}{}", slug(), slug());
    let mut lines = vec!["version:1".to_string()];
    if let Some(id) = temp_client_id {
        lines.push(format!("clientId:{id}"));
        lines.push(format!("issuer:{}", issuer.client_id));
    }
    lines.push(format!("seed:{seed}"));
    lines.push(format!("start:{start}"));
    lines.push(format!("expiry:{expiry}"));
    lines.push("scopes:".into());
    lines.extend(scopes.iter().map(|s| s.to_string()));
    let signature = general_purpose::STANDARD.encode(hmac_sha256(&issuer.access_token, lines.join("\n").as_bytes()));
    let mut cert = json!({
        "version": 1, "scopes": scopes, "start": start, "expiry": expiry,
        "seed": seed, "signature": signature,
    });
    if temp_client_id.is_some() {
        cert["issuer"] = json!(issuer.client_id);
    }
    let token = general_purpose::URL_SAFE_NO_PAD.encode(hmac_sha256(&issuer.access_token, seed.as_bytes()));
    Credentials::new_with_certificate(temp_client_id.unwrap_or(&issuer.client_id), token, cert.to_string())
}

fn hawk_creds(c: &ClientSpec) -> hawk::Credentials {
    hawk::Credentials { id: c.client_id.clone(), key: hawk::Key::new(c.access_token.as_bytes(), hawk::SHA256).unwrap() }
}

fn ext_b64(v: Value) -> String {
    general_purpose::STANDARD.encode(v.to_string())
}

/// Lets tests compare task bodies while ignoring the timestamps `task()` generates.
trait WithTimes {
    fn with_times_of(self, other: &Value) -> Value;
}
impl WithTimes for Value {
    fn with_times_of(mut self, other: &Value) -> Value {
        for k in ["created", "deadline"] {
            self[k] = other[k].clone();
        }
        self
    }
}
