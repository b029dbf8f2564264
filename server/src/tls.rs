//! TLS on the hall's LAN, the server's side: the certificate `bangban serve` presents, from
//! files the hall's IT issued (`--tls-cert`, `--tls-key`) or from the hall's own CA
//! (`--tls auto`), which the server makes on its first start and keeps beside the ledger.
//!
//! The hall CA's key stays on the server host (mode 600); devices get only its certificate
//! (`bangban ca export`) and trust nothing else for the hall's URL. The server's own
//! certificate is made again at every start, naming the host's addresses of that day, so a
//! new network card or address needs a restart, not a visit to every device.

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use bangban::tls::{CA_FILE, CA_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE};

/// How long the hall CA made by `--tls auto` is valid: longer than any hall server lives.
const CA_YEARS: i64 = 20;
/// How long a server certificate is valid. It is made again at every start; a server that
/// runs longer than this without a restart is told in its log a month ahead (`warn_expiry`).
const SERVER_DAYS: i64 = 3 * 365;

/// Where the server's certificate comes from.
#[derive(Debug, Clone)]
pub enum Tls {
    /// A certificate chain (the server's first) and its key, in PEM files.
    Files { cert: PathBuf, key: PathBuf },
    /// The hall's own CA in `dir`, made when missing; the server's certificate names `names`
    /// (host names and addresses) besides the host's own.
    Auto { dir: PathBuf, names: Vec<String> },
}

/// Why the server's TLS could not be set up; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("cannot write {path}: {error}")]
    Write { path: PathBuf, error: std::io::Error },
    #[error("{path}: {reason}")]
    Bad { path: PathBuf, reason: String },
    #[error("{dir}: holds {present} but not {missing}: restore both from the backup of this directory, or move both away to make a new hall CA (then every device needs the new `bangban ca export`)")]
    HalfCa {
        dir: PathBuf,
        present: &'static str,
        missing: &'static str,
    },
    #[error("cannot make a certificate: {0}")]
    Make(String),
    /// A certificate file that cannot be read or holds none (the message names the file).
    #[error("{0}")]
    Certificates(String),
    #[error("the certificate in {cert} does not go with the key in {key}: {reason}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// What serving HTTPS needs, and what to tell the installer at start.
pub struct Ready {
    pub config: Arc<rustls::ServerConfig>,
    /// The hall CA's SHA-256 fingerprint (`--tls auto`), as `bangban ca export` prints it.
    pub ca_fingerprint: Option<String>,
    /// The names and addresses the server's certificate is valid for.
    pub names: Vec<String>,
}

/// Set up the server's TLS: read the given files, or make (first start) and read the hall CA
/// and make the server's certificate. `hall` names the hall in a new CA's subject.
pub fn prepare(tls: &Tls, hall: &str) -> Result<Ready, TlsError> {
    match tls {
        Tls::Files { cert, key } => {
            let chain = read_chain(cert)?;
            let private = read_key(key)?;
            Ok(Ready {
                config: server_config(chain, private, cert, key)?,
                ca_fingerprint: None,
                names: Vec::new(),
            })
        }
        Tls::Auto { dir, names } => {
            let (ca_pem, ca_key) = hall_ca(dir, hall)?;
            let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|e| TlsError::Bad {
                path: dir.join(CA_FILE),
                reason: format!("not a PEM certificate: {e}"),
            })?;
            let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(|e| TlsError::Bad {
                path: dir.join(CA_FILE),
                reason: format!("not a usable CA certificate: {e}"),
            })?;
            let mut all = host_names();
            for n in names {
                if !all.contains(n) {
                    all.push(n.clone());
                }
            }
            let (cert_pem, key_pem) = server_cert(&issuer, &all)?;
            let (cert_path, key_path) = (dir.join(SERVER_CERT_FILE), dir.join(SERVER_KEY_FILE));
            write_atomic(&key_path, key_pem.as_bytes(), 0o600)?;
            write_atomic(&cert_path, cert_pem.as_bytes(), 0o644)?;
            let chain = vec![
                CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| TlsError::Make(e.to_string()))?,
                ca_der.clone(),
            ];
            let private =
                PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| TlsError::Make(e.to_string()))?;
            Ok(Ready {
                config: server_config(chain, private, &cert_path, &key_path)?,
                ca_fingerprint: Some(bangban::tls::fingerprint(&ca_der)),
                names: all,
            })
        }
    }
}

/// The hall CA in `dir` (certificate PEM and key), made on the first start.
fn hall_ca(dir: &Path, hall: &str) -> Result<(String, KeyPair), TlsError> {
    let (cert_path, key_path) = (dir.join(CA_FILE), dir.join(CA_KEY_FILE));
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => {
            let pem = std::fs::read_to_string(&cert_path).map_err(|error| TlsError::Read {
                path: cert_path.clone(),
                error,
            })?;
            let key_pem = std::fs::read_to_string(&key_path).map_err(|error| TlsError::Read {
                path: key_path.clone(),
                error,
            })?;
            let key = KeyPair::from_pem(&key_pem).map_err(|e| TlsError::Bad {
                path: key_path.clone(),
                reason: format!("not a PEM private key: {e}"),
            })?;
            Ok((pem, key))
        }
        (true, false) => Err(TlsError::HalfCa {
            dir: dir.to_path_buf(),
            present: CA_FILE,
            missing: CA_KEY_FILE,
        }),
        (false, true) => Err(TlsError::HalfCa {
            dir: dir.to_path_buf(),
            present: CA_KEY_FILE,
            missing: CA_FILE,
        }),
        (false, false) => {
            create_private_dir(dir)?;
            let key = KeyPair::generate().map_err(|e| TlsError::Make(e.to_string()))?;
            let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| TlsError::Make(e.to_string()))?;
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params
                .distinguished_name
                .push(DnType::CommonName, format!("{hall} 帮办 hall CA"));
            params.distinguished_name.push(DnType::OrganizationName, hall);
            // A serial of its own, so two halls' CAs never share issuer and serial.
            params.serial_number = Some(rcgen::SerialNumber::from_slice(&rand_bytes()));
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            let now = time::OffsetDateTime::now_utc();
            params.not_before = now - time::Duration::days(1);
            params.not_after = now + time::Duration::days(CA_YEARS * 365);
            let cert = params.self_signed(&key).map_err(|e| TlsError::Make(e.to_string()))?;
            // The key first: a CA certificate without its key is the half that cannot be used.
            write_atomic(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
            write_atomic(&cert_path, cert.pem().as_bytes(), 0o644)?;
            tracing::info!(
                "made the hall CA in {} (give {} to every device: `bangban ca export`)",
                dir.display(),
                CA_FILE
            );
            Ok((cert.pem(), key))
        }
    }
}

