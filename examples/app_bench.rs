//! The app benchmark: `cargo xtask bench app` (builds the release app and runs this under Xvfb
//! with a session bus and an unlocked keyring, like the real-app test).
//!
//! sfsim (in-process, 50,000 contacts) → the gateway (in-process) → the release `companion-app`
//! driven through tauri-driver. The admin signs in through the system-browser flow and the app
//! makes its first sync; then, timing what the rep sees (each figure ends when the page has
//! painted the result: two animation frames after the DOM has it). Prints
//! `app bench: <name> <value> <unit>`:
//! - cold start: the app launched until its contacts list is painted (p50/max of 5), and the
//!   page's share of it (the webview starting to load the page until the painted list);
//! - a search keystroke until the list shows its results (p50/p99);
//! - opening a contact from the list until its screen shows its name (p50/p99);
//! - scrolling the whole list top to bottom, a screen per frame (time, frame p99);
//! - peak memory of the app's processes (the app, WebKit's web and network processes): while
//!   signing in and making the first sync, and then in use (cold starts, search, contacts,
//!   scrolling).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::app::{AppSession, Desktop, TauriDriver};
use common::*;
use serde_json::json;
use sfsim::{SeedCounts, SimConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ADMIN: &str = "admin@demo.example";
const CONTACTS: u64 = 50_000;
/// A row of the contacts list, and the search box above it.
const ROW: &str = "[data-testid=contact-row]";
const SEARCH: &str = "[data-testid=search]";
/// The line under the search box: how many contacts, and the query they match.
const COUNT: &str = "[data-testid=contact-count]";

#[tokio::main]
async fn main() {
    let app_bin = PathBuf::from(env("COMPANION_APP_BIN"));
    let driver_bin = PathBuf::from(env("TAURI_DRIVER_BIN"));
    let sim = start_sim(SimConfig {
        seed: SeedCounts {
            accounts: 5_000,
            contacts: CONTACTS as usize,
            opportunities: 2_000,
            tasks: 0,
        },
        daily_api_limit: 10_000_000,
        ..SimConfig::default()
    })
    .await;
    let gateway_dir = tempfile::tempdir().unwrap();
    let gateway = start_gateway(&sim, gateway_dir.path()).await;
    let desktop = Desktop::new(&gateway.base_url());
    let driver = TauriDriver::start(&driver_bin, &desktop);
    let memory = MemoryWatch::start();

    // Sign in and let the first sync bring the 50,000 contacts.
    let app = driver.launch(&app_bin).await;
    app.click("[data-testid=sign-in]").await;
    let authorize_url = desktop.wait_for_browser_url(1).await;
    let callback = browser_sign_in(&authorize_url, ADMIN).await;
    desktop.deliver_link(&app_bin, &callback);
    let started = Instant::now();
    wait_for_first_sync(&app).await;
    report("first_sync", started.elapsed().as_secs_f64(), "s");
    app.quit().await;
    let (sync_pss, sync_rss) = memory.take_peaks("peak_memory_signing_in_and_first_sync");
    report(
        "peak_memory_signing_in_and_first_sync_pss",
        mib(sync_pss),
        "MiB",
    );
    report(
        "peak_memory_signing_in_and_first_sync_rss",
        mib(sync_rss),
        "MiB",
    );

    // Cold starts: launch to a painted list.
    let mut starts = Vec::new();
    let mut page_starts = Vec::new();
    let mut app = None;
    for _ in 0..5 {
        if let Some(previous) = app.take() {
            let previous: AppSession = previous;
            previous.quit().await;
        }
        let begin = Instant::now();
        let session = driver.launch(&app_bin).await;
        session.wait_for(ROW).await;
        session.painted().await;
        starts.push(begin.elapsed());
        // The page's own share: from the webview starting to load it until now.
        let in_page = session
            .run_async(
                "arguments[arguments.length - 1](performance.now())",
                json!([]),
            )
            .await;
        page_starts.push(Duration::from_secs_f64(
            in_page.as_f64().unwrap_or(0.0) / 1000.0,
        ));
        app = Some(session);
    }
    let app = app.unwrap();
    // Where the page's share of the last start went (marks set by the UI).
    let marks = app
        .run_async(
            "const done = arguments[arguments.length - 1];
             const nav = performance.getEntriesByType('navigation')[0];
             const at = {};
             if (nav) { at.response_end = nav.responseEnd; at.dom_content_loaded = nav.domContentLoadedEventEnd; }
             for (const m of performance.getEntriesByType('mark')) at[m.name.replace('companion:', '')] = m.startTime;
             done(at);",
            json!([]),
        )
        .await;
    if let Some(marks) = marks.as_object() {
        for (name, at) in marks {
            report(
                &format!("cold_start_page_{name}_at"),
                at.as_f64().unwrap_or(0.0),
                "ms",
            );
        }
    }
    starts.sort();
    report("cold_start_p50", ms(starts[starts.len() / 2]), "ms");
    report("cold_start_max", ms(*starts.last().unwrap()), "ms");
    page_starts.sort();
    report(
        "cold_start_page_load_to_painted_list_p50",
        ms(page_starts[page_starts.len() / 2]),
        "ms",
    );

    // Search keystrokes: each query typed a letter at a time, timed to the painted results.
    let names: Vec<String> = serde_json::from_value(
        app.run_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke('list_contacts_page', {query: {limit: 4000}})
               .then(page => done(page.items.filter((_, i) => i % 100 === 0).map(c => c.name)));",
            json!([]),
        )
        .await,
    )
    .unwrap();
    let mut keystrokes = Vec::new();
    let mut typed_texts = Vec::new();
    for name in names.iter().take(30) {
        let typed: Vec<String> = (1..=name.chars().count().min(6))
            .map(|n| name.chars().take(n).collect())
            .collect();
        let times = app
            .run_async(KEYSTROKES, json!([SEARCH, COUNT, typed]))
            .await;
        for (seconds, text) in serde_json::from_value::<Vec<(f64, String)>>(times).unwrap() {
            keystrokes.push(Duration::from_secs_f64(seconds));
            typed_texts.push((Duration::from_secs_f64(seconds), text));
        }
    }
    typed_texts.sort_by_key(|(took, _)| std::cmp::Reverse(*took));
    for (took, text) in typed_texts.iter().take(5) {
        println!(
            "app bench: a slow keystroke: {:.0} ms for {text:?}",
            ms(*took)
        );
    }
    // Back to the whole list.
    app.run_async(KEYSTROKES, json!([SEARCH, COUNT, [""]]))
        .await;
    percentiles("search_keystroke", &mut keystrokes);

    // Opening a contact from the list, and back.
    let mut opens = Vec::new();
    for n in 0..20 {
        let took = app.run_async(OPEN_CONTACT, json!([ROW, n % 8])).await;
        opens.push(Duration::from_secs_f64(took.as_f64().unwrap()));
    }
    percentiles("open_contact", &mut opens);

    // Scrolling the whole list: thousands of frames, past WebDriver's 30-second script limit.
    app.call(
        reqwest::Method::POST,
        "/timeouts",
        Some(json!({"script": 900_000})),
    )
    .await;
    // APP_BENCH_SCROLL_SECONDS stops the scroll early for a quick look (default 600).
    let scroll_limit_ms = std::env::var("APP_BENCH_SCROLL_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(600)
        * 1000;
    let scrolled = app
        .run_async(SCROLL_ALL, json!([ROW, scroll_limit_ms]))
        .await;
    report(
        "scroll_whole_list",
        scrolled["total_s"].as_f64().unwrap(),
        "s",
    );
    report(
        "scroll_frames",
        scrolled["frames"].as_f64().unwrap(),
        "frames",
    );
    report(
        "scroll_frame_p99",
        scrolled["frame_p99_ms"].as_f64().unwrap(),
        "ms",
    );
    report(
        "scroll_last_row_is_last_contact",
        f64::from(u8::from(
            scrolled["last"].as_str() == names_last(&app).await.as_deref(),
        )),
        "bool",
    );
    app.quit().await;

    // A rep's day: from a cold start through search, contacts and the whole list scrolled.
    let (peak_pss, peak_rss) = memory.stop("peak_memory_in_use");
    report("peak_memory_in_use_pss", mib(peak_pss), "MiB");
    report("peak_memory_in_use_rss", mib(peak_rss), "MiB");
    drop(driver);
    gateway.shutdown().await;
    sim.shutdown().await;
}

/// Waits until the app's status says the first sync has brought every contact.
async fn wait_for_first_sync(app: &AppSession) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let status = app
            .run_async(
                "const done = arguments[arguments.length - 1];
                 window.__TAURI_INTERNALS__.invoke('get_status').then(done, e => done(null));",
                json!([]),
            )
            .await;
        let contacts = status["counts"]["Contact"].as_u64().unwrap_or(0);
        if contacts == CONTACTS
            && status["syncing"] == false
            && status["last_synced_at"].is_string()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "first sync never ended: {status}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The name of the list's last contact, as core sorts it.
async fn names_last(app: &AppSession) -> Option<String> {
    let last = app
        .run_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke('list_contacts', {search: null})
               .then(all => done(all.length ? all[all.length - 1].name : null));",
            json!([]),
        )
        .await;
    last.as_str().map(str::to_owned)
}

