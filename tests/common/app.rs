//! The real app through tauri-driver and Debian's WebKitWebDriver (under Xvfb, with a session
//! bus): a throwaway desktop for it, the driver, and a W3C WebDriver session on its window.
//! Used by the real-app test (tests/app_e2e.rs) and the app benchmark (examples/app_bench.rs).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const PATIENCE: Duration = Duration::from_secs(60);

/// A throwaway desktop session for the app: its own data folder, XDG folders (so no real browser
/// is registered as the http handler), and a `BROWSER` that records URLs instead of opening them.
pub struct Desktop {
    root: tempfile::TempDir,
    /// The developer's fixed server (`COMPANION_GATEWAY_URL`); `None`: the rep chooses it, and
    /// the administrator's preset file in this desktop prefills the first screen.
    gateway_url: Option<String>,
    /// The app reads the administrator's preset where an installed app does
    /// (`/etc/companion/companion.toml`), not from this desktop's folder.
    system_preset: bool,
}

impl Desktop {
    /// A desktop whose app talks to `gateway_url`, fixed (as `cargo xtask demo` starts it).
    pub fn new(gateway_url: &str) -> Self {
        Self::with_server(Some(gateway_url))
    }

    /// A desktop like an installed one: no server fixed; the administrator preset `preset`
    /// (`server = "…"` in the file `COMPANION_PRESET_FILE` names).
    pub fn choosing_server(preset: &str) -> Self {
        let desktop = Self::with_server(None);
        std::fs::write(
            desktop.root.path().join("companion.toml"),
            format!("# set by the administrator\nserver = \"{preset}\"\n"),
        )
        .unwrap();
        desktop
    }

    /// A desktop like a rep's after `apt install ./companion_….deb`: no server fixed, the
    /// preset read from /etc/companion (see [`SystemPreset`]), and the installed package as the
    /// only application — its desktop entry, and the
    /// MIME cache `update-desktop-database` builds from it (what the package's trigger does for
    /// /usr/share/applications). No browser is registered, so http links go to `BROWSER`.
    pub fn with_installed_entry(desktop_file: &Path) -> Self {
        let mut desktop = Self::with_server(None);
        desktop.system_preset = true;
        let applications = desktop.root.path().join("xdg-system/applications");
        std::fs::create_dir_all(&applications).unwrap();
        std::os::unix::fs::symlink(
            desktop_file,
            applications.join(desktop_file.file_name().unwrap()),
        )
        .unwrap();
        let built = Command::new("update-desktop-database")
            .arg(&applications)
            .status()
            .expect("update-desktop-database runs");
        assert!(built.success(), "update-desktop-database: {built}");
        desktop
    }

