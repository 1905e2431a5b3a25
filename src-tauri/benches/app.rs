//! The desktop app's benchmark: prints numbers (never asserts a time). Run it with `scripts/bench-app.sh`
//! (a release build, a D-Bus session with an unlocked keyring, a private HOME), or directly with
//! `cargo bench -p trenddojo-app --bench app` inside such a session.
//!
//! What it measures, each in the real app in a real window (Xvfb, tauri-driver, WebKitWebDriver):
//! - cold start to an interactive dashboard with demo data: from the request that starts the app to the
//!   unlock screen, and from the unlock click (the key comes from the OS keyring) to the dashboard showing
//!   its statistics and equity curve; also the page's own clock from navigation start;
//! - one IPC round trip for a page of 50 trades, timed in the page (`invoke`), p50/p95/max;
//! - the trade list over 100,000 trades in one account: each filter or sort change from the change event
//!   to the first rows of the new result painted; then scrolling (a fast fling through the list and jumps
//!   with Page Down) while the page records every frame gap over 50 ms (WebKitGTK has no Long Tasks API);
//! - idle memory: proportional set size (PSS, from /proc/*/smaps_rollup) of the app and its WebKit
//!   processes after the dashboard has been idle for 5 s;
//! - the UI bundle: bytes of ui/dist's JavaScript and CSS, raw and gzipped (-9).

#[path = "../../crates/bench/src/gen.rs"]
mod gen;
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use serde_json::{json, Value};
use support::{Display, Driver, Session};
use trenddojo_core::{AccountInput, Journal, KeySource, Maintenance, Passphrase, UserInput};

const APP: &str = env!("CARGO_BIN_EXE_trenddojo-app");
const LIMIT: Duration = Duration::from_secs(120);

fn ms(d: Duration) -> String {
    format!("{}.{:01} ms", d.as_millis(), (d.as_micros() % 1000) / 100)
}

fn pct(mut v: Vec<Duration>, p: usize) -> Duration {
    v.sort();
    v[((v.len() * p).div_ceil(100)).saturating_sub(1).min(v.len() - 1)]
}

/// A page-side number of milliseconds (the page's clock gives fractions). Timings, not money: a float is
/// what the page's clock gives.
#[allow(clippy::float_arithmetic, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn page_ms(v: &Value) -> Duration {
    let micros = v.as_f64().map(|m| (m * 1000.0).round()).unwrap_or(0.0);
    Duration::from_micros(micros.max(0.0) as u64)
}

/// Run an async script (its last argument is the callback) and wait for its value.
fn js_async(s: &Session, script: &str) -> Value {
    let v = s.post("/execute/async", json!({ "script": script, "args": [] }));
    v["value"].clone()
}

/// PSS in KiB of `pid` and every process below it.
fn pss_tree(pid: u32) -> (u64, Vec<(u32, String, u64)>) {
    let mut all: Vec<(u32, u32, String)> = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        let Some(close) = stat.rfind(')') else { continue };
        let name = stat[stat.find('(').map_or(0, |i| i + 1)..close].to_string();
        let ppid = stat[close + 2..].split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
        all.push((p, ppid, name));
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(all.iter().filter(|(_, pp, _)| *pp == parent).map(|(p, _, _)| *p));
        i += 1;
    }
    let mut total = 0;
    let mut parts = Vec::new();
    for p in tree {
        let pss = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Pss:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|x| x.parse::<u64>().ok()))
            })
            .unwrap_or(0);
        let name = all.iter().find(|(q, _, _)| *q == p).map(|(_, _, n)| n.clone()).unwrap_or_default();
        total += pss;
        parts.push((p, name, pss));
    }
    (total, parts)
}

/// The app process started for the current session (its executable is the app binary).
fn app_pid() -> Option<u32> {
    let want = std::fs::canonicalize(APP).ok()?;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .find(|p| std::fs::read_link(format!("/proc/{p}/exe")).ok().is_some_and(|exe| exe == want))
}

