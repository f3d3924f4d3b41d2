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

pub fn generate_self_signed(host: &str, dir: &Path) -> Result<GeneratedCert, TlsError> {
    let certified = rcgen::generate_simple_self_signed(vec![host.to_owned()])?;
    let write = |path: &Path, contents: &str, private: bool| -> Result<(), TlsError> {
        let err = |source| TlsError::Write {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(err)?;
        std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(err)
    };
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    write(&key, &certified.signing_key.serialize_pem(), true)?;
    write(&cert, &certified.cert.pem(), false)?;
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
}
