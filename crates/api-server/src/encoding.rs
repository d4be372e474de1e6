//! How answers are encoded, as upstream's Express app encodes them: JSON is `application/json; charset=utf-8`
//! (`res.json`), and a compressible answer of at least [`THRESHOLD`] bytes is gzip- or deflate-compressed when the
//! request's `Accept-Encoding` allows it, with `Vary: Accept-Encoding` (the `compression` middleware's defaults).
//!
//! actix-web's own `middleware::Compress` can't do this: it compresses every size, and offers brotli and zstd too
//! (features the request decoding in `body.rs` needs), which upstream never answers with.

use std::io::Write as _;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, VARY,
};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};

/// Smaller bodies go as they are: the compression middleware's default threshold (`1kb`).
const THRESHOLD: usize = 1024;
/// Larger bodies are compressed on the blocking pool, so one big answer doesn't hold up a worker's other requests.
const COMPRESS_INLINE: usize = 64 * 1024;

/// A coding the answer may be compressed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    /// Node's `zlib.createDeflate`: the zlib format (RFC 1950), which is what HTTP's `deflate` names.
    Deflate,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
        }
    }
}

/// The middleware (wrap it with `actix_web::middleware::from_fn`).
pub async fn encode(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let coding = negotiate(req.headers());
    let head = req.method() == Method::HEAD;
    let mut res = next.call(req).await?.map_into_boxed_body();
    let headers = res.headers_mut();
    with_charset(headers);
    if !compressible(headers) || no_transform(headers) {
        return Ok(res);
    }
    add_vary(headers);
    let sized = matches!(res.response().body().size(), BodySize::Sized(n) if n >= THRESHOLD as u64);
    let status = res.status();
    let Some(coding) = coding.filter(|_| sized && !head && status != StatusCode::NO_CONTENT) else {
        return Ok(res);
    };
    if res.headers().contains_key(CONTENT_ENCODING) {
        return Ok(res);
    }
    let (req, response) = res.into_parts();
    let (response, body) = response.into_parts();
    let bytes = match body.try_into_bytes() {
        Ok(bytes) => bytes,
        // A body that is not in memory is streamed as it is.
        Err(body) => return Ok(ServiceResponse::new(req, response.set_body(body))),
    };
    let compressed = if bytes.len() <= COMPRESS_INLINE {
        compress(coding, &bytes)
    } else {
        let input = bytes.clone();
        web::block(move || compress(coding, &input)).await.unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
    };
    let response = match compressed {
        Ok(compressed) => {
            let mut response = response.set_body(BoxBody::new(compressed));
            let headers = response.headers_mut();
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.name()));
            // actix writes the new body's length.
            headers.remove(CONTENT_LENGTH);
            response
        }
        // Compressing into memory fails only if memory does: the answer still goes, uncompressed.
        Err(e) => {
            tracing::warn!(error = %e, "compressing an answer failed; sending it uncompressed");
            response.set_body(BoxBody::new(bytes))
        }
    };
    Ok(ServiceResponse::new(req, response))
}

fn compress(coding: Coding, bytes: &[u8]) -> std::io::Result<Bytes> {
    let out = Vec::with_capacity(bytes.len() / 4);
    let out = match coding {
        Coding::Gzip => {
            let mut encoder = GzEncoder::new(out, Compression::default());
            encoder.write_all(bytes)?;
            encoder.finish()?
        }
        Coding::Deflate => {
            let mut encoder = ZlibEncoder::new(out, Compression::default());
            encoder.write_all(bytes)?;
            encoder.finish()?
        }
    };
    Ok(Bytes::from(out))
}

/// `res.json` declares UTF-8; actix's `HttpResponse::json` writes a bare `application/json`.
fn with_charset(headers: &mut HeaderMap) {
    if headers.get(CONTENT_TYPE).is_some_and(|ct| ct.as_bytes().eq_ignore_ascii_case(b"application/json")) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    }
}