/// End the session and wait for the app's process to be gone: the app is single-instance, so a launch
/// while the last one is still closing would only hand over to it.
fn close(s: Session) {
    s.close();
    if !support::wait_until(Duration::from_secs(30), || app_pid().is_none()) {
        println!("(the app was still running 30 s after its window closed)");
    }
}

fn bundle() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist/assets");
    let (mut raw, mut gz) = (0u64, 0u64);
    for e in std::fs::read_dir(&dist).expect("ui/dist/assets (npm run build)").flatten() {
        let path = e.path();
        raw += e.metadata().map(|m| m.len()).unwrap_or(0);
        let out = Command::new("gzip").args(["-9", "-c"]).arg(&path).output().expect("gzip");
        gz += out.stdout.len() as u64;
    }
    println!(
        "UI bundle (ui/dist/assets, JS + CSS): {} KiB raw, {} KiB gzipped (target < 500 KiB)",
        raw / 1024,
        gz / 1024
    );
}

fn demo_store(home: &Path) {
    Journal::init(home, &KeySource::Keyring, &UserInput { email: "demo@trenddojo.com".into(), ..Default::default() })
        .expect("a keyring store (run inside a D-Bus session with an unlocked keyring: scripts/bench-app.sh)");
    let m = Maintenance::open(home, &KeySource::Keyring).expect("open for maintenance");
    m.reset(trenddojo_core::seed::SeedState::Demo).expect("demo data");
    if let Ok(Some(code)) = m.pending_recovery_key() {
        m.confirm_recovery_key(&code).expect("confirm the recovery key");
    }
}

fn big_store(home: &Path, pass: &Passphrase, trades: usize) {
    let key = KeySource::Passphrase(pass.clone());
    let j = Journal::init(
        home,
        &key,
        &UserInput { email: "bench@example.com".into(), tier: Some("pro".into()), ..Default::default() },
    )
    .expect("init");
    j.add_account(&AccountInput {
        name: "Main".into(),
        currency: "USD".into(),
        balance: "100000".into(),
        timezone: Some("America/New_York".into()),
        ..Default::default()
    })
    .expect("account");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let batch = gen::generate(&mut rng, trades, 0);
    let t = Instant::now();
    let user = j.user().expect("user").id.0;
    j.store()
        .write(|tx| {
            let account = trenddojo_store::accounts::resolve(tx, user, "Main")?;
            for t in &batch {
                trenddojo_core::import_trade(tx, &account, t)?;
            }
            Ok::<_, trenddojo_core::ApiError>(())
        })
        .expect("bulk insert");
    println!("(setup: {trades} trades with 5 executions each inserted in {:.1} s)", t.elapsed().as_secs_f64());
    if let Ok(m) = Maintenance::open(home, &key) {
        if let Ok(Some(code)) = m.pending_recovery_key() {
            let _ = m.confirm_recovery_key(&code);
        }
    }
}

/// The floor for the IPC round trip, in the same run: the same `trade_page` calls made on the core directly
/// (no window, no IPC, no JSON), so the difference is what the shell and the webview add.
fn core_floor(home: &Path, pass: &Passphrase) {
    let j = Journal::open(&trenddojo_core::OpenOptions {
        home: home.to_path_buf(),
        key: KeySource::Passphrase(pass.clone()),
        user: None,
    })
    .expect("open the big store");
    let page =
        |offset: u32| trenddojo_core::TradePageInput { limit: Some(50), offset: Some(offset), ..Default::default() };
    for i in 0..20 {
        j.trade_page(&page(i * 50)).expect("warm");
    }
    let mut times = Vec::new();
    for i in 0..300u32 {
        let t = Instant::now();
        let p = j.trade_page(&page((i * 977) % 99_000)).expect("a page");
        let json = serde_json::to_vec(&p).expect("JSON");
        times.push(t.elapsed());
        assert!(!json.is_empty(), "the page serializes");
    }
    println!(
        "floor: the same page of 50 from the core directly (no IPC; query + JSON), 300 calls: p50 {}  p95 {}  max {}",
        ms(pct(times.clone(), 50)),
        ms(pct(times.clone(), 95)),
        ms(pct(times, 100))
    );
}