/// What the timed scripts share: `shown(check)` resolves as soon as the DOM satisfies `check`
/// (a MutationObserver, no polling; at most 5 s), `painted()` once the next frame is on screen
/// (its animation frame, then a task queued from it).
macro_rules! shown_and_painted {
    () => {
        r#"
const shown = (check) => new Promise((resolve) => {
  if (check()) return resolve();
  const observer = new MutationObserver(() => { if (check()) { observer.disconnect(); resolve(); } });
  observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  setTimeout(() => { observer.disconnect(); resolve(); }, 5000);
});
const painted = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
"#
    };
}

/// Types each text into the search box (as the input event a keystroke fires) and times it to
/// the painted result: the list's count line names the query once its results are shown (the
/// whole list again for an empty box). Returns `[seconds, text]` per text.
///
/// The moment the page shows a result is caught by a MutationObserver (it runs right after the
/// DOM changes, no polling), and the figure ends after the next frame has been painted: the
/// animation frame that lays it out, then a task queued from it, which runs once that frame is
/// on screen.
const KEYSTROKES: &str = concat!(
    shown_and_painted!(),
    r#"
const [search, count, texts, done] = arguments;
const box = document.querySelector(search);
const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
const line = () => { const c = document.querySelector(count); return c ? c.textContent : ''; };
const shows = (text) => text.trim() === '' ? !line().includes('matching') && line().trim() !== ''
                                           : line().includes(`“${text.trim()}”`);
(async () => {
  const times = [];
  for (const text of texts) {
    const begin = performance.now();
    setValue.call(box, text);
    box.dispatchEvent(new Event('input', { bubbles: true }));
    await shown(() => shows(text));
    await painted();
    times.push([(performance.now() - begin) / 1000, text]);
  }
  done(times);
})();
"#
);

