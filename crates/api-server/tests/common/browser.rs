//! A headless Chromium driven over WebDriver: Debian's `chromedriver` (scripts/services.sh installs it), started on
//! a free port in a process group of its own, so that dropping it ends it and the browsers it started, and nothing
//! else.
#![allow(dead_code, reason = "not every test file uses every helper")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long a step may take before the test fails: generous, as the machine is shared with other builds.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The browsers' time zone.
pub const BROWSER_ZONE: &str = "Europe/Berlin";

/// Where chromedriver and chromium are; `CHROMEDRIVER` and `CHROMIUM` override.
fn program(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

/// A running chromedriver, ended (with its browsers) when dropped.
pub struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it is ready.
    pub async fn start() -> Self {
        use std::os::unix::process::CommandExt as _;
        let driver = program("CHROMEDRIVER", "/usr/bin/chromedriver");
        assert!(
            Path::new(&driver).exists(),
            "{driver} is missing: install Debian's chromium and chromium-driver (bash scripts/services.sh does)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            // Not UTC, so that the page's local times differ from the UTC ones it shows on hover.
            .env("TZ", BROWSER_ZONE)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: the browsers it starts join it, and one signal to the group ends them all.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {driver}: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = reqwest::get(format!("{url}/status")).await.ok().map(|r| r.status().is_success());
            if ready == Some(true) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver never answered on {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url }
    }

    /// A new headless browser window of `width`×`height` CSS pixels.
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        self.session(json!({"args": chrome_args(&format!("--window-size={width},{height}"))})).await
    }

    /// A new headless browser emulating a phone's screen of `width`×`height` CSS pixels (a desktop window can't
    /// be made that narrow).
    pub async fn phone(&self, width: u32, height: u32) -> Browser {
        let metrics = json!({"width": width, "height": height, "pixelRatio": 1, "touch": true, "mobile": true});
        self.session(json!({
            "args": chrome_args("--window-size=800,1000"),
            "mobileEmulation": {"deviceMetrics": metrics},
        }))
        .await
    }

    async fn session(&self, mut chrome_options: Value) -> Browser {
        chrome_options["binary"] = json!(program("CHROMIUM", "/usr/bin/chromium"));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".to_owned(), chrome_options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector).capabilities(capabilities).connect(&self.url).await.unwrap();
        Browser { client }
    }
}

/// Chromium's flags: headless, as root in a container (no sandbox, no /dev/shm), nothing but the page.
fn chrome_args(window: &str) -> Value {
    json!([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--no-first-run",
        "--lang=en-US",
        "--hide-scrollbars",
        window,
    ])
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid, which can't be reused before it is reaped (the last step), so the
        // signals reach only what this test started. TERM lets chromium end its helpers; KILL ends what is left.
        let group = format!("-{}", self.child.id());
        let signal = |name: &str| Command::new("kill").args([name, "--", &group]).stderr(Stdio::null()).status();
        let _ = signal("-TERM");
        std::thread::sleep(Duration::from_millis(300));
        let _ = signal("-KILL");
        let _ = self.child.wait();
    }
}

/// A browser window and the steps the tests take in it.
pub struct Browser {
    pub client: Client,
}

impl Browser {
    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The element `css` selects, once it is displayed.
    pub async fn shown(&self, css: &str) -> Element {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.is_displayed().await.unwrap_or(false)
            {
                return element;
            }
            assert!(Instant::now() < deadline, "{css} was never shown; the page said:\n{}", self.main_text().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element `css` selects is shown and its text contains `text`; its text.
    pub async fn text_in(&self, css: &str, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let found = self.shown(css).await.text().await.unwrap_or_default();
            if found.contains(text) {
                return found;
            }
            assert!(Instant::now() < deadline, "{css} never said {text:?}; it says {found:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the field `css` selects, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.shown(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        self.shown(css).await.click().await.unwrap();
    }

    /// The main region's text (what a failed step reports).
    pub async fn main_text(&self) -> String {
        match self.client.find(Locator::Css("main")).await {
            Ok(main) => main.text().await.unwrap_or_default(),
            Err(e) => format!("(no main element: {e})"),
        }
    }

    /// How many elements `css` selects.
    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// Runs `script` in the page; its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Makes the window tall enough to show the whole page (at most 3000 pixels), for a screenshot of all of it.
    pub async fn fit_page_height(&self, width: u32) {
        // Short first: a page is never shorter than its window.
        self.client.set_window_size(width, 600).await.unwrap();
        let sizes = self.eval("return [document.documentElement.scrollHeight, outerHeight - innerHeight]").await;
        let height = |i: usize| sizes[i].as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
        self.client.set_window_size(width, (height(0) + height(1)).min(3000)).await.unwrap();
    }

    /// Saves a screenshot of the window as `name`.png in the screenshot directory; its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        path
    }

    /// Ends the browser session.
    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// The test artifacts' directory: `<target>/ui-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("ui-screenshots")
}
