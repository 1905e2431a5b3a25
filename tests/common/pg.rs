//! A throwaway PostgreSQL cluster per test, started with the same code as `trenddojo server dev`.
//! Roles are cluster-wide, so each test gets its own cluster: provisioning never leaks between tests.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;

use tokio_postgres::Client;
use trenddojo_server::admin::{self, Provisioned};
use trenddojo_server::cluster::{self, ClusterInfo};
use trenddojo_server::{db, migrations};

pub struct Pg {
    pub dir: tempfile::TempDir,
    pub info: ClusterInfo,
}

impl Pg {
    /// Start a fresh cluster with an empty `trenddojo` database.
    pub async fn start() -> Pg {
        let dir = tempfile::tempdir().expect("temp dir");
        // The server may run as the `postgres` user: it must be able to enter the folder.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let info = cluster::start_or_reuse(&dir.path().join("pg")).expect("start a throwaway PostgreSQL");
        db::ensure_database(&info.admin_conn_string("postgres"), cluster::DATABASE).await.expect("create database");
        Pg { dir, info }
    }

    /// Start a cluster with the schema migrated to the newest version.
    pub async fn migrated() -> Pg {
        let pg = Pg::start().await;
        let mut c = pg.admin().await;
        migrations::migrate(&mut c, None).await.expect("migrate the server schema");
        pg
    }

    /// The service (superuser) connection string.
    pub fn service(&self) -> String {
        self.info.admin_conn_string(cluster::DATABASE)
    }

    pub async fn admin(&self) -> Client {
        db::connect(&self.service()).await.expect("service connection")
    }

    /// Provision a user with its own login role.
    pub async fn user(&self, email: &str, tier: &str, password: &str) -> Provisioned {
        let c = self.admin().await;
        let config = self.service().parse().expect("config");
        admin::add_user(&c, &config, email, tier, None, password).await.expect("provision user")
    }

    /// Connect as a provisioned user over TCP with SCRAM, exactly as a client device would.
    pub async fn connect_as(&self, p: &Provisioned, password: &str) -> Client {
        self.try_connect_as(p, password).await.expect("user connection")
    }

    pub async fn try_connect_as(&self, p: &Provisioned, password: &str) -> trenddojo_server::Result<Client> {
        let mut config: tokio_postgres::Config = p.url.parse().expect("user URL parses");
        config.password(password);
        db::connect_config(&config).await
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = cluster::stop(&self.dir.path().join("pg"));
    }
}

/// A PgBouncer in front of a test cluster, in transaction mode: each transaction (or each statement
/// outside one) may run on a different server connection, as behind Supabase's pooler on port 6543.
pub struct Pooler {
    dir: tempfile::TempDir,
    child: std::process::Child,
    pub port: u16,
}

impl Pg {
    /// Start a PgBouncer (Debian's `pgbouncer`, run as `postgres`) for this cluster's `trenddojo`
    /// database. Clients log in with their own role and password (SCRAM); PgBouncer looks the secret up
    /// through the superuser (`auth_query`) and logs in to the server with the client's SCRAM keys.
    ///
    /// `reset_always`: every hand-back of a server connection runs `DISCARD ALL`, so a prepared statement
    /// that outlives its transaction fails every time instead of only when the pooler happens to switch
    /// connections. Off (PgBouncer's default in transaction mode), session state such as a LISTEN stays
    /// on the server connection for whichever client gets it next.
    pub fn pooler(&self, reset_always: bool) -> Pooler {
        let dir = tempfile::tempdir_in(self.dir.path()).expect("pooler dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("free port").local_addr().expect("addr").port();
        let d = dir.path().display();
        let ini = format!(
            "[databases]\n\
             trenddojo = host={socket} port={pgport} dbname={db}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = scram-sha-256\n\
             auth_file = {d}/userlist.txt\n\
             auth_user = postgres\n\
             pool_mode = transaction\n\
             server_reset_query = DISCARD ALL\n\
             server_reset_query_always = {reset}\n\
             default_pool_size = 2\n\
             max_client_conn = 200\n\
             logfile = {d}/pgbouncer.log\n\
             pidfile = {d}/pgbouncer.pid\n",
            socket = self.info.socket_dir.display(),
            pgport = self.info.port,
            db = trenddojo_server::cluster::DATABASE,
            reset = u8::from(reset_always),
        );
        std::fs::write(dir.path().join("pgbouncer.ini"), ini).expect("pgbouncer.ini");
        // The superuser logs in over the private socket without a password (trust).
        std::fs::write(dir.path().join("userlist.txt"), "\"postgres\" \"\"\n").expect("userlist.txt");
        let child = trenddojo_server::cluster::as_server_user("/usr/sbin/pgbouncer")
            .arg(dir.path().join("pgbouncer.ini"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start pgbouncer (Debian package `pgbouncer`; scripts/setup.sh installs it)");
        let pooler = Pooler { dir, child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "pgbouncer did not listen within 10 s: {}", pooler.log());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        pooler
    }
}

impl Pooler {
    /// A user's login (role and password) through the pooler instead of the server.
    pub fn user_url(&self, role: &str, password: &str) -> String {
        format!("postgresql://{role}:{password}@127.0.0.1:{}/{}", self.port, trenddojo_server::cluster::DATABASE)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for Pooler {
    fn drop(&mut self) {
        // runuser passes SIGTERM on to PgBouncer, which stops at once.
        let _ = std::process::Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}
