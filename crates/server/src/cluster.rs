//! The local development PostgreSQL: the plan's "Local PG" environment with no manual install steps.
//!
//! `start_or_reuse(dir)` initialises a private cluster in `dir` (once), starts it on 127.0.0.1 with its
//! socket inside `dir`, creates the `trenddojo` database, and returns how to reach it. A cluster already
//! running from `dir` is reused. The port is chosen once and kept (`cluster.json`): every device's saved
//! login names it, so a restart must not move it; only when another program took it meanwhile is a new
//! one chosen, and reported (`moved_from`). The test suite uses the same code for its throwaway
//! clusters, so roles (cluster-wide objects) never leak between tests or into a real server.
//!
//! Authentication: the `postgres` superuser connects only through the private Unix socket (trust); every
//! other role, over the socket or TCP, must pass SCRAM-SHA-256, as on Supabase. PostgreSQL refuses to run as
//! root, so when we are root the server runs as the `postgres` system user (Debian's package creates it)
//! and the folder is handed to that user.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Result, ServerError};

/// The database every TrendDojo environment uses.
pub const DATABASE: &str = "trenddojo";

/// A running development cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterInfo {
    pub data_dir: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
    /// True when this call started it, false when it was already running.
    #[serde(default)]
    pub started: bool,
    /// The port it ran on before, when that port was taken by something else and a new one had to be
    /// chosen (saved logins that name the old port need updating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<u16>,
}

impl ClusterInfo {
    /// Superuser connection over the private socket (key-value form: the socket path needs no escaping).
    pub fn admin_conn_string(&self, dbname: &str) -> String {
        format!("host={} port={} user=postgres dbname={dbname}", self.socket_dir.display(), self.port)
    }

