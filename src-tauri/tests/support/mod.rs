//! Driving the real app in a real window: a private X server (Xvfb), `tauri-driver` in front of
//! WebKitGTK's WebDriver, and a small W3C WebDriver client (plain JSON over HTTP to localhost, so no
//! browser-automation framework is needed). Shared by the end-to-end test and the app benchmark.
//!
//! Waiting is always for a condition, polled with a deadline (`wait_for`), never a fixed sleep.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A child process killed (by its own id) and reaped when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on localhost.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// An X server of our own on a free display.
pub struct Display {
    pub name: String,
    _xvfb: Proc,
}

impl Display {
    pub fn start() -> Display {
        let base = 60 + (std::process::id() % 200);
        for n in base..base + 100 {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let child = Command::new("Xvfb")
                .args([&format!(":{n}"), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start Xvfb (Debian package xvfb; scripts/setup.sh installs it)");
            let xvfb = Proc(child);
            let socket = format!("/tmp/.X11-unix/X{n}");
            if wait_until(Duration::from_secs(10), || Path::new(&socket).exists()) {
                return Display { name: format!(":{n}"), _xvfb: xvfb };
            }
        }
        panic!("no free X display for Xvfb");
    }
}

/// Poll `f` every 50 ms until it is true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `tauri-driver` on a free port, on `display`, with `env` for the app it starts.
pub struct Driver {
    pub url: String,
    /// The X display the app's windows open on (where screenshots are taken).
    pub display: String,
    _proc: Proc,
}

fn tauri_driver_binary() -> PathBuf {
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("tauri-driver"))
        .find(|p| p.exists());
    from_path
        .or_else(|| {
            let cargo_home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
            Some(cargo_home.join("bin/tauri-driver")).filter(|p| p.exists())
        })
        .expect("tauri-driver (cargo install tauri-driver --locked; scripts/setup.sh does)")
}

impl Driver {
    pub fn start(display: &Display, env: &[(&str, &str)]) -> Driver {
        let port = free_port();
        let native = free_port();
        let mut cmd = Command::new(tauri_driver_binary());
        cmd.args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("DISPLAY", &display.name)
            // No accessibility bus under test (it only slows WebKit's start).
            .env("NO_AT_BRIDGE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let proc = Proc(cmd.spawn().expect("start tauri-driver"));
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        assert!(
            wait_until(Duration::from_secs(20), || ureq::get(&status).call().is_ok()),
            "tauri-driver did not answer on {status}"
        );
        Driver { url, display: display.name.clone(), _proc: proc }
    }
}

/// A WebDriver session: one run of the app.
pub struct Session {
    pub base: String,
    pub id: String,
    pub opened_in: Duration,
    display: String,
}

fn body(r: Result<ureq::Response, ureq::Error>) -> Value {
    match r {
        Ok(resp) => resp.into_json().unwrap_or(Value::Null),
        Err(ureq::Error::Status(code, resp)) => {
            let mut text = String::new();
            let _ = resp.into_reader().take(10_000).read_to_string(&mut text);
            json!({ "value": { "error": format!("HTTP {code}"), "message": text } })
        }
        Err(e) => json!({ "value": { "error": "transport", "message": e.to_string() } }),
    }
}

impl Session {
    /// Start the app at `app` with `args` and open a session on its window.
    pub fn open(driver: &Driver, app: &Path, args: &[&str]) -> Session {
        let started = Instant::now();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "wry",
            "tauri:options": { "application": app, "args": args }
        }}});
        let v = body(ureq::post(&format!("{}/session", driver.url)).timeout(Duration::from_secs(60)).send_json(caps));
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a WebDriver session for {}: {v}", app.display()))
            .to_string();
        Session {
            base: format!("{}/session/{id}", driver.url),
            id,
            opened_in: started.elapsed(),
            display: driver.display.clone(),
        }
    }

    pub fn post(&self, path: &str, v: Value) -> Value {
        body(ureq::post(&format!("{}{path}", self.base)).timeout(Duration::from_secs(60)).send_json(v))
    }

    /// Run `script` (a function body; `arguments` are `args`) in the page; its return value.
    pub fn js(&self, script: &str, args: Value) -> Value {
        let v = self.post("/execute/sync", json!({ "script": format!("{HELPERS}\n{script}"), "args": args }));
        if v["value"].get("error").is_some() {
            panic!("script failed: {v}\n{script}");
        }
        v["value"].clone()
    }

    /// Wait until `script` returns something truthy; returns it. Panics (with `what`) after `limit`.
    pub fn wait(&self, what: &str, limit: Duration, script: &str, args: Value) -> Value {
        let end = Instant::now() + limit;
        loop {
            let v = self.js(script, args.clone());
            let truthy = !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0));
            if truthy {
                return v;
            }
            if Instant::now() > end {
                let text = self.js("return document.body.innerText.slice(0, 2000);", json!([]));
                panic!(
                    "timed out after {limit:?} waiting for {what}; the page shows:\n{}",
                    text.as_str().unwrap_or("")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait for a button with exactly this text and click it.
    pub fn click_button(&self, text: &str) {
        self.wait(
            &format!("a button {text:?}"),
            Duration::from_secs(20),
            "const b = button(arguments[0]); if (!b || b.disabled) return false; b.click(); return true;",
            json!([text]),
        );
    }

    /// Type into the field labelled `label` (replacing what it holds), as keystrokes through WebDriver.
    pub fn fill(&self, label: &str, text: &str) {
        self.wait(
            &format!("a field {label:?}"),
            Duration::from_secs(20),
            "return !!field(arguments[0]);",
            json!([label]),
        );
        // Focus and clear through the page (Preact listens to input events), then send the keys.
        self.js(
            "const f = field(arguments[0]); f.focus(); setValue(f, ''); f.setAttribute('data-e2e-target', '1'); return true;",
            json!([label]),
        );
        let found = self.post("/element", json!({ "using": "css selector", "value": "[data-e2e-target='1']" }));
        let eid = found["value"]
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("the field {label:?}: {found}"))
            .to_string();
        let r = self.post(&format!("/element/{eid}/value"), json!({ "text": text }));
        assert!(r["value"].get("error").is_none(), "typing into {label:?}: {r}");
        self.js("document.querySelectorAll('[data-e2e-target]').forEach(e => e.removeAttribute('data-e2e-target')); return true;", json!([]));
    }

    /// Choose the option whose value is `value` in the select labelled `label`.
    pub fn select(&self, label: &str, value: &str) {
        self.wait(
            &format!("option {value:?} of {label:?}"),
            Duration::from_secs(20),
            "const f = field(arguments[0]); if (!f || ![...f.options].some(o => o.value === arguments[1])) return false; \
             f.value = arguments[1]; f.dispatchEvent(new Event('change', { bubbles: true })); return true;",
            json!([label, value]),
        );
    }

    /// Send keys to whatever has focus (keyboard shortcuts).
    pub fn keys(&self, keys: &[&str]) {
        let mut down: Vec<Value> = keys.iter().map(|k| json!({ "type": "keyDown", "value": k })).collect();
        let up: Vec<Value> = keys.iter().rev().map(|k| json!({ "type": "keyUp", "value": k })).collect();
        down.extend(up);
        let r = self.post("/actions", json!({ "actions": [{ "type": "key", "id": "kb", "actions": down }] }));
        assert!(r["value"].get("error").is_none(), "keys {keys:?}: {r}");
    }

    /// The page's text.
    pub fn text(&self) -> String {
        self.js("return document.body.innerText;", json!([])).as_str().unwrap_or("").to_string()
    }

    /// A PNG of the screen as the X server shows it (`import -window root`, ImageMagick): what a person
    /// would see, taken outside the app. WebKitWebDriver's own screenshot asks WebKit for a snapshot of
    /// the page, which never answers on some screens when the page is painted without accelerated
    /// compositing (as the app paints it, `software_compositing` in src/lib.rs).
    pub fn screenshot(&self) -> Vec<u8> {
        let out = Command::new("import")
            .args(["-display", &self.display, "-window", "root", "png24:-"])
            .output()
            .expect("run import (Debian package imagemagick; scripts/setup.sh installs it)");
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "a screenshot of {}: {}",
            self.display,
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// End the session: the app's window closes and the app quits.
    pub fn close(self) {
        let _ = ureq::delete(&self.base).timeout(Duration::from_secs(30)).call();
    }
}

/// Helpers every script gets: `field(label)` (the control of the label with that text), `button(text)`,
/// `setValue(input, text)` (as typing would, so Preact sees it).
const HELPERS: &str = r#"
const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
const scope = () => document.querySelector('[role=dialog]') || document;
const field = (label) => {
  const l = [...scope().querySelectorAll('label')].find((x) => norm(x.textContent) === label);
  if (l && l.control) return l.control;
  return scope().querySelector(`[aria-label="${label}"]`);
};
const button = (text) => [...scope().querySelectorAll('button')].find((b) => norm(b.textContent) === text && b.offsetParent !== null);
const buttonStarting = (text) => [...scope().querySelectorAll('button')].find((b) => norm(b.textContent).startsWith(text) && b.offsetParent !== null);
const setValue = (el, v) => {
  const proto = el.tagName === 'TEXTAREA' ? HTMLTextAreaElement.prototype : el.tagName === 'SELECT' ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, v);
  el.dispatchEvent(new Event('input', { bubbles: true }));
};
"#;

