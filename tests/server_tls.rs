//! TLS transport: a client that trusts the server's certificate speaks
//! tchat/1 through it; one that does not, or that speaks plain TCP, gets
//! nowhere.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tchat::server::{Server, ServerConfig, TlsFiles};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

async fn tls_server(dir: &std::path::Path) -> (std::net::SocketAddr, tchat::tls::GeneratedCert) {
    let made = tchat::tls::generate_self_signed("localhost", &dir.join("tls")).unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("t.db"));
    config.bcrypt_cost = 4;
    config.tls = Some(TlsFiles {
        cert: made.cert.clone(),
        key: made.key.clone(),
    });
    let server = Server::bind(config).await.unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run());
    (addr, made)
}

fn connector(trusted: Option<&std::path::Path>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(cert) = trusted {
        for c in CertificateDer::pem_file_iter(cert).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn a_trusting_client_logs_in_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, made) = tls_server(dir.path()).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = connector(Some(&made.cert))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let fp = tchat::tls::fingerprint(tls.get_ref().1.peer_certificates().unwrap()[0].as_ref());
    assert_eq!(fp, made.fingerprint);
    let (r, mut w) = tokio::io::split(tls);
    let mut lines = BufReader::new(r).lines();
    let hello: serde_json::Value =
        serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(hello["type"], "hello");
    w.write_all(b"{\"type\":\"register\",\"id\":1,\"user\":\"alice\",\"password\":\"correct horse\"}\n{\"type\":\"ping\",\"id\":2}\n")
        .await
        .unwrap();
    let welcome: serde_json::Value =
        serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(welcome["type"], "welcome");
    let pong: serde_json::Value =
        serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(pong, serde_json::json!({"type": "pong", "id": 2}));
}

#[tokio::test]
async fn an_untrusting_client_refuses_the_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _made) = tls_server(dir.path()).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let result = connector(None)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await;
    assert!(
        result.is_err(),
        "an unknown certificate must not be accepted"
    );
}

#[tokio::test]
async fn plain_tcp_to_a_tls_server_gets_no_hello() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _made) = tls_server(dir.path()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"{\"type\":\"ping\",\"id\":1}\n")
        .await
        .unwrap();
    let mut lines = BufReader::new(tcp).lines();
    // The server answers garbage with a TLS alert or a close, never a frame.
    let got = tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await;
    match got {
        Ok(Ok(Some(line))) => assert!(!line.contains("hello"), "plain text leaked: {line}"),
        Ok(_) => {}
        Err(_) => panic!("the server neither answered nor closed"),
    }
}
