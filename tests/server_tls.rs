//! Verified TLS to PostgreSQL (what Supabase staging and production need): a cluster with a certificate
//! from a private CA accepts a client that trusts that CA, and a client that trusts another CA, or that
//! requires TLS from a server without it, is refused.

use crate::pg;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use pg::Pg;
use trenddojo_server::{cluster, db, ServerError};

fn key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey")
}

fn cert(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, ca: bool) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("cn");
    let name = name.build();
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("v3");
    b.set_serial_number(&BigNum::from_u32(rand_serial()).expect("bn").to_asn1_integer().expect("serial"))
        .expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(issuer.map_or(&name, |(c, _)| c.subject_name())).expect("issuer");
    b.set_pubkey(key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("now")).expect("nb");
    b.set_not_after(&Asn1Time::days_from_now(2).expect("later")).expect("na");
    if ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc")).expect("ext");
    } else {
        let san = SubjectAlternativeName::new()
            .ip("127.0.0.1")
            .dns("localhost")
            .build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None))
            .expect("san");
        b.append_extension(san).expect("ext");
    }
    b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256()).expect("sign");
    b.build()
}

fn rand_serial() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(7) | 1
}

#[tokio::test]
async fn tls_is_verified_against_the_configured_ca() {
    let pg = Pg::migrated().await;
    let (ca_key, other_key, server_key) = (key(), key(), key());
    let ca = cert("TrendDojo test CA", &ca_key, None, true);
    let other_ca = cert("Some other CA", &other_key, None, true);
    let server = cert("127.0.0.1", &server_key, Some((&ca, &ca_key)), false);
    let dir = pg.dir.path().join("pg");
    cluster::install_tls(&dir, &server.to_pem().expect("pem"), &server_key.private_key_to_pem_pkcs8().expect("pem"))
        .expect("install certificate");
    let admin = pg.admin().await;
    admin.batch_execute("ALTER SYSTEM SET ssl = on").await.expect("ssl on");
    admin.batch_execute("SELECT pg_reload_conf()").await.expect("reload");
    wait_for_ssl(&pg, "on").await;

    let files = tempfile::tempdir().expect("tempdir");
    let ca_file = files.path().join("ca.pem");
    let other_file = files.path().join("other.pem");
    std::fs::write(&ca_file, ca.to_pem().expect("pem")).expect("write");
    std::fs::write(&other_file, other_ca.to_pem().expect("pem")).expect("write");

    let p = pg.user("tls@example.com", "basic", "tls-password").await;
    let mut config: tokio_postgres::Config = format!("{}?sslmode=require", p.url).parse().expect("url");
    config.password("tls-password");

    let c = db::connect_with(&config, Some(&ca_file)).await.expect("TLS with the right CA connects");
    let ssl: bool =
        c.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.expect("ssl").get(0);
    assert!(ssl, "the session is encrypted");
    let version: String =
        c.query_one("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await.expect("v").get(0);
    assert!(version == "TLSv1.2" || version == "TLSv1.3", "a modern protocol: {version}");

    match db::connect_with(&config, Some(&other_file)).await {
        Err(ServerError::Connect(m)) => assert!(
            m.to_lowercase().contains("certificate") || m.contains("TLS") || m.contains("tls"),
            "names the TLS failure: {m}"
        ),
        Err(other) => panic!("expected a connection error, got {other:?}"),
        Ok(_) => panic!("a certificate from an untrusted CA must be refused"),
    }

    match db::connect_with(&config, Some(&files.path().join("missing.pem"))).await {
        Err(ServerError::Invalid { field, .. }) => assert_eq!(field, "ca-file", "names the field"),
        other => panic!("a missing CA file is bad input, got {:?}", other.map(|_| ())),
    }

    // Requiring TLS from a server without it fails instead of silently sending the password in clear.
    admin.batch_execute("ALTER SYSTEM SET ssl = off").await.expect("ssl off");
    admin.batch_execute("SELECT pg_reload_conf()").await.expect("reload");
    wait_for_ssl(&pg, "off").await;
    assert!(db::connect_with(&config, Some(&ca_file)).await.is_err(), "sslmode=require refuses a plain-text server");
}

/// A reload is asynchronous: wait until a new session sees the setting.
async fn wait_for_ssl(pg: &Pg, want: &str) {
    for _ in 0..100 {
        let c = pg.admin().await;
        let now: String = c.query_one("SHOW ssl", &[]).await.expect("show ssl").get(0);
        if now == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server never reported ssl = {want}");
}