    /// What a user role connects to (password not included).
    pub fn user_url(&self, role: &str) -> String {
        format!("postgresql://{role}@127.0.0.1:{}/{DATABASE}", self.port)
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// The directory with `initdb`, `pg_ctl` and `postgres`: `TRENDDOJO_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<v>/bin` (Debian), else whatever `PATH` has.
pub fn bin_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("TRENDDOJO_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v: u32 = e.file_name().to_str()?.parse().ok()?;
                    let bin = e.path().join("bin");
                    bin.join("initdb").exists().then_some((v, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Ok(path) = std::env::var("PATH") {
        for p in std::env::split_paths(&path) {
            if p.join("initdb").exists() && p.join("pg_ctl").exists() {
                return Ok(p);
            }
        }
    }
    Err(ServerError::NoPostgres)
}

/// A command that runs `program` as the user the server runs as: the `postgres` user when we are root
/// (PostgreSQL, and PgBouncer, refuse to run as root), else ourselves.
pub fn as_server_user(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn pg_command(bin: &Path, tool: &str) -> Command {
    as_server_user(bin.join(tool))
}

fn run(mut cmd: Command, what: &str) -> Result<String> {
    let out = cmd.output().map_err(|e| ServerError::Cluster(format!("{what}: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("failed").trim().to_string();
        return Err(ServerError::Cluster(format!("{what}: {last}")));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

/// Whether `port` on 127.0.0.1 is free to listen on right now.
fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The port to start on: the one the cluster used last time (every device's saved login names it), unless
/// something else took it meanwhile; then a new free one, and the old one is reported.
fn choose_port(dir: &Path) -> Result<(u16, Option<u16>)> {
    let previous = std::fs::read(state_file(dir)).ok().and_then(|b| serde_json::from_slice::<ClusterInfo>(&b).ok());
    match previous.map(|p| p.port) {
        Some(port) if port_is_free(port) => Ok((port, None)),
        Some(port) => Ok((free_port()?, Some(port))),
        None => Ok((free_port()?, None)),
    }
}

const HBA: &str = "# TrendDojo development cluster: the superuser only over the private socket; everyone else SCRAM.
local   all   postgres                 trust
local   all   all                      scram-sha-256
host    all   all        127.0.0.1/32  scram-sha-256
host    all   all        ::1/128       scram-sha-256
";

fn hand_to_postgres(dir: &Path) -> Result<()> {
    if !running_as_root() {
        return Ok(());
    }
    let mut chown = Command::new("chown");
    chown.args(["-R", "postgres:postgres"]).arg(dir);
    run(chown, "chown to the postgres user")?;
    // The postgres user must be able to reach the folder.
    let mut probe = Command::new("runuser");
    probe.args(["-u", "postgres", "--", "test", "-w"]).arg(dir);
    if !probe.status().map(|s| s.success()).unwrap_or(false) {
        return Err(ServerError::Cluster(format!(
            "running as root, the server runs as the `postgres` user, which cannot reach {}; use a data folder \
             outside root's home or run as a normal user",
            dir.display()
        )));
    }
    Ok(())
}

/// Can the `postgres` system user enter `dir` (or, if it does not exist yet, its nearest existing
/// ancestor)? Always true when we are not root: then the server runs as us.
fn reachable_by_server_user(dir: &Path) -> bool {
    if !running_as_root() {
        return true;
    }
    let existing = dir.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    let mut probe = Command::new("runuser");
    probe.args(["-u", "postgres", "--", "test", "-x"]).arg(existing);
    probe.status().map(|s| s.success()).unwrap_or(false)
}

/// Where the development cluster of the data folder `home` lives: `<home>/postgres`, unless we are root
/// and the `postgres` user cannot enter `home` (root's own home is private), in which case it lives in
/// `/var/lib/trenddojo/dev-<hash of home>`, a stable place derived from the data folder so `server dev`
/// and `server stop` find it again. Root's folders are never opened up to make room.
pub fn dir_for_home(home: &Path) -> PathBuf {
    let local = home.join("postgres");
    if reachable_by_server_user(home) {
        return local;
    }
    use sha2::Digest;
    let abs = std::path::absolute(home).unwrap_or_else(|_| home.to_path_buf());
    let digest = sha2::Sha256::digest(abs.as_os_str().as_encoded_bytes());
    PathBuf::from("/var/lib/trenddojo").join(format!("dev-{}", &hex::encode(digest)[..16]))
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("cluster.json")
}

/// Is the cluster in `dir` running? Returns its recorded info if so.
pub fn status(dir: &Path) -> Result<Option<ClusterInfo>> {
    let data = dir.join("data");
    if !data.join("PG_VERSION").exists() {
        return Ok(None);
    }
    let bin = bin_dir()?;
    let mut cmd = pg_command(&bin, "pg_ctl");
    cmd.arg("status").arg("-D").arg(&data);
    let running = cmd.output().map(|o| o.status.success()).unwrap_or(false);
    if !running {
        return Ok(None);
    }
    let info: ClusterInfo = serde_json::from_slice(&std::fs::read(state_file(dir))?)
        .map_err(|e| ServerError::Cluster(format!("cluster.json: {e}")))?;
    Ok(Some(ClusterInfo { started: false, moved_from: None, ..info }))
}

/// Start the development cluster in `dir` (initialising it the first time), or reuse it if running.
pub fn start_or_reuse(dir: &Path) -> Result<ClusterInfo> {
    if let Some(info) = status(dir)? {
        return Ok(info);
    }
    let bin = bin_dir()?;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    if let Some(parent) = dir.parent().filter(|p| p.starts_with("/var/lib/trenddojo")) {
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755))?;
    }
    let data = dir.join("data");
    let socket_dir = dir.join("run");
    std::fs::create_dir_all(&socket_dir)?;
    // The superuser connects over this socket without a password: only the server's own user may enter.
    std::fs::set_permissions(&socket_dir, std::fs::Permissions::from_mode(0o700))?;
    hand_to_postgres(dir)?;
    if !data.join("PG_VERSION").exists() {
        let mut init = pg_command(&bin, "initdb");
        init.arg("-D").arg(&data).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
        run(init, "initdb")?;
        write_as_server_user(&data.join("pg_hba.conf"), HBA.as_bytes(), "600")?;
    }
    let (port, moved_from) = choose_port(dir)?;
    let mut start = pg_command(&bin, "pg_ctl");
    start
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(dir.join("server.log"))
        .arg("-w")
        .arg("-o")
        .arg(format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c unix_socket_permissions=0700 -c password_encryption=scram-sha-256 -c max_connections=200",
            socket_dir.display()
        ))
        .arg("start");
    run(start, "pg_ctl start")?;
    let info = ClusterInfo { data_dir: data, socket_dir, port, started: true, moved_from };
    let json = serde_json::to_vec_pretty(&info).map_err(|e| ServerError::Cluster(e.to_string()))?;
    std::fs::write(state_file(dir), json)?;
    Ok(info)
}

/// Write a file as the user the server runs as (the `postgres` user when we are root), with `mode`.
fn write_as_server_user(path: &Path, bytes: &[u8], mode: &str) -> Result<()> {
    use std::io::Write;
    let mut tee = as_server_user("tee");
    tee.arg(path).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null());
    let mut child = tee.spawn()?;
    child
        .stdin
        .take()
        .ok_or_else(|| ServerError::Cluster(format!("{}: no stdin", path.display())))?
        .write_all(bytes)?;
    if !child.wait()?.success() {
        return Err(ServerError::Cluster(format!("writing {} failed", path.display())));
    }
    let mut chmod = as_server_user("chmod");
    chmod.arg(mode).arg(path);
    run(chmod, "chmod")?;
    Ok(())
}

/// Install a TLS certificate and key (PEM) into the cluster in `dir` as `server.crt` / `server.key`, the
/// files PostgreSQL's `ssl = on` uses by default. Turn TLS on afterwards with
/// `ALTER SYSTEM SET ssl = on; SELECT pg_reload_conf()` (the tests do, to exercise verified TLS).
pub fn install_tls(dir: &Path, cert_pem: &[u8], key_pem: &[u8]) -> Result<()> {
    let data = dir.join("data");
    write_as_server_user(&data.join("server.crt"), cert_pem, "644")?;
    write_as_server_user(&data.join("server.key"), key_pem, "600")?;
    Ok(())
}

/// Stop the development cluster in `dir` if it runs. Returns whether it was running.
pub fn stop(dir: &Path) -> Result<bool> {
    if status(dir)?.is_none() {
        return Ok(false);
    }
    let bin = bin_dir()?;
    let mut cmd = pg_command(&bin, "pg_ctl");
    cmd.arg("-D").arg(dir.join("data")).args(["-m", "fast", "-w", "stop"]);
    run(cmd, "pg_ctl stop")?;
    Ok(true)
}
