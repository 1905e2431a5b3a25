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