/// Opens the `n`-th row's contact and times it to its screen showing the contact's name (the
/// row's `.name`) in a heading, painted (as for keystrokes); then goes back to the list.
const OPEN_CONTACT: &str = concat!(
    shown_and_painted!(),
    r#"
const [row, n, done] = arguments;
const rows = document.querySelectorAll(row);
const target = rows[Math.min(n, rows.length - 1)];
const name = target.querySelector('.name').textContent.trim();
const heading = () => [...document.querySelectorAll('h1, h2')].some(h => h.textContent.includes(name));
(async () => {
  const begin = performance.now();
  target.click();
  await shown(heading);
  await painted();
  const took = (performance.now() - begin) / 1000;
  history.back();
  await new Promise(r => setTimeout(r, 300));
  done(took);
})();
"#
);

/// Scrolls the list's scroller from top to bottom a screen per frame; frame times and the name
/// in the last row shown at the end.
const SCROLL_ALL: &str = r#"
const [row, limitMs, done] = arguments;
let scroller = document.querySelector(row);
while (scroller && !(scroller.scrollHeight > scroller.clientHeight + 10 &&
       ['auto', 'scroll'].includes(getComputedStyle(scroller).overflowY))) {
  scroller = scroller.parentElement;
}
(async () => {
  scroller.scrollTop = 0;
  const frames = [];
  const begin = performance.now();
  let last = begin;
  while (scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 1) {
    scroller.scrollTop += scroller.clientHeight;
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now();
    frames.push(now - last);
    last = now;
    if (now - begin > limitMs) break;
  }
  // Let the last page of rows arrive.
  const deadline = performance.now() + 5000;
  const lastName = () => { const rs = document.querySelectorAll(row);
    return rs.length ? rs[rs.length - 1].querySelector('.name').textContent.trim() : null; };
  let seen = lastName();
  while (performance.now() < deadline) {
    await new Promise(r => setTimeout(r, 100));
    const now = lastName();
    if (now === seen) break;
    seen = now;
  }
  frames.sort((a, b) => a - b);
  done({ total_s: (performance.now() - begin) / 1000, frames: frames.length,
         frame_p99_ms: frames[Math.floor(frames.length * 0.99)] || 0, last: lastName() });
})();
"#;

