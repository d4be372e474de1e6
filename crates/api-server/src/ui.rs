//! The web UI (docs/ui.md): plain ES modules and a stylesheet from `crates/api-server/ui/`, embedded in the binary
//! at build time and served at `/ui/` under a strict Content-Security-Policy. The UI calls only the public API, with
//! Hawk signatures computed in the browser, so it holds no privilege of its own.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, guard, web};

/// Where the UI lives; `/` redirects here.
pub const UI_PREFIX: &str = "/ui/";

/// Only this server's own files, never inline code or styles; no framing, no `<base>`, no form posted elsewhere.
/// The API's answers keep upstream's `default-src 'none'` (set on every response that has none of its own).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// One embedded file: its path under [`UI_PREFIX`], its media type and its bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset { path: $path, content_type: $content_type, body: include_bytes!(concat!("../ui/", $path)) }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the UI; `""` is the page itself.
const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("js/app.js", JS),
    asset!("js/api.js", JS),
    asset!("js/hawk.js", JS),
    asset!("js/session.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/time.js", JS),
    asset!("js/errors.js", JS),
    asset!("js/json-editor.js", JS),
    asset!("js/schema-form.js", JS),
    asset!("js/tabs.js", JS),
    asset!("js/views/signin.js", JS),
    asset!("js/views/groups.js", JS),
    asset!("js/views/hook.js", JS),
    asset!("js/views/fires.js", JS),
    asset!("js/views/editor.js", JS),
    asset!("js/views/trigger.js", JS),
    asset!("js/views/webhook.js", JS),
];

/// Registers `/` (a redirect), `/ui` and the files under `/ui/`. Exact paths only, so every other route (the
/// API, `/robots.txt`, the health routes) is matched as before.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let get = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    // Other methods get the 404 of unmatched paths, as the API's routes give them.
    let resource = |paths: Vec<&str>| web::resource(paths).default_service(web::to(crate::routes::not_found));
    cfg.service(resource(vec!["/", "/ui"]).route(get().to(redirect)))
        .service(resource(vec!["/ui/{path:.*}"]).route(get().to(serve)));
}

/// `/` and `/ui`: the UI's page.
async fn redirect() -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, UI_PREFIX)).finish()
}

/// A file of the UI, or 404.
async fn serve(req: HttpRequest) -> HttpResponse {
    let path = req.match_info().query("path");
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return with_policy(HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("Not found"));
    };
    with_policy(
        HttpResponse::Ok()
            .content_type(asset.content_type)
            // The files change only with the binary; revalidating keeps a new deployment's UI consistent.
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(asset.body),
    )
}

/// The UI's security headers, set here because the server's defaults fill in only what a response lacks.
fn with_policy(mut res: HttpResponse) -> HttpResponse {
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_path_is_unique_and_relative() {
        for (i, asset) in ASSETS.iter().enumerate() {
            assert!(!asset.path.starts_with('/'), "{}", asset.path);
            assert!(ASSETS[..i].iter().all(|a| a.path != asset.path), "{} twice", asset.path);
        }
    }

    /// The modules' relative imports and the page's `src`/`href`, resolved against the file that names them.
    fn references(asset: &Asset) -> Vec<String> {
        let text = std::str::from_utf8(asset.body).unwrap_or_default();
        let dir = asset.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let quoted = ["from '", "src=\"", "href=\""];
        let mut found = Vec::new();
        for opening in quoted {
            let close = if opening.ends_with('\'') { '\'' } else { '"' };
            for (start, _) in text.match_indices(opening) {
                let rest = &text[start + opening.len()..];
                let Some(end) = rest.find(close) else { continue };
                let target = &rest[..end];
                if target.starts_with('#') || !(target.starts_with('.') || asset.path.ends_with(".html")) {
                    continue;
                }
                let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
                for part in target.split('/') {
                    match part {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        part => parts.push(part),
                    }
                }
                found.push(parts.join("/"));
            }
        }
        found
    }

    #[test]
    fn every_file_the_ui_references_is_embedded() {
        let mut checked = 0;
        for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js") || a.path.ends_with(".html")) {
            for target in references(asset) {
                assert!(
                    ASSETS.iter().any(|a| a.path == target),
                    "{} names {target}, which is not embedded",
                    asset.path
                );
                checked += 1;
            }
        }
        assert!(checked > 10, "only {checked} references found");
    }

    #[test]
    fn every_file_under_ui_is_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let relative = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                assert!(ASSETS.iter().any(|a| a.path == relative), "ui/{relative} is not in ASSETS");
            }
        }
    }

    #[test]
    fn the_page_loads_only_its_own_files() {
        let page = std::str::from_utf8(ASSETS[0].body).unwrap_or_default();
        assert!(!page.contains("http:") && !page.contains("https:"), "the page names another host");
        assert!(!page.contains("<script>") && !page.contains("style="), "inline code or style breaks the CSP");
    }
}