/// Whether the answer's type is one the compression middleware compresses (its `compressible` check, for the
/// types this service answers with).
fn compressible(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let base = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    base.starts_with("text/") || base == "application/json" || base.ends_with("+json")
}

/// `Cache-Control: no-transform` forbids changing the encoding.
fn no_transform(headers: &HeaderMap) -> bool {
    headers
        .get_all(CACHE_CONTROL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
}

fn add_vary(headers: &mut HeaderMap) {
    let present = headers
        .get_all(VARY)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim() == "*" || v.trim().eq_ignore_ascii_case("accept-encoding"));
    if !present {
        headers.append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

/// One `Accept-Encoding` entry.
struct Accepted<'a> {
    coding: &'a str,
    q: f32,
    order: usize,
}

/// The coding to answer with, chosen as the compression middleware chooses (npm `negotiator`): among gzip, deflate
/// and identity the highest `q`, an exact name before `*`, the header's order next; deflate only when gzip isn't
/// acceptable. `None`: identity.
fn negotiate(headers: &HeaderMap) -> Option<Coding> {
    let header: Vec<&str> = headers.get_all(ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).collect();
    let accepted: Vec<Accepted<'_>> = header
        .iter()
        .flat_map(|v| v.split(','))
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let coding = parts.next()?.trim();
            if coding.is_empty() {
                return None;
            }
            let q =
                parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            Some((coding, q))
        })
        .enumerate()
        .map(|(order, (coding, q))| Accepted { coding, q, order })
        .collect();
    // An unnamed identity is acceptable at the lowest quality given (negotiator's rule).
    let lowest = accepted.iter().map(|a| a.q).fold(1.0_f32, f32::min);
    let priority = |name: &str| -> Option<(f32, u8, usize)> {
        let exact = accepted.iter().find(|a| a.coding.eq_ignore_ascii_case(name)).map(|a| (a.q, 1, a.order));
        let any = || accepted.iter().find(|a| a.coding == "*").map(|a| (a.q, 0, a.order));
        let found = exact.or_else(any);
        let found = if name == "identity" { found.or(Some((lowest, 0, usize::MAX))) } else { found };
        found.filter(|(q, _, _)| *q > 0.0)
    };
    let best = |names: &[&'static str]| -> Option<&'static str> {
        let mut ranked: Vec<(&'static str, (f32, u8, usize))> =
            names.iter().filter_map(|n| priority(n).map(|p| (*n, p))).collect();
        // Stable: at equal rank the earlier name wins, as negotiator's last tie-break.
        ranked.sort_by(|(_, a), (_, b)| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        ranked.first().map(|(n, _)| *n)
    };
    let mut chosen = best(&["gzip", "deflate", "identity"]);
    // The compression middleware's "we really don't prefer deflate".
    if chosen == Some("deflate") && priority("gzip").is_some() {
        chosen = best(&["gzip", "identity"]);
    }
    match chosen {
        Some("gzip") => Some(Coding::Gzip),
        Some("deflate") => Some(Coding::Deflate),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(accept: &str) -> Option<Coding> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(accept).unwrap());
        negotiate(&headers)
    }

    #[test]
    fn negotiation_prefers_gzip_and_honours_q() {
        assert_eq!(negotiate(&HeaderMap::new()), None);
        assert_eq!(chosen("gzip, deflate, br"), Some(Coding::Gzip));
        assert_eq!(chosen("deflate, gzip"), Some(Coding::Gzip));
        assert_eq!(chosen("deflate"), Some(Coding::Deflate));
        assert_eq!(chosen("br, zstd"), None);
        assert_eq!(chosen("*"), Some(Coding::Gzip));
        assert_eq!(chosen("gzip;q=0, deflate"), Some(Coding::Deflate));
        assert_eq!(chosen("gzip;q=0.5, identity"), None);
        assert_eq!(chosen("identity"), None);
    }
}