    /// What this desktop answers for `mime` (`xdg-mime query default`).
    pub fn default_handler(&self, mime: &str) -> String {
        let mut query = Command::new("xdg-mime");
        query.args(["query", "default", mime]);
        self.apply(&mut query);
        let out = query.output().expect("xdg-mime runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The `companion://` handlers the app registered for this user itself (a development
    /// build does; an installed one leaves it to the package).
    pub fn handlers_registered_by_the_app(&self) -> Vec<String> {
        std::fs::read_dir(self.root.path().join("xdg-data/applications"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What a browser does with a `companion://` redirect on a Linux desktop: `xdg-open URL`,
    /// which looks the scheme's handler up in the MIME database and runs its `Exec` line — here
    /// `companion-app %u` from the installed entry, a second process that hands the URL to the
    /// running app.
    pub fn xdg_open(&self, url: &str) {
        let mut open = Command::new("xdg-open");
        open.arg(url).stdout(Stdio::null());
        self.apply(&mut open);
        let child = open.spawn().expect("xdg-open starts");
        let status = exit_within_patience(child, "xdg-open");
        // As in `deliver_link`: the second instance may die of SIGSEGV after handing the URL
        // over, and xdg-open then reports a failure; the caller asserts what the rep sees.
        if !status.success() {
            eprintln!("note: xdg-open ended with {status}");
        }
    }

    fn with_server(gateway_url: Option<&str>) -> Self {
        let root = tempfile::tempdir().unwrap();
        for dir in ["data", "xdg-data", "xdg-config", "xdg-system", "bin"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        // The system's shared data (GSettings schemas, icons, MIME types…) without its
        // `applications`, so that no installed browser is the desktop's http handler.
        for entry in std::fs::read_dir("/usr/share").unwrap().flatten() {
            if entry.file_name() != "applications" {
                let _ = std::os::unix::fs::symlink(
                    entry.path(),
                    root.path().join("xdg-system").join(entry.file_name()),
                );
            }
        }
        let browser = root.path().join("bin/browser");
        let record = root.path().join("browser-urls.txt");
        std::fs::write(
            &browser,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
                record.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        Desktop {
            root,
            gateway_url: gateway_url.map(str::to_string),
            system_preset: false,
        }
    }

    pub fn apply(&self, command: &mut Command) {
        let dir = |name: &str| self.root.path().join(name);
        match &self.gateway_url {
            Some(url) => command.env("COMPANION_GATEWAY_URL", url),
            None => command.env_remove("COMPANION_GATEWAY_URL"),
        };
        if self.system_preset {
            command.env_remove("COMPANION_PRESET_FILE");
        } else {
            command.env("COMPANION_PRESET_FILE", dir("companion.toml"));
        }
        command
            .env("COMPANION_DATA_DIR", dir("data"))
            .env("XDG_DATA_HOME", dir("xdg-data"))
            .env("XDG_CONFIG_HOME", dir("xdg-config"))
            .env("XDG_DATA_DIRS", dir("xdg-system"))
            .env_remove("XDG_CURRENT_DESKTOP")
            .env("BROWSER", dir("bin/browser"))
            .env("NO_AT_BRIDGE", "1");
    }

    /// The `n`-th URL the app asked the system browser to open.
    pub async fn wait_for_browser_url(&self, n: usize) -> String {
        let record = self.root.path().join("browser-urls.txt");
        let started = Instant::now();
        loop {
            let urls = std::fs::read_to_string(&record).unwrap_or_default();
            if let Some(url) = urls.lines().nth(n - 1) {
                return url.to_string();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the app never opened the browser"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the desktop does with a `companion://` link on Linux: start the app with the URL as
    /// its only argument. That process must hand the URL over and exit.
    pub fn deliver_link(&self, app_bin: &Path, url: &str) {
        let mut second = Command::new(app_bin);
        second.arg(url).stdout(Stdio::null());
        self.apply(&mut second);
        let child = second.spawn().expect("second instance starts");
        let status = exit_within_patience(child, "the second instance (handing the link over)");
        // A non-zero exit code means the hand-over failed. single-instance calls
        // `process::exit(0)` only after the running app accepted the URL; that exit, with
        // WebKitGTK's threads alive, now and then dies of SIGSEGV instead. The rep never sees
        // the second process; what they see (the running app acting on the link) is asserted
        // by the caller.
        use std::os::unix::process::ExitStatusExt;
        assert!(
            status.success() || status.signal().is_some(),
            "second instance exited with {status}"
        );
        if !status.success() {
            eprintln!("note: the second instance ended with {status} after handing over");
        }
    }
}

/// The administrator's server preset where the installed app reads it,
/// `/etc/companion/companion.toml` (written as root, or through `sudo -n`, as the package was
/// installed); removed when dropped. Refuses to replace a preset the machine already has.
pub struct SystemPreset;

impl SystemPreset {
    pub const FILE: &'static str = "/etc/companion/companion.toml";

    pub fn set(server: &str) -> SystemPreset {
        assert!(
            !Path::new(Self::FILE).exists(),
            "{} exists already: this test will not replace a real preset",
            Self::FILE
        );
        let text = format!("# set by the administrator\nserver = \"{server}\"\n");
        for (args, stdin) in [
            (&["mkdir", "-p", "/etc/companion"][..], None),
            (&["tee", Self::FILE][..], Some(text.as_str())),
        ] {
            let status = as_root(args, stdin);
            assert!(status.success(), "{args:?} as root: {status}");
        }
        SystemPreset
    }
}

impl Drop for SystemPreset {
    fn drop(&mut self) {
        as_root(&["rm", "-f", Self::FILE], None);
        // Only when empty: an administrator's other files stay.
        as_root(
            &["rmdir", "--ignore-fail-on-non-empty", "/etc/companion"],
            None,
        );
    }
}

/// Runs `args` as root: directly when this process is root, else through `sudo -n`.
fn as_root(args: &[&str], stdin: Option<&str>) -> std::process::ExitStatus {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0");
    let mut command = if root {
        let mut command = Command::new(args[0]);
        command.args(&args[1..]);
        command
    } else {
        let mut command = Command::new("sudo");
        command.arg("-n").args(args);
        command
    };
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null());
    let mut child = command.spawn().expect("runs as root");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait().unwrap()
}

/// Waits for `child` to exit, killing it and failing after [`PATIENCE`].
fn exit_within_patience(mut child: Child, what: &str) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("{what} did not exit within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// tauri-driver on free ports; it starts WebKitWebDriver, which starts the app.
pub struct TauriDriver {
    process: Child,
    url: String,
}

impl TauriDriver {
    pub fn start(bin: &Path, desktop: &Desktop) -> Self {
        let port = free_port();
        let native_port = free_port();
        let mut command = Command::new(bin);
        command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .stdout(Stdio::null());
        desktop.apply(&mut command);
        let process = command.spawn().expect("tauri-driver starts");
        TauriDriver {
            process,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn launch(&self, app_bin: &Path) -> AppSession {
        let http = reqwest::Client::new();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": app_bin}
        }}});
        let started = Instant::now();
        let session = loop {
            match http
                .post(format!("{}/session", self.url))
                .json(&capabilities)
                .send()
                .await
            {
                Ok(answer) if answer.status().is_success() => {
                    break answer.json::<Value>().await.unwrap();
                }
                Ok(answer) if started.elapsed() > PATIENCE => {
                    panic!("no WebDriver session: {}", answer.text().await.unwrap())
                }
                Err(error) if started.elapsed() > PATIENCE => panic!("tauri-driver: {error}"),
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        let id = session["value"]["sessionId"].as_str().unwrap().to_string();
        AppSession {
            http,
            base: format!("{}/session/{id}", self.url),
        }
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A W3C WebDriver session on the app's window.
pub struct AppSession {
    http: reqwest::Client,
    base: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl AppSession {
    /// A WebDriver call that may fail (e.g. an element the page just replaced): its value, or
    /// the error WebDriver answered.
    pub async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("WebDriver answers");
        let status = answer.status();
        let value: Value = answer.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value["value"].clone())
        } else {
            Err(value)
        }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("WebDriver answers");
        let status = answer.status();
        let value: Value = answer.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "WebDriver {path}: {status} {value}");
        value["value"].clone()
    }

    pub async fn elements(&self, css: &str) -> Vec<String> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item[ELEMENT].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn text_of(&self, element: &str) -> String {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub async fn wait_for(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(first) = self.elements(css).await.into_iter().next() {
                return first;
            }
            if started.elapsed() > PATIENCE {
                let page = self.call(reqwest::Method::GET, "/source", None).await;
                panic!("{css} never appeared; the page is:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn wait_for_text(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let element = self.wait_for(css).await;
            let text = self.text_of(&element).await;
            if !text.trim().is_empty() {
                return text;
            }
            assert!(started.elapsed() < PATIENCE, "{css} stayed empty");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The text of every element matching `css`, read in the page in one call.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let script =
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent);";
        let texts = self
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": script, "args": [css]})),
            )
            .await;
        serde_json::from_value(texts).unwrap_or_default()
    }

    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Runs `script` in the page (its last argument is the callback that ends it) and returns
    /// what it passed to that callback.
    pub async fn run_async(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Returns once the page has painted what it shows now: two animation frames, the second
    /// after the first frame's paint.
    pub async fn painted(&self) {
        self.run_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            json!([]),
        )
        .await;
    }

    /// Waits until the field `css` holds `value`.
    pub async fn wait_for_value(&self, css: &str, value: &str) {
        let started = Instant::now();
        loop {
            let now = self
                .call(
                    reqwest::Method::POST,
                    "/execute/sync",
                    Some(json!({
                        "script": "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
                        "args": [css],
                    })),
                )
                .await;
            if now == value {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css} holds {now}, not {value:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the field `css` (replacing what it holds), as keystrokes.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Clicks the first element matching `css` that the rep can see (phone and desktop layouts
    /// keep some controls in the page, hidden).
    pub async fn click_visible(&self, css: &str) {
        let started = Instant::now();
        loop {
            // The page may replace an element between finding and clicking it (a list that
            // refreshed): then look again.
            for element in self.elements(css).await {
                let shown = self
                    .try_call(
                        reqwest::Method::GET,
                        &format!("/element/{element}/displayed"),
                        None,
                    )
                    .await;
                if shown == Ok(Value::Bool(true))
                    && self
                        .try_call(
                            reqwest::Method::POST,
                            &format!("/element/{element}/click"),
                            Some(json!({})),
                        )
                        .await
                        .is_ok()
                {
                    return;
                }
            }
            assert!(started.elapsed() < PATIENCE, "no visible {css}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until some element matching `css` has a text containing `text`; returns it.
    pub async fn wait_for_text_containing(&self, css: &str, text: &str) -> String {
        let started = Instant::now();
        loop {
            let texts = self.texts(css).await;
            if let Some(found) = texts.iter().find(|t| t.contains(text)) {
                return found.clone();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no {css} shows {text:?}; they show {texts:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until exactly `count` elements match `css`; returns their texts.
    pub async fn wait_for_count(&self, css: &str, count: usize) -> Vec<String> {
        let started = Instant::now();
        loop {
            let texts = self.texts(css).await;
            if texts.len() == count {
                return texts;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{} × {css}, expected {count}: {texts:?}",
                texts.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// An attribute of every element matching `css`, read in the page.
    pub async fn attributes(&self, css: &str, name: &str) -> Vec<String> {
        let script = "return Array.from(document.querySelectorAll(arguments[0]))
                        .map(e => e.getAttribute(arguments[1]) || '');";
        let values = self
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": script, "args": [css, name]})),
            )
            .await;
        serde_json::from_value(values).unwrap_or_default()
    }

    /// A screenshot of what the window shows once it has painted.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        self.painted().await;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    pub async fn quit(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}
