//! TLS on the hall's LAN, the devices' side: which certificates a kiosk, board, counter or
//! the CLI trusts when the server's URL is `https://` (the hall's own CA from
//! `bangban ca export`, given with `--ca FILE` / `BANGBAN_CA`), and where the server host
//! keeps that CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use crate::error::{LedgerError, Result};

/// The hall CA's certificate in the TLS directory: what `bangban ca export` hands to devices.
pub const CA_FILE: &str = "ca.pem";
/// The hall CA's private key beside it (mode 600; never leaves the server host).
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// The server's certificate (signed by the hall CA) and its key, made again at every start of
/// `bangban serve --tls auto` so that it names the host's addresses of the day.
pub const SERVER_CERT_FILE: &str = "server.pem";
pub const SERVER_KEY_FILE: &str = "server-key.pem";

/// Where `bangban serve --tls auto` keeps the hall CA when `--tls-dir` is not given: a `tls`
/// directory beside the ledger file, so that one host's ledger and CA move together.
pub fn default_dir(db: &Path) -> PathBuf {
    if db.to_str().is_some_and(crate::ledger::is_pg_url) {
        // A hall in PostgreSQL has no ledger folder: its servers keep their CA in the data
        // directory (copy it to the second server host, deploy/README.md).
        return dirs::data_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("bangban")
            .join("tls");
    }
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("tls")
}

/// The certificates in a PEM file, in order; an error naming the file when it cannot be read
/// or holds none.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes =
        std::fs::read(path).map_err(|e| LedgerError::Invalid(format!("cannot read {}: {e}", path.display())))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| LedgerError::Invalid(format!("{}: not a PEM certificate file: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(LedgerError::Invalid(format!(
            "{}: no certificate in it (expected the PEM that `bangban ca export` writes)",
            path.display()
        )));
    }
    Ok(certs)
}

/// The TLS settings of a device that trusts exactly the certificates in `ca` (the hall CA),
/// not the public CAs: a hall's server is never vouched for by anyone else.
pub fn client_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(ca)? {
        roots
            .add(cert)
            .map_err(|e| LedgerError::Invalid(format!("{}: not a usable CA certificate: {e}", ca.display())))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| LedgerError::Invalid(format!("tls: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The SHA-256 fingerprint of a certificate as installers compare it by eye
/// (`AB:CD:…`, 32 pairs): printed by `bangban serve` at start and by `bangban ca export`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether `url` names this machine (plain HTTP there crosses no network).
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_told_from_lan_ones() {
        assert!(is_loopback_url("http://127.0.0.1:8080"));
        assert!(is_loopback_url("http://localhost:8080/"));
        assert!(is_loopback_url("http://[::1]:8080"));
        assert!(!is_loopback_url("http://192.168.1.10:8080"));
        assert!(!is_loopback_url("http://hall-server:8080"));
    }

    #[test]
    fn a_file_without_a_certificate_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let e = client_config(&path).unwrap_err().to_string();
        assert!(e.contains("ca.pem") && e.contains("no certificate"), "{e}");
    }
}