fn cold_start(driver: &Driver, home: &Path, runs: usize) {
    let home_arg = home.display().to_string();
    let (mut to_unlock, mut to_dash, mut in_page) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t0 = Instant::now();
        let s = Session::open(driver, Path::new(APP), &["--home", &home_arg]);
        s.wait("the unlock button", LIMIT, "return !!button('Unlock');", json!([]));
        let unlock_at = t0.elapsed();
        let t1 = Instant::now();
        s.js("button('Unlock').click(); return true;", json!([]));
        s.wait(
            "the dashboard",
            LIMIT,
            "return !!document.querySelector('[data-stat=net_pnl] .value') && !!document.querySelector('.chart canvas');",
            json!([]),
        );
        to_unlock.push(unlock_at);
        to_dash.push(t1.elapsed());
        in_page.push(page_ms(&s.js("return window.__trenddojoPerf.interactiveAt;", json!([]))));
        close(s);
    }
    let total: Vec<Duration> = to_unlock.iter().zip(&to_dash).map(|(a, b)| *a + *b).collect();
    println!("cold start, {runs} runs (release, demo data, key from the OS keyring):");
    println!(
        "  start to unlock screen (includes WebDriver session setup)  p50 {}  max {}",
        ms(pct(to_unlock.clone(), 50)),
        ms(pct(to_unlock, 100))
    );
    println!(
        "  unlock click to dashboard with statistics and chart         p50 {}  max {}",
        ms(pct(to_dash.clone(), 50)),
        ms(pct(to_dash, 100))
    );
    println!(
        "  total, without the person's click (target < 1.5 s)         p50 {}  max {}",
        ms(pct(total.clone(), 50)),
        ms(pct(total, 100))
    );
    println!("  page clock: navigation start to dashboard interactive      p50 {}", ms(pct(in_page, 50)));
}

fn memory(driver: &Driver, home: &Path) {
    let s = Session::open(driver, Path::new(APP), &["--home", &home.display().to_string()]);
    s.click_button("Unlock");
    s.wait("the dashboard", LIMIT, "return !!document.querySelector('.chart canvas');", json!([]));
    std::thread::sleep(Duration::from_secs(5));
    match app_pid() {
        Some(pid) => {
            let (total, parts) = pss_tree(pid);
            let detail: Vec<String> = parts.iter().map(|(p, n, k)| format!("{n}[{p}] {} MiB", k / 1024)).collect();
            println!(
                "idle memory after 5 s on the dashboard: {} MiB PSS (target < 300 MiB): {}",
                total / 1024,
                detail.join(", ")
            );
        }
        None => println!("idle memory: the app process was not found"),
    }
    close(s);
}

