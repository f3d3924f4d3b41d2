//! TLS pieces both binaries share: certificate fingerprints, the server's
//! certificate loading, and self-signed certificate generation.
//!
//! Fingerprints are SHA-256 over the certificate's DER bytes, written as
//! `SHA256:` and colon-separated upper-case hex, the form `openssl x509
//! -fingerprint -sha256` prints, so users can compare them by eye.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{0} holds no certificate")]
    NoCertificate(String),
    #[error("the certificate and key do not work together")]
    Config(#[from] rustls::Error),
    #[error("cannot generate a certificate")]
    Generate(#[from] rcgen::Error),
    #[error("{0} already exists; not replacing it (tchat-server tls gen --force replaces it)")]
    Exists(String),
    #[error("cannot write {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// `SHA256:AB:CD:…` of a DER certificate.
pub fn fingerprint(cert_der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert_der);
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256:{}", hex.join(":"))
}

/// Every certificate in a PEM file (for `--ca`); an empty file is an error.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read_err = |source| TlsError::Read {
        path: path.display().to_string(),
        source,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(read_err)?
        .collect::<Result<_, _>>()
        .map_err(read_err)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.display().to_string()));
    }
    Ok(certs)
}

/// The rustls configuration for serving `cert` (a PEM chain, leaf first)
/// with `key` (a PEM private key).
pub fn server_config(
    cert: &Path,
    key: &Path,
) -> Result<(Arc<rustls::ServerConfig>, String), TlsError> {
    let read_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| TlsError::Read { path, source }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(read_err(cert))?
        .collect::<Result<_, _>>()
        .map_err(read_err(cert))?;
    let leaf = chain
        .first()
        .ok_or_else(|| TlsError::NoCertificate(cert.display().to_string()))?;
    let print = fingerprint(leaf);
    let key = PrivateKeyDer::from_pem_file(key).map_err(read_err(key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok((Arc::new(config), print))
}

/// A self-signed certificate for `host`, written as `cert.pem` and
/// `key.pem` (readable by the owner only) into `dir`.
pub struct GeneratedCert {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub fingerprint: String,
}

/// What [`generate_self_signed_with`] does when `cert.pem` or `key.pem`
/// already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse ([`TlsError::Exists`]) and leave both files as they are.
    Refuse,
    /// Replace both with new files (the key 0600 whatever the old one was).
    Replace,
}

/// [`generate_self_signed_with`] that refuses to replace existing files.
pub fn generate_self_signed(host: &str, dir: &Path) -> Result<GeneratedCert, TlsError> {
    generate_self_signed_with(host, dir, Existing::Refuse)
}

/// Writes a new self-signed certificate for `host` into `dir` (created
/// 0700 if missing): the key 0600 and the certificate 0644, whatever the
/// umask. Each file is written beside its destination and renamed over it,
/// so a replaced key never keeps the old file's mode and a refused one is
/// never touched.
pub fn generate_self_signed_with(
    host: &str,
    dir: &Path,
    existing: Existing,
) -> Result<GeneratedCert, TlsError> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if existing == Existing::Refuse {
        for path in [&key, &cert] {
            if path.symlink_metadata().is_ok() {
                return Err(TlsError::Exists(path.display().to_string()));
            }
        }
    }
    let certified = rcgen::generate_simple_self_signed(vec![host.to_owned()])?;
    crate::server::files::create_private_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let write = |path: &Path, contents: &str, mode: u32| -> Result<(), TlsError> {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let err = |source| TlsError::Write {
            path: path.display().to_string(),
            source,
        };
        // tempfile creates its file 0600; the explicit mode makes it exact
        // whatever the umask took off.
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
        file.write_all(contents.as_bytes()).map_err(err)?;
        file.as_file().sync_all().map_err(err)?;
        let persisted = match existing {
            Existing::Refuse => file.persist_noclobber(path),
            Existing::Replace => file.persist(path),
        };
        match persisted {
            Ok(_) => Ok(()),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(TlsError::Exists(path.display().to_string()))
            }
            Err(e) => Err(err(e.error)),
        }
    };
    write(&key, &certified.signing_key.serialize_pem(), 0o600)?;
    write(&cert, &certified.cert.pem(), 0o644)?;
    Ok(GeneratedCert {
        cert,
        key,
        fingerprint: fingerprint(certified.cert.der()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_load_with_the_same_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let made = generate_self_signed("chat.example", dir.path()).unwrap();
        let (_config, print) = server_config(&made.cert, &made.key).unwrap();
        assert_eq!(print, made.fingerprint);
        assert!(print.starts_with("SHA256:") && print.len() == 7 + 32 * 3 - 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&made.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is private");
    }

    #[test]
    fn a_missing_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            server_config(&dir.path().join("nope.pem"), &dir.path().join("k.pem")).unwrap_err();
        assert!(err.to_string().contains("nope.pem"), "{err}");
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn existing_files_are_refused_unless_replacing() {
        // SAFETY: umask only swaps the process's file-creation mask; 022 is
        // the usual one, and every test that sets it sets that value.
        unsafe { libc::umask(0o022) };
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("tls");
        let first = generate_self_signed("chat.example", &tls).unwrap();
        assert_eq!(mode(&tls), 0o700);
        assert_eq!(mode(&first.key), 0o600);
        assert_eq!(mode(&first.cert), 0o644);
        let key_before = std::fs::read(&first.key).unwrap();
        match generate_self_signed("chat.example", &tls) {
            Err(TlsError::Exists(path)) => assert!(path.ends_with("key.pem"), "{path}"),
            other => panic!("expected Exists, got {:?}", other.map(|m| m.fingerprint)),
        }
        assert_eq!(std::fs::read(&first.key).unwrap(), key_before, "untouched");
        // Only the certificate left: still refused, naming it.
        std::fs::remove_file(&first.key).unwrap();
        match generate_self_signed("chat.example", &tls) {
            Err(e @ TlsError::Exists(_)) => {
                let shown = e.to_string();
                assert!(
                    shown.contains("cert.pem") && shown.contains("--force"),
                    "{shown}"
                );
            }
            other => panic!("expected Exists, got {:?}", other.map(|m| m.fingerprint)),
        }
        assert!(!first.key.exists(), "nothing written on refusal");

        // Replacing: a world-readable old key does not pass its mode on.
        std::fs::write(&first.key, b"old").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&first.key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let second = generate_self_signed_with("chat.example", &tls, Existing::Replace).unwrap();
        assert_eq!(mode(&second.key), 0o600);
        assert_ne!(std::fs::read(&second.key).unwrap(), b"old");
        assert_ne!(second.fingerprint, first.fingerprint);
        let (_config, print) = server_config(&second.cert, &second.key).unwrap();
        assert_eq!(print, second.fingerprint);
    }
}