/// Samples the memory of the app's processes every 100 ms: proportional (PSS, shared pages
/// split between processes) and resident (RSS) sums, keeping the peaks.
type ByProcess = std::collections::BTreeMap<&'static str, (u64, u64)>;

struct MemoryWatch {
    stop: Arc<AtomicBool>,
    /// Each process's share at the moment of the peak.
    at_peak: Arc<std::sync::Mutex<ByProcess>>,
    peak_pss: Arc<AtomicU64>,
    peak_rss: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl MemoryWatch {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_pss = Arc::new(AtomicU64::new(0));
        let peak_rss = Arc::new(AtomicU64::new(0));
        let at_peak = Arc::new(std::sync::Mutex::new(ByProcess::new()));
        let thread = std::thread::spawn({
            let (stop, peak_pss, peak_rss) = (stop.clone(), peak_pss.clone(), peak_rss.clone());
            let at_peak = at_peak.clone();
            move || {
                while !stop.load(Ordering::Relaxed) {
                    let by_process = memory_by_process();
                    let (pss, rss) = by_process
                        .values()
                        .fold((0, 0), |(pss, rss), (p, r)| (pss + p, rss + r));
                    if pss > peak_pss.load(Ordering::Relaxed) {
                        *at_peak.lock().unwrap() = by_process;
                    }
                    peak_pss.fetch_max(pss, Ordering::Relaxed);
                    peak_rss.fetch_max(rss, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        MemoryWatch {
            stop,
            at_peak,
            peak_pss,
            peak_rss,
            thread,
        }
    }

    /// The peaks since the start or the last call, and starts over; prints each process's
    /// share at the peak under `name`.
    fn take_peaks(&self, name: &str) -> (u64, u64) {
        for (kind, (pss, _)) in std::mem::take(&mut *self.at_peak.lock().unwrap()) {
            report(&format!("{name}_pss_{kind}"), mib(pss), "MiB");
        }
        (
            self.peak_pss.swap(0, Ordering::Relaxed),
            self.peak_rss.swap(0, Ordering::Relaxed),
        )
    }

    fn stop(self, name: &str) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for (kind, (pss, _)) in std::mem::take(&mut *self.at_peak.lock().unwrap()) {
            report(&format!("{name}_pss_{kind}"), mib(pss), "MiB");
        }
        let _ = self.thread.join();
        (
            self.peak_pss.load(Ordering::Relaxed),
            self.peak_rss.load(Ordering::Relaxed),
        )
    }
}

/// PSS and RSS (bytes) per kind of process: the app (Rust core and the shell), WebKit's web
/// process (the page) and its network process.
fn memory_by_process() -> std::collections::BTreeMap<&'static str, (u64, u64)> {
    let mut by_process = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return by_process;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let comm = comm.trim();
        let kind = if comm == "companion-app" {
            "app"
        } else if comm.starts_with("WebKitWebProces") {
            "web"
        } else if comm.starts_with("WebKitNetworkPr") {
            "network"
        } else {
            continue;
        };
        let (pss, rss) = by_process.entry(kind).or_insert((0u64, 0u64));
        let rollup = std::fs::read_to_string(dir.join("smaps_rollup")).unwrap_or_default();
        for line in rollup.lines() {
            let kib = |prefix: &str| {
                line.strip_prefix(prefix).and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
            };
            if let Some(k) = kib("Pss:") {
                *pss += k * 1024;
            }
            if let Some(k) = kib("Rss:") {
                *rss += k * 1024;
            }
        }
    }
    by_process
}

fn percentiles(name: &str, times: &mut [Duration]) {
    times.sort();
    report(&format!("{name}_samples"), times.len() as f64, "samples");
    report(&format!("{name}_p50"), ms(times[times.len() / 2]), "ms");
    report(
        &format!("{name}_p99"),
        ms(times[(times.len() * 99 / 100).min(times.len() - 1)]),
        "ms",
    );
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `cargo xtask bench app`"))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, value: f64, unit: &str) {
    println!("app bench: {name} {value:.2} {unit}");
}
