//! Which server certificates the client accepts, and the TLS handshake.
//!
//! First the usual check: the certificate chains to a root in the OS store
//! or to `--ca`, and is valid for the host name. A fingerprint remembered in
//! `known_servers` (or pinned) for this `host:port` still wins over any
//! authority: another certificate is refused as CHANGED even when a CA
//! signed it. When nothing vouches for it
//! (a self-signed certificate, as `tchat-server tls gen` makes), the leaf's
//! fingerprint decides, as with SSH: the one remembered in `known_servers`
//! for this `host:port` is accepted; another one is refused as CHANGED; an
//! unknown one is refused too, so the user can be asked, and only the
//! user's yes (or `--trust-fingerprint`) adds it. Handshake signatures are
//! always checked, whatever vouched for the certificate.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::address::ServerAddr;
use super::known_servers::Entry;

/// What the client trusts, from flags and the config directory.
#[derive(Debug, Clone)]
pub struct TrustSettings {
    /// Read the operating system's root certificates.
    pub system_roots: bool,
    /// Extra trust anchors (`--ca`).
    pub ca: Vec<CertificateDer<'static>>,
    /// The `known_servers` file; `None` remembers for this run only.
    pub known_servers: Option<PathBuf>,
    /// `--trust-fingerprint`: accept exactly this certificate for this
    /// server, and record it.
    pub pin: Option<Pin>,
}

impl Default for TrustSettings {
    fn default() -> Self {
        TrustSettings {
            system_roots: true,
            ca: Vec::new(),
            known_servers: None,
            pin: None,
        }
    }
}

/// A fingerprint the user named in advance for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// `host:port` as `ServerAddr::key` writes it.
    pub server: String,
    /// Normalized `SHA256:…`.
    pub fingerprint: String,
}

/// What vouched for an accepted certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// It chains to a system root or a `--ca` certificate.
    Authority,
    /// Its fingerprint is the one in `known_servers`.
    Known,
    /// Its fingerprint is the one given with `--trust-fingerprint`.
    Pinned,
}

/// An encrypted connection's certificate, for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    pub fingerprint: String,
    pub verified: Verified,
}

/// Why a certificate was refused. The UI asks (unknown) or warns
/// (changed); the network task does not retry past either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error("{server} presented an unknown certificate ({fingerprint})")]
    Unknown {
        server: String,
        fingerprint: String,
        /// DNS names the certificate is for, as the server sent them.
        names: Vec<String>,
        /// The OS store gave no roots, so even a CA-signed certificate
        /// lands here.
        no_system_roots: bool,
    },
    #[error("the certificate of {server} CHANGED: remembered {old}, presented {new}")]
    Changed {
        server: String,
        old: String,
        new: String,
        /// Where the old fingerprint is remembered, and on which line.
        file: Option<PathBuf>,
        line: usize,
    },
    #[error("the certificate of {server} is {got}, not the one given with --trust-fingerprint ({expected})")]
    PinMismatch {
        server: String,
        expected: String,
        got: String,
    },
}

impl Untrusted {
    pub fn server(&self) -> &str {
        match self {
            Untrusted::Unknown { server, .. }
            | Untrusted::Changed { server, .. }
            | Untrusted::PinMismatch { server, .. } => server,
        }
    }
}

/// The roots, read once: the OS store plus `--ca`.
#[derive(Debug, Clone)]
pub struct Anchors {
    provider: Arc<CryptoProvider>,
    /// `None` when there is no root at all (empty OS store, no `--ca`).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// How many roots the OS store gave.
    pub system_roots: usize,
}

impl Anchors {
    /// Reads the OS store (if asked) and adds the `--ca` certificates. An
    /// empty or unreadable store is not an error: `--ca` and
    /// `known_servers` still work.
    pub fn new(settings: &TrustSettings) -> Anchors {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        let mut system_roots = 0;
        if settings.system_roots {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            system_roots = added;
        }
        roots.add_parsable_certificates(settings.ca.iter().cloned());
        let webpki = if roots.is_empty() {
            None
        } else {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .ok()
        };
        Anchors {
            provider,
            webpki,
            system_roots,
        }
    }
}

/// What one connection accepts beyond the roots.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// `host:port`.
    pub server: String,
    /// The remembered entry for it, if any.
    pub known: Option<Entry>,
    /// A pinned fingerprint for it, if any.
    pub pin: Option<String>,
    /// The `known_servers` path, for the CHANGED warning.
    pub file: Option<PathBuf>,
}

/// The verifier: roots first, then the fingerprint.
#[derive(Debug)]
pub struct TofuVerifier {
    anchors: Anchors,
    expect: Expectation,
    /// How the last certificate was judged; read after the handshake, since
    /// rustls hands errors back as text-like values.
    outcome: Mutex<Option<Result<TlsInfo, Untrusted>>>,
}

/// The WebPKI failures that mean "nobody I trust signed this": the cases
/// where the fingerprint gets a say. Expired, revoked or misnamed
/// certificates from a trusted authority stay refused.
fn nobody_vouches(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => true,
        // A self-signed certificate made as a CA (openssl req -x509 does).
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => matches!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ),
        _ => false,
    }
}