fn ipc(s: &Session) {
    let v = js_async(
        s,
        "const done = arguments[arguments.length - 1];
         (async () => {
           const inv = window.__TAURI_INTERNALS__.invoke;
           const times = [];
           for (let i = 0; i < 20; i++) await inv('trade_page', { input: { limit: 50, offset: i * 50 } });
           for (let i = 0; i < 300; i++) {
             const t = performance.now();
             await inv('trade_page', { input: { limit: 50, offset: (i * 977) % 99000 } });
             times.push(performance.now() - t);
           }
           times.sort((a, b) => a - b);
           done([times[149], times[284], times[299]]);
         })();",
    );
    let t: Vec<Duration> = v.as_array().map(|a| a.iter().map(page_ms).collect()).unwrap_or_default();
    if t.len() == 3 {
        println!(
            "IPC round trip, a page of 50 trades (100k in the account, offsets spread over it; 300 calls): p50 {}  p95 {}  max {} (target p95 < 5 ms)",
            ms(t[0]), ms(t[1]), ms(t[2])
        );
    }
    let v = js_async(
        s,
        "const done = arguments[arguments.length - 1];
         (async () => {
           const inv = window.__TAURI_INTERNALS__.invoke;
           const times = [];
           for (let i = 0; i < 200; i++) { const t = performance.now(); await inv('trade_page', { input: { limit: 50, offset: 0 } }); times.push(performance.now() - t); }
           times.sort((a, b) => a - b);
           done([times[99], times[189], times[199]]);
         })();",
    );
    let t: Vec<Duration> = v.as_array().map(|a| a.iter().map(page_ms).collect()).unwrap_or_default();
    if t.len() == 3 {
        println!(
            "IPC round trip, the first page of 50 (what a filter change loads): p50 {}  p95 {}  max {}",
            ms(t[0]),
            ms(t[1]),
            ms(t[2])
        );
    }
}

/// Change a filter through its control and time it to the first rows of the new result on screen.
fn filter_change(s: &Session, what: &str, set: &str, done_when: &str) -> Option<Duration> {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         {set_helpers}
         const before = document.querySelector('[data-testid=trade-total]').textContent;
         const renders = window.__trenddojoPerf.pageRenders.length;
         const rendered = () => window.__trenddojoPerf.pageRenders.length > renders;
         const first = document.querySelector('.trow')?.getAttribute('data-trade');
         const t0 = performance.now();
         {set}
         const check = () => {{
           const rows = [...document.querySelectorAll('.trow')];
           if (rows.length > 0 && ({done_when})) done(performance.now() - t0);
           else if (performance.now() - t0 > 20000) done(-1);
           else requestAnimationFrame(check);
         }};
         requestAnimationFrame(check);",
        set_helpers = "const norm = (x) => (x || '').replace(/\\s+/g, ' ').trim();
          const field = (label) => { const l = [...document.querySelectorAll('label')].find((x) => norm(x.textContent) === label); return l && l.control ? l.control : document.querySelector(`[aria-label=\"${label}\"]`); };
          const choose = (label, v) => { const f = field(label); f.value = v; f.dispatchEvent(new Event('change', { bubbles: true })); };
          const type = (label, v) => { const f = field(label); Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(f, v); f.dispatchEvent(new Event('input', { bubbles: true })); };",
    );
    let v = js_async(s, &script);
    let d = page_ms(&v);
    if v.as_f64().is_none_or(|x| x < 0.0) {
        println!("  {what:<44} did not finish within 20 s");
        return None;
    }
    Some(d)
}

