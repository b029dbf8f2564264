//! HTTPS on the hall's LAN: `bangban serve --tls auto` and `--tls-cert/--tls-key`, the hall
//! CA for devices (`bangban ca export`, `--ca`, `BANGBAN_CA`), and the errors an installer
//! meets on the way.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// `bangban --server URL … ARGS` with the token in the environment and the CA given by flag.
fn over_https(url: &str, token: &str, ca: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(["--server", url, "--ca"])
        .arg(ca)
        .args(args)
        .env("BANGBAN_TOKEN", token)
        .env_remove("BANGBAN_TOKEN_FILE")
        .env_remove("BANGBAN_CA")
        .env_remove("BANGBAN_DB")
        .env_remove("BANGBAN_NOW")
        .output()
        .unwrap()
}

/// `bangban serve --tls-cert CERT --tls-key KEY`, which must refuse to start; what it said.
fn refused_start(db: &Path, cert: &Path, key: &Path) -> String {
    let out = Command::new(bin())
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the server started");
    stderr(&out)
}

#[test]
fn devices_keep_trusting_the_server_after_a_restart_because_the_hall_ca_stays() {
    let l = demo_ledger();
    let token = enrol(&l.db, "admin-1", "admin");
    let tls = l.dir.path().join("tls");
    let tls_dir = tls.to_str().unwrap();
    let mut served = Served::start_with(&l.db, &["--tls", "auto", "--tls-dir", tls_dir]);
    assert!(served.url.starts_with("https://"), "{}", served.url);
    let ca = l.dir.path().join("hall-ca.pem");
    let out = cli(
        &l.db,
        &["ca", "export", "--tls-dir", tls_dir, "--out", ca.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("SHA-256"), "{}", stderr(&out));
    let items = over_https(&served.url, &token, &ca, &["items"]);
    assert!(items.status.success(), "{}", stderr(&items));
    assert!(stdout(&items).contains("A01"), "{}", stdout(&items));
    assert!(served.stop().success());

    // A new start makes a new server certificate, signed by the same CA.
    let served = Served::start_with(&l.db, &["--tls", "auto", "--tls-dir", tls_dir]);
    let again = Command::new(bin())
        .args(["--server", &served.url, "items"])
        .env("BANGBAN_CA", &ca)
        .env("BANGBAN_TOKEN", &token)
        .env_remove("BANGBAN_TOKEN_FILE")
        .env_remove("BANGBAN_DB")
        .output()
        .unwrap();
    assert!(again.status.success(), "BANGBAN_CA is read too: {}", stderr(&again));
}

#[test]
fn a_client_without_the_hall_ca_is_refused_and_told_what_to_do() {
    let l = demo_ledger();
    let token = enrol(&l.db, "admin-1", "admin");
    let tls = l.dir.path().join("tls");
    let served = Served::start_with(&l.db, &["--tls", "auto", "--tls-dir", tls.to_str().unwrap()]);
    let out = remote(&served.url, &token, &["items"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("does not trust the server's certificate") && err.contains("bangban ca export"),
        "{err}"
    );
    // Plain HTTP to the HTTPS port: told to use https://, not a bare parse error.
    let plain = remote(&served.url.replace("https://", "http://"), &token, &["items"]);
    assert!(!plain.status.success());
    assert!(stderr(&plain).contains("use an https:// URL"), "{}", stderr(&plain));
}

#[test]
fn certificate_files_from_the_halls_it_are_served_and_a_key_that_does_not_fit_is_named() {
    let l = demo_ledger();
    let token = enrol(&l.db, "admin-1", "admin");
    let tls = l.dir.path().join("made");
    // Certificate files from elsewhere: here the ones a first `--tls auto` start made.
    let mut first = Served::start_with(&l.db, &["--tls", "auto", "--tls-dir", tls.to_str().unwrap()]);
    assert!(first.stop().success());
    let (cert, key, ca) = (tls.join("server.pem"), tls.join("server-key.pem"), tls.join("ca.pem"));
    let served = Served::start_with(
        &l.db,
        &["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()],
    );
    assert!(served.url.starts_with("https://"), "{}", served.url);
    let items = over_https(&served.url, &token, &ca, &["items"]);
    assert!(items.status.success(), "{}", stderr(&items));
    drop(served);

    // The CA's certificate with the server's key: the start stops and names both files.
    let err = refused_start(&l.db, &ca, &key);
    assert!(err.contains("ca.pem") && err.contains("server-key.pem"), "{err}");
    assert_eq!(err.matches("does not go with").count(), 1, "said once: {err}");
    // A key file that is not there.
    let err = refused_start(&l.db, &cert, &l.dir.path().join("no-such-key.pem"));
    assert!(err.contains("no-such-key.pem"), "{err}");
    // --tls-cert without its key is a usage error before anything starts.
    let out = cli(&l.db, &["serve", "--tls-cert", cert.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn ca_export_before_any_hall_ca_says_how_to_make_one() {
    let l = demo_ledger();
    let out = cli(&l.db, &["ca", "export"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no hall CA in") && err.contains("--tls auto"), "{err}");
}