/// A refusal as rustls carries it; the verdict itself is read back with
/// `TofuVerifier::outcome`.
fn untrusted_error(u: Untrusted) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(u))))
}

/// The DNS names a certificate claims (at most a few), for the prompt.
fn dns_names(cert: &CertificateDer<'_>) -> Vec<String> {
    match webpki::EndEntityCert::try_from(cert) {
        Ok(c) => c
            .valid_dns_names()
            .take(4)
            .map(|n| n.chars().take(80).collect())
            .collect(),
        Err(_) => Vec::new(),
    }
}

impl TofuVerifier {
    pub fn new(anchors: Anchors, expect: Expectation) -> TofuVerifier {
        TofuVerifier {
            anchors,
            expect,
            outcome: Mutex::new(None),
        }
    }

    /// How the handshake's certificate was judged, if it got that far.
    pub fn outcome(&self) -> Option<Result<TlsInfo, Untrusted>> {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set(&self, outcome: Result<TlsInfo, Untrusted>) {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
    }

    /// Why a certificate an authority vouches for is still refused: the
    /// server is remembered (or pinned) with another fingerprint.
    fn conflict(&self, end_entity: &CertificateDer<'_>) -> Option<Untrusted> {
        match (&self.expect.known, &self.expect.pin) {
            (None, None) => None,
            _ => self.judge(end_entity).err(),
        }
    }

    /// The fingerprint rule, for a certificate no root vouches for.
    fn judge(&self, end_entity: &CertificateDer<'_>) -> Result<TlsInfo, Untrusted> {
        let fingerprint = crate::tls::fingerprint(end_entity);
        let server = self.expect.server.clone();
        let ok = |verified| {
            Ok(TlsInfo {
                fingerprint: fingerprint.clone(),
                verified,
            })
        };
        match (&self.expect.known, &self.expect.pin) {
            (Some(known), _) if known.fingerprint.eq_ignore_ascii_case(&fingerprint) => {
                ok(Verified::Known)
            }
            // A pin never overrides a different remembered certificate:
            // the old line must be deleted knowingly.
            (Some(known), _) => Err(Untrusted::Changed {
                server,
                old: known.fingerprint.clone(),
                new: fingerprint,
                file: self.expect.file.clone(),
                line: known.line,
            }),
            (None, Some(pin)) if pin.eq_ignore_ascii_case(&fingerprint) => ok(Verified::Pinned),
            (None, Some(pin)) => Err(Untrusted::PinMismatch {
                server,
                expected: pin.clone(),
                got: fingerprint,
            }),
            (None, None) => Err(Untrusted::Unknown {
                server,
                fingerprint,
                names: dns_names(end_entity),
                no_system_roots: self.anchors.system_roots == 0,
            }),
        }
    }
}

impl ServerCertVerifier for TofuVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(webpki) = &self.anchors.webpki {
            match webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                // An authority vouches, but a fingerprint remembered or
                // pinned for this server still wins: a CA (or whoever got a
                // certificate out of one) cannot replace what the user
                // trusted.
                Ok(v) => match self.conflict(end_entity) {
                    None => {
                        self.set(Ok(TlsInfo {
                            fingerprint: crate::tls::fingerprint(end_entity),
                            verified: Verified::Authority,
                        }));
                        return Ok(v);
                    }
                    Some(refused) => {
                        self.set(Err(refused.clone()));
                        return Err(untrusted_error(refused));
                    }
                },
                Err(e) if nobody_vouches(&e) => {}
                Err(e) => return Err(e),
            }
        }
        let judged = self.judge(end_entity);
        self.set(judged.clone());
        match judged {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            Err(u) => Err(untrusted_error(u)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.anchors.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.anchors.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.anchors
            .provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// How a handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error(transparent)]
    Untrusted(Untrusted),
    #[error("TLS with {server} failed: {reason}")]
    Failed { server: String, reason: String },
}

/// Runs the TLS handshake over `tcp`; on success says what vouched for the
/// certificate.
pub async fn handshake(
    tcp: TcpStream,
    addr: &ServerAddr,
    anchors: &Anchors,
    expect: Expectation,
) -> Result<(TlsStream<TcpStream>, TlsInfo), HandshakeError> {
    let failed = |reason: String| HandshakeError::Failed {
        server: addr.key(),
        reason,
    };
    let name = ServerName::try_from(addr.host.clone())
        .map_err(|e| failed(format!("bad server name: {e}")))?;
    let verifier = Arc::new(TofuVerifier::new(anchors.clone(), expect));
    let config = rustls::ClientConfig::builder_with_provider(anchors.provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let result = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await;
    match (result, verifier.outcome()) {
        (Ok(stream), Some(Ok(info))) => Ok((stream, info)),
        (Ok(_), _) => Err(failed("the certificate was not checked".into())),
        (Err(_), Some(Err(untrusted))) => Err(HandshakeError::Untrusted(untrusted)),
        (Err(e), _) => Err(failed(e.to_string())),
    }
}