fn trade_list(s: &Session) {
    // Warm: the list's first page and the page's code paths.
    s.wait("the trade list", LIMIT, "return document.querySelectorAll('.trow').length > 10;", json!([]));
    let total = s.js("return document.querySelector('[data-testid=trade-total]').textContent;", json!([]));
    println!(
        "trade list over {} (filter or sort change to the first rows of the new result painted):",
        total.as_str().unwrap_or("?")
    );
    let changes: [(&str, &str, &str); 9] = [
        ("status: closed", "choose('Status', 'closed');", "rendered()"),
        ("side: short", "choose('Side', 'short');", "rows.every(r => r.children[2].textContent === 'short')"),
        ("sort: best P&L", "choose('Sort', 'pnl');", "rows[0].getAttribute('data-trade') !== first"),
        ("sort: worst P&L", "choose('Sort', '-pnl');", "rows[0].getAttribute('data-trade') !== first"),
        ("sort: highest R", "choose('Sort', 'r');", "rows[0].getAttribute('data-trade') !== first"),
        ("sort: symbol", "choose('Sort', 'symbol');", "rows[0].getAttribute('data-trade') !== first"),
        (
            "symbol prefix SYM12",
            "type('Symbol', 'SYM12');",
            "rows.every(r => r.querySelector('.sym').textContent.startsWith('SYM12'))",
        ),
        (
            "clear the symbol",
            "type('Symbol', '');",
            "document.querySelector('[data-testid=trade-total]').textContent !== before",
        ),
        (
            "sort: newest, side any, status any",
            "choose('Sort', 'newest'); choose('Side', ''); choose('Status', '');",
            "document.querySelector('[data-testid=trade-total]').textContent !== before",
        ),
    ];
    let mut all = Vec::new();
    for (what, set, done) in changes {
        if let Some(d) = filter_change(s, what, set, done) {
            println!("  {what:<44} {}", ms(d));
            all.push(d);
        }
    }
    if !all.is_empty() {
        println!("  p50 {}  max {} (target < 50 ms)", ms(pct(all.clone(), 50)), ms(pct(all, 100)));
    }

    // Scrolling: a fling through the list (800 px a frame) and jumps, frame gaps recorded in the page.
    let v = js_async(
        s,
        "const done = arguments[arguments.length - 1];
         const list = document.querySelector('.vlist');
         const perf = window.__trenddojoPerf;
         perf.longFrames.length = 0; perf.frames = 0;
         window.__trenddojoWatchFrames(6000);
         const start = performance.now();
         let jumps = 0;
         const step = () => {
           const t = performance.now() - start;
           if (t < 3000) list.scrollTop += 800;
           else if (t < 5000) { if (Math.floor(t / 100) > jumps) { jumps++; list.scrollTop += list.scrollHeight / 40; } }
           if (t < 5500) requestAnimationFrame(step);
           else setTimeout(() => done([perf.frames, perf.longFrames.length, Math.max(0, ...perf.longFrames), list.scrollTop, document.querySelectorAll('.trow').length]), 600);
         };
         requestAnimationFrame(step);",
    );
    if let Some(a) = v.as_array() {
        println!(
            "scrolling 5.5 s (3 s fling at 800 px a frame, then 20 jumps of 1/40 of the list): {} frames, {} frame gaps over 50 ms (longest {}), rows on screen at the end {}",
            a.first().cloned().unwrap_or_default(),
            a.get(1).cloned().unwrap_or_default(),
            ms(page_ms(a.get(2).unwrap_or(&Value::Null))),
            a.get(4).cloned().unwrap_or_default()
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a trade count.
    let trades: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    println!(
        "TrendDojo desktop app benchmark ({})",
        if cfg!(debug_assertions) { "DEBUG build: numbers are not representative" } else { "release build" }
    );
    bundle();
    let tmp = tempfile::tempdir().expect("temp dir");
    let demo = tmp.path().join("demo");
    demo_store(&demo);
    let display = Display::start();
    let driver = Driver::start(&display, &[]);
    cold_start(&driver, &demo, 5);
    memory(&driver, &demo);
    // `TRENDDOJO_BENCH_QUICK=1`: the demo-data measurements only (start, memory), not the 100k-trade list.
    if std::env::var_os("TRENDDOJO_BENCH_QUICK").is_some() {
        return;
    }

    let big: PathBuf = tmp.path().join("big");
    let pass = Passphrase::new("bench passphrase").expect("passphrase");
    big_store(&big, &pass, trades);
    core_floor(&big, &pass);

    let s = Session::open(&driver, Path::new(APP), &["--home", &big.display().to_string()]);
    s.fill("Passphrase", "bench passphrase");
    let t = Instant::now();
    s.click_button("Unlock");
    s.wait("the dashboard", LIMIT, "return !!document.querySelector('.chart canvas');", json!([]));
    println!("unlock (passphrase) to dashboard with {trades} closed trades in the account: {}", ms(t.elapsed()));
    ipc(&s);
    s.js("[...document.querySelectorAll('nav.side button')].find(b => b.textContent.trim() === 'Trades').click(); return true;", json!([]));
    trade_list(&s);
    close(s);
}
