//! A TLS client for the endpoint tests (TLS + basic auth, the handshake flood): trusts one
//! certificate, sends one GET per connection. Included with `#[path]` by the tests that need it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};

pub struct Tls {
    config: Arc<rustls::ClientConfig>,
}

impl Tls {
    /// A client that trusts the certificate(s) in `cert_pem`, for the name `localhost`.
    pub fn trusting(cert_pem: &str) -> Tls {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Tls { config: Arc::new(config) }
    }

    /// GET over TLS on a fresh connection, optionally with basic auth, reading at most `timeout` between
    /// bytes: (status, body). Status 0 if TLS failed.
    pub fn get(&self, addr: &str, path: &str, auth: Option<(&str, &str)>, timeout: Duration) -> (u16, String) {
        use base64::Engine as _;
        let conn =
            rustls::ClientConnection::new(self.config.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(timeout)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let header = auth.map_or(String::new(), |(u, p)| {
            format!("Authorization: Basic {}\r\n", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")))
        });
        if tls
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{header}Connection: close\r\n\r\n").as_bytes(),
            )
            .is_err()
        {
            return (0, String::new());
        }
        let mut raw = Vec::new();
        let mut buf = [0u8; 16384];
        loop {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }
}