/// Mean and standard deviation of a PNG's luma (0–255): a blank window has almost none. Pixel statistics,
/// not money: floats are right here.
#[allow(clippy::float_arithmetic, clippy::disallowed_types, clippy::cast_precision_loss)]
pub fn luma_spread(png_bytes: &[u8]) -> (f64, f64) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    // Palette and 16-bit images as 8-bit samples.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let (mut n, mut sum, mut sq) = (0f64, 0f64, 0f64);
    for px in pixels.chunks(channels).step_by(7) {
        let (r, g, b) = match channels {
            1 | 2 => (px[0], px[0], px[0]),
            _ => (px[0], px[1], px[2]),
        };
        let y = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
        n += 1.0;
        sum += y;
        sq += y * y;
    }
    let mean = sum / n.max(1.0);
    (mean, (sq / n.max(1.0) - mean * mean).max(0.0).sqrt())
}

/// The PNG's mean luma is under `limit` (0–255): a dark theme's page is mostly dark.
#[allow(clippy::disallowed_types)]
pub fn mean_luma_below(png_bytes: &[u8], limit: u8) -> bool {
    let (mean, _) = luma_spread(png_bytes);
    mean < f64::from(limit)
}

/// Save a screenshot of the window as `<dir>/<name>.png` and check it is not blank.
pub fn shot(s: &Session, dir: &Path, name: &str) {
    // Let the page paint what the last step changed (two animation frames) before taking the picture.
    s.post(
        "/execute/async",
        json!({ "script": "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));", "args": [] }),
    );
    let errors = s.js("return window.__trenddojoErrors || [];", json!([]));
    assert_eq!(errors, json!([]), "screen {name}: the page raised no uncaught error");
    let png = s.screenshot();
    std::fs::create_dir_all(dir).expect("screenshot folder");
    std::fs::write(dir.join(format!("{name}.png")), &png).expect("write the screenshot");
    let (mean, spread) = luma_spread(&png);
    #[allow(clippy::disallowed_types)]
    let enough: f64 = 8.0;
    assert!(spread > enough, "screen {name} looks blank (luma mean {mean:.1}, standard deviation {spread:.1})");
}