/// A server certificate for `names`, signed by the hall CA: (certificate PEM, key PEM).
fn server_cert(issuer: &Issuer<'_, KeyPair>, names: &[String]) -> Result<(String, String), TlsError> {
    let mut params = CertificateParams::default();
    params.subject_alt_names = names
        .iter()
        .filter_map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => Some(SanType::IpAddress(ip)),
            Err(_) => match n.as_str().try_into() {
                Ok(dns) => Some(SanType::DnsName(dns)),
                Err(e) => {
                    tracing::warn!("{n:?} cannot be named in a certificate ({e}); devices must use another name");
                    None
                }
            },
        })
        .collect();
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_else(|| "localhost".into()),
    );
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&rand_bytes()));
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(SERVER_DAYS);
    let key = KeyPair::generate().map_err(|e| TlsError::Make(e.to_string()))?;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(|e| TlsError::Make(e.to_string()))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The names devices may use for this host: localhost, its host name and every address of
/// its network interfaces.
pub fn host_names() -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    if let Some(h) = hostname() {
        names.push(h);
    }
    for ip in interface_addresses() {
        let s = ip.to_string();
        if !names.contains(&s) {
            names.push(s);
        }
    }
    for s in ["127.0.0.1", "::1"] {
        if !names.iter().any(|n| n == s) {
            names.push(s.into());
        }
    }
    names
}

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8(buf[..end].to_vec()).ok()?;
    (!name.is_empty() && name != "localhost").then_some(name)
}

/// Every IPv4 and IPv6 address of this host's interfaces (link-local IPv6 left out: a URL
/// cannot name its interface portably).
fn interface_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we walk read-only and free once.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut cur = list;
        while !cur.is_null() {
            let addr = (*cur).ifa_addr;
            if !addr.is_null() {
                match i32::from((*addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(addr as *const libc::sockaddr_in);
                        out.push(IpAddr::from(u32::from_be(sin.sin_addr.s_addr).to_be_bytes()));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(addr as *const libc::sockaddr_in6);
                        let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                        if (ip.segments()[0] & 0xffc0) != 0xfe80 {
                            out.push(IpAddr::V6(ip));
                        }
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
}

fn rand_bytes() -> [u8; 16] {
    let mut b: [u8; 16] = rand::random();
    // A positive serial: the top bit clear.
    b[0] &= 0x7f;
    b
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    bangban::tls::read_certs(path).map_err(|e| TlsError::Certificates(e.to_string()))
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|error| TlsError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Bad {
        path: path.to_path_buf(),
        reason: format!("no PEM private key in it: {e}"),
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Make(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Mismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
            reason: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The TLS directory, readable by its owner only (it holds the CA's key).
fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|error| TlsError::Write {
            path: dir.to_path_buf(),
            error,
        })
}

/// Write `bytes` to `path` whole or not at all (a power cut leaves the old file or the new
/// one), created with `mode` so a key is never readable by others even for a moment.
fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |error| TlsError::Write {
        path: path.to_path_buf(),
        error,
    };
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_start_keeps_the_hall_ca_so_devices_keep_trusting_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let tls = Tls::Auto {
            dir: dir.path().join("tls"),
            names: vec!["bangban.hall.lan".into()],
        };
        let first = prepare(&tls, "枣庄市民中心").unwrap();
        let ca = std::fs::read(dir.path().join("tls").join(CA_FILE)).unwrap();
        let second = prepare(&tls, "枣庄市民中心").unwrap();
        assert_eq!(first.ca_fingerprint, second.ca_fingerprint);
        assert_eq!(ca, std::fs::read(dir.path().join("tls").join(CA_FILE)).unwrap());
        assert!(second.names.iter().any(|n| n == "bangban.hall.lan"));
        assert!(second.names.iter().any(|n| n == "127.0.0.1"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("tls").join(CA_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the CA key is readable by its owner only");
    }

    #[test]
    fn a_ca_certificate_without_its_key_is_refused_rather_than_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let tls = Tls::Auto {
            dir: dir.path().to_path_buf(),
            names: vec![],
        };
        prepare(&tls, "hall").unwrap();
        std::fs::remove_file(dir.path().join(CA_KEY_FILE)).unwrap();
        let e = prepare(&tls, "hall").err().unwrap().to_string();
        assert!(e.contains(CA_KEY_FILE) && e.contains("restore"), "{e}");
        assert!(dir.path().join(CA_FILE).exists(), "the CA certificate is left alone");
    }
}
