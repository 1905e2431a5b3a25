//! Helpers shared by the integration tests: run the real `trenddojo` binary against a throwaway data
//! folder, and take a logical dump of a store to prove a failed command changed nothing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use trenddojo_store::{KeySource, MigrateOnOpen, Passphrase, Store};

pub const PASSPHRASE: &str = "correct horse battery staple";

/// A throwaway data folder with a passphrase-protected store.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A new store created with `trenddojo init` (pro tier so limits do not get in the way).
    pub fn init() -> Home {
        let h = Home { dir: tempfile::tempdir().expect("temp dir") };
        let o = h.run(&["init", "--email", "me@example.com", "--tier", "pro"]);
        assert!(o.status.success(), "init must succeed: {}", String::from_utf8_lossy(&o.stderr));
        h
    }

    /// A new store loaded with a seed state.
    pub fn seeded(state: &str) -> Home {
        let h = Home::init();
        let o = h.run(&["db", "reset", "--state", state]);
        assert!(o.status.success(), "reset to {state} must succeed: {}", String::from_utf8_lossy(&o.stderr));
        h
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_trenddojo"));
        c.env("TRENDDOJO_HOME", self.path())
            .env("TRENDDOJO_PASSPHRASE", PASSPHRASE)
            .env_remove("TRENDDOJO_USER")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run trenddojo")
    }

    /// Run with `input` on standard input.
    pub fn run_with_stdin(&self, mut cmd: Command, input: &str) -> Output {
        use std::io::Write;
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn trenddojo");
        // A command that refuses its arguments exits before reading its input: a closed pipe is fine.
        if let Err(e) = child.stdin.take().expect("stdin").write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
        child.wait_with_output().expect("wait for trenddojo")
    }

    /// Run with `--json`, assert success, and parse stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let o = self.run(&all);
        assert!(o.status.success(), "`trenddojo {}` failed: {}", args.join(" "), String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("stdout of {args:?} is not JSON ({e})"))
    }

    /// Dump that does not migrate or fail on a newer schema: raw table rows through SQLCipher.
    pub fn dump_raw(&self) -> String {
        let bytes = std::fs::read(self.path().join("trenddojo.db")).expect("db file");
        format!("{} bytes, {:x}", bytes.len(), bytes.iter().fold(0u64, |a, b| a.rotate_left(5) ^ u64::from(*b)))
    }

    pub fn open_store(&self) -> Store {
        Store::open(&self.path(), &key(), MigrateOnOpen::No).expect("open store")
    }

    /// Every row of every table, in a stable order: equal dumps mean equal data.
    pub fn dump(&self) -> String {
        dump_store(&self.open_store(), &[])
    }
}

pub fn key() -> KeySource {
    KeySource::Passphrase(Passphrase::new(PASSPHRASE).expect("passphrase"))
}

/// Logical dump of every table except `skip` (and refinery's history, which records wall-clock times).
pub fn dump_store(store: &Store, skip: &[&str]) -> String {
    store
        .read(|c| {
            let mut out = String::new();
            let tables: Vec<String> = c
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for t in tables {
                if t == "refinery_schema_history" || skip.contains(&t.as_str()) {
                    continue;
                }
                out.push_str(&format!("## {t}\n"));
                let width = c.prepare(&format!("SELECT * FROM \"{t}\""))?.column_count();
                let order = if width > 1 { "1, 2" } else { "1" };
                let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\" ORDER BY {order}"))?;
                let n = stmt.column_count();
                let mut rows = stmt.query([])?;
                while let Some(r) = rows.next()? {
                    let mut cells = Vec::with_capacity(n);
                    for i in 0..n {
                        let v: rusqlite_value::Value = r.get(i)?;
                        cells.push(format!("{v:?}"));
                    }
                    out.push_str(&cells.join("|"));
                    out.push('\n');
                }
            }
            Ok::<_, trenddojo_store::StoreError>(out)
        })
        .expect("dump")
}

/// The value type rusqlite returns for any column (re-exported through the store's Connection).
pub mod rusqlite_value {
    pub use trenddojo_store::sql::Value;
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

/// The CLI's error report: one `error:` line, then at most a `hint:` line and a `to fix:` line.
pub fn is_one_error(err: &str) -> bool {
    let mut lines = err.trim().lines();
    lines.next().is_some_and(|l| l.starts_with("error: "))
        && lines.all(|l| l.starts_with("hint: ") || l.starts_with("to fix: "))
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
