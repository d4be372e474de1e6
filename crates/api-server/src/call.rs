//! One API call being served: its method name, URL parameters and body, checked in the upstream order (body,
//! authentication and scopes, URL parameters, query string, input schema) so the same error wins as upstream.

use actix_web::HttpRequest;
use actix_web::web::Bytes;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ErrorCode, RequestInfo};

/// A call in progress.
pub struct Call {
    info: RequestInfo,
    /// The parsed body (`{}` when empty).
    pub body: Value,
    /// Whether the body was declared `application/json` (upstream reads no other).
    json: bool,
}

// Upstream's patterns as JavaScript prints them (`RegExp.prototype.toString`), which its messages quote.
const GROUP_PATTERN: &str = "/^[a-zA-Z0-9-_]{1,1000}$/";
const HOOK_PATTERN: &str = r"/^[a-zA-Z0-9-_\/]{1,1000}$/";

impl Call {
    /// Starts a call: records its name (the matched route's) and parameters and parses the body (400 MalformedPayload when it isn't JSON).
    /// As upstream, only a body declared `application/json` is read; any other counts as `{}` (and an endpoint
    /// with an input schema then refuses its content type).
    pub fn start(params: &[(&str, &str)], req: &HttpRequest, body: &Bytes) -> Result<Self, ApiError> {
        // The name comes from the endpoint table, through the route the request matched.
        let method = crate::routes::api_method(req.method(), req.match_pattern().as_deref());
        let params: Map<String, Value> =
            params.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect();
        let info = RequestInfo { method, params: Value::Object(params), payload: json!({}) };
        let mut call = Self { info, body: json!({}), json: is_json(req) };
        if !body.is_empty() && call.json {
            match serde_json::from_slice::<Value>(body) {
                Ok(v @ (Value::Object(_) | Value::Array(_))) => {
                    call.info.payload = v.clone();
                    call.body = v;
                }
                Ok(_) => {
                    return Err(
                        call.error(ErrorCode::MalformedPayload, "Failed to parse JSON: the body must be a JSON object")
                    );
                }
                Err(e) => return Err(call.error(ErrorCode::MalformedPayload, format!("Failed to parse JSON: {e}"))),
            }
        }
        Ok(call)
    }

    /// An error answering this call.
    pub fn error(&self, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), info: Box::new(self.info.clone()), hawk_challenge: false }
    }

    /// The API method's name.
    pub fn method(&self) -> &'static str {
        self.info.method
    }

    /// The URL parameters, as the endpoint's scope templates name them.
    pub fn params(&self) -> Vec<(&str, &str)> {
        let Value::Object(params) = &self.info.params else { return Vec::new() };
        params.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect()
    }

    /// Checks `hookGroupId` (and `hookId`, when the route has one) against upstream's patterns.
    pub fn check_ids(&self, hook_group_id: &str, hook_id: Option<&str>) -> Result<(), ApiError> {
        let mut bad = Vec::new();
        if hooks_core::HookGroupId::parse(hook_group_id).is_err() {
            bad.push(format!("URL parameter 'hookGroupId' given as '{hook_group_id}' must match regular expression: '{GROUP_PATTERN}'"));
        }
        if let Some(h) = hook_id
            && hooks_core::HookId::parse(h).is_err()
        {
            bad.push(format!("URL parameter 'hookId' given as '{h}' must match regular expression: '{HOOK_PATTERN}'"));
        }
        if bad.is_empty() {
            return Ok(());
        }
        Err(self.error(ErrorCode::InvalidRequestArguments, format!("Invalid URL patterns:\n{}", bad.join("\n"))))
    }

    /// Refuses query-string keys the endpoint does not declare (`bewit` is always allowed: it is authentication).
    pub fn check_query(&self, req: &HttpRequest, declared: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
        let pairs: Vec<(String, String)> = form_pairs(req.query_string());
        for (k, _) in &pairs {
            if k != "bewit" && !declared.contains(&k.as_str()) {
                return Err(self.error(
                    ErrorCode::InvalidRequestArguments,
                    format!("Query-string parameter: {k} is not supported!"),
                ));
            }
        }
        Ok(pairs)
    }

    /// What a Hawk payload hash covers: the body when it was read as JSON, else nothing (as upstream).
    pub fn hashed_body<'b>(&self, body: &'b [u8]) -> &'b [u8] {
        if self.json { body } else { &[] }
    }

    /// Requires `Content-Type: application/json` on an endpoint with an input schema.
    pub fn check_json_content_type(&self, req: &HttpRequest) -> Result<(), ApiError> {
        if self.json {
            return Ok(());
        }
        // Upstream prints the header as its details render it: `null` when there is none.
        let ct = req.headers().get("content-type").map_or("null", |v| v.to_str().unwrap_or(""));
        Err(self.error(
            ErrorCode::MalformedPayload,
            format!("Payload must be JSON with content-type: application/json got content-type: {ct}"),
        ))
    }
}

/// Whether the request declares a JSON body (`application/json`, with or without parameters).
pub(crate) fn is_json(req: &HttpRequest) -> bool {
    let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    ct.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}
