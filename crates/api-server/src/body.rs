//! The request body, read as upstream's body-parser reads it: a body declared `application/json` is decoded per its
//! `Content-Encoding` (identity, gzip, deflate or br, what body-parser and Node's zlib offer) and may be at most
//! [`MAX_BODY`] once decoded. Any other body is never used, so it is read as sent, encoding unchecked, as upstream
//! skips it. Every refusal is a Taskcluster error body, never actix's plain-text one.

use std::ops::Deref;

use actix_web::dev::{Decompress, Payload};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, ContentEncoding};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures::StreamExt as _;
use futures::future::LocalBoxFuture;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ErrorCode, RequestInfo};

/// Bodies above this (decoded) are refused, as upstream (10 MB).
pub(crate) const MAX_BODY: usize = hooks_core::MAX_PAYLOAD_BYTES;

/// A request's body, decoded (see the module's documentation).
pub struct Body(Bytes);

impl Deref for Body {
    type Target = Bytes;

    fn deref(&self) -> &Bytes {
        &self.0
    }
}

impl FromRequest for Body {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        // Upstream never reads a body of another type, so its encoding is not looked at: it is taken as sent.
        let encoding = if crate::call::is_json(&req) { content_encoding(&req) } else { Ok(ContentEncoding::Identity) };
        let payload = payload.take();
        Box::pin(async move {
            let encoding = encoding.map_err(|e| refusal(&req, ErrorCode::MalformedPayload, e))?;
            read(&req, payload, encoding).await.map(Body)
        })
    }
}

/// The `Content-Encoding` of a JSON body, as body-parser reads it: the whole header (repeated ones joined as Node
/// joins them), case-insensitive, `identity` when absent or empty; anything but one coding it knows is refused.
fn content_encoding(req: &HttpRequest) -> Result<ContentEncoding, String> {
    let values: Vec<String> = req
        .headers()
        .get_all(CONTENT_ENCODING)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_ascii_lowercase())
        .collect();
    let declared = values.join(", ");
    let encoding = match declared.as_str() {
        "" | "identity" => ContentEncoding::Identity,
        "gzip" => ContentEncoding::Gzip,
        "deflate" => ContentEncoding::Deflate,
        "br" => ContentEncoding::Brotli,
        // zstd too: actix could decode it, but upstream refuses it, so a client can't come to rely on it here.
        _ => {
            return Err(format!(
                "Content-Encoding {declared} is not supported; send the body as identity, gzip, deflate or br"
            ));
        }
    };
    Ok(encoding)
}

/// Reads the body, decoding it from `encoding`, refusing it past [`MAX_BODY`] (decoded) or when it won't decode.
async fn read(req: &HttpRequest, payload: Payload, encoding: ContentEncoding) -> Result<Bytes, ApiError> {
    // Only an identity body's length is known before reading it (raw-body checks it alike).
    if encoding == ContentEncoding::Identity && declared_length(req).is_some_and(|n| n > MAX_BODY) {
        return Err(too_large(req));
    }
    // Decodes a chunk at a time (big chunks on the blocking pool), so the limit holds however well it compresses.
    let mut stream = Decompress::new(payload, encoding);
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| unreadable(req, encoding, e))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large(req));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers().get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn unreadable(req: &HttpRequest, encoding: ContentEncoding, e: PayloadError) -> ApiError {
    if matches!(e, PayloadError::Overflow) {
        return too_large(req);
    }
    // The decoder's error (flate2's, brotli's) is the useful part; actix's wrapper only adds "I/O error: ".
    let cause = match e {
        PayloadError::Io(io) => io.to_string(),
        other => other.to_string(),
    };
    let message = match encoding {
        ContentEncoding::Identity => format!("The body could not be read: {cause}"),
        _ => format!("The {} body could not be decoded: {cause}", encoding.as_str()),
    };
    refusal(req, ErrorCode::MalformedPayload, message)
}

fn too_large(req: &HttpRequest) -> ApiError {
    let message = format!("The request body is larger than the {} MB allowed.", MAX_BODY >> 20);
    refusal(req, ErrorCode::InputTooLarge, message)
}

/// An error for a request whose call has not started (its body is what failed): named by its route.
fn refusal(req: &HttpRequest, code: ErrorCode, message: impl Into<String>) -> ApiError {
    let method = crate::routes::api_method(req.method(), req.match_pattern().as_deref());
    let params: Map<String, Value> =
        req.match_info().iter().map(|(k, v)| (k.to_owned(), Value::String(v.to_owned()))).collect();
    ApiError {
        code,
        message: message.into(),
        info: Box::new(RequestInfo { method, params: Value::Object(params), payload: json!({}) }),
        hawk_challenge: false,
    }
}
