//! HTTPS (feature `tls`): the certificate and key a [`Server`](crate::Server)
//! presents, with rustls, and the handshake of each connection.
//!
//! Browsers speak HTTP/2 only over TLS, and over HTTP/1.1 they open at most
//! six connections per origin, so a page with more than a few event streams
//! needs TLS. ALPN offers `h2` and `http/1.1`; an HTTP/2 client gets all its
//! streams on one connection.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::connection::Shared;
use crate::hyper_handoff::{self, Protocol};

/// The protocols offered in the handshake, preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// What a TLS server presents: a certificate chain and its private key, as
/// a rustls configuration.
///
/// ```
/// # fn run() -> Result<(), sse_routing::TlsError> {
/// use sse_routing::{path, Server, TlsConfig};
///
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let server = Server::new(path("").get().complete("hello")).with_tls(tls);
/// # drop(server);
/// # Ok(())
/// # }
/// # assert!(run().unwrap_err().to_string().contains("cert.pem"));
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ServerConfig>,
}

impl TlsConfig {
    /// Reads a PEM certificate chain (the server's certificate first) and
    /// its PEM private key (PKCS #8, PKCS #1 or SEC1). Every error names
    /// the file it is about.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        private_key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let (cert_path, key_path) = (cert_chain.as_ref(), private_key.as_ref());
        let read = |path: &Path| {
            std::fs::read(path).map_err(|error| TlsError::new(Kind::Read(error), Some(path)))
        };
        let (cert_pem, key_pem) = (read(cert_path)?, read(key_path)?);
        let chain = certificates(&cert_pem).map_err(|kind| TlsError::new(kind, Some(cert_path)))?;
        let key = private_key_of(&key_pem).map_err(|kind| TlsError::new(kind, Some(key_path)))?;
        Self::from_parts(chain, key).map_err(|error| TlsError {
            kind: error.kind,
            files: Some((cert_path.to_owned(), Some(key_path.to_owned()))),
        })
    }

    /// The same from PEM text in memory, as made by a certificate
    /// generator.
    pub fn from_pem(cert_chain: &[u8], private_key: &[u8]) -> Result<Self, TlsError> {
        let chain = certificates(cert_chain).map_err(|kind| TlsError::new(kind, None))?;
        let key = private_key_of(private_key).map_err(|kind| TlsError::new(kind, None))?;
        Self::from_parts(chain, key)
    }

    /// A rustls configuration of the caller's own (client certificates,
    /// certificate resolvers, other providers). If it offers no ALPN
    /// protocol, `h2` and `http/1.1` are offered; otherwise its choice
    /// stands.
    pub fn from_rustls(config: impl Into<Arc<ServerConfig>>) -> Self {
        let mut config = config.into();
        if config.alpn_protocols.is_empty() {
            Arc::make_mut(&mut config).alpn_protocols = ALPN.map(<[u8]>::to_vec).to_vec();
        }
        TlsConfig { config }
    }

    fn from_parts(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|error| TlsError::new(Kind::Rustls(error), None))?;
        Ok(Self::from_rustls(config))
    }

    /// The rustls configuration in effect.
    pub fn rustls_config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.config))
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("alpn_protocols", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Kind> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Kind::Pem)?;
    if chain.is_empty() {
        return Err(Kind::NoCertificate);
    }
    Ok(chain)
}

fn private_key_of(pem: &[u8]) -> Result<PrivateKeyDer<'static>, Kind> {
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(Kind::NoPrivateKey),
        Err(error) => Err(Kind::Pem(error)),
    }
}

/// Why a [`TlsConfig`] could not be made; its message names the file.
pub struct TlsError {
    kind: Kind,
    /// The file concerned; both, when they do not go together.
    files: Option<(PathBuf, Option<PathBuf>)>,
}

enum Kind {
    Read(io::Error),
    Pem(pem::Error),
    NoCertificate,
    NoPrivateKey,
    Rustls(rustls::Error),
}

impl TlsError {
    fn new(kind: Kind, file: Option<&Path>) -> Self {
        TlsError {
            kind,
            files: file.map(|file| (file.to_owned(), None)),
        }
    }

    /// The file the error is about (the certificate chain's when the chain
    /// and the key do not go together), if it came from a file.
    pub fn path(&self) -> Option<&Path> {
        self.files.as_ref().map(|(file, _)| file.as_path())
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            Kind::Read(error) => format!("cannot read it: {error}"),
            Kind::Pem(error) => format!("it is not valid PEM: {error:?}"),
            Kind::NoCertificate => "it holds no PEM certificate (BEGIN CERTIFICATE)".to_owned(),
            Kind::NoPrivateKey => "it holds no PEM private key (BEGIN PRIVATE KEY)".to_owned(),
            Kind::Rustls(error) => format!("rustls refuses the certificate and key: {error}"),
        };
        match &self.files {
            Some((cert, Some(key))) => write!(
                f,
                "TLS certificate chain {} and private key {}: {what}",
                cert.display(),
                key.display()
            ),
            Some((file, None)) => write!(f, "TLS file {}: {what}", file.display()),
            None => write!(f, "TLS certificate or key: {what}"),
        }
    }
}

impl fmt::Debug for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TlsError").field(&self.to_string()).finish()
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Read(error) => Some(error),
            Kind::Rustls(error) => Some(error),
            _ => None,
        }
    }
}

/// Serves one TLS connection: the handshake, bounded by the first-byte
/// timeout, then hyper with the protocol ALPN chose. A failed handshake
/// ends this connection only.
pub(crate) async fn serve(stream: TcpStream, acceptor: TlsAcceptor, shared: &Shared) {
    let Shared {
        route,
        config,
        shutdown,
        ..
    } = shared;
    let handshake = acceptor.accept(stream);
    let tls = match config.first_byte_timeout {
        None => handshake.await,
        Some(timeout) => match tokio::time::timeout(timeout, handshake).await {
            Ok(tls) => tls,
            Err(_elapsed) => {
                tracing::debug!("closing a connection whose TLS handshake did not finish in time");
                return;
            }
        },
    };
    let tls = match tls {
        Ok(tls) => tls,
        Err(error) => {
            tracing::debug!(%error, "TLS handshake failed");
            return;
        }
    };
    let protocol = match tls.get_ref().1.alpn_protocol() {
        Some(b"h2") => Protocol::Http2,
        _ => Protocol::Http1,
    };
    hyper_handoff::serve(tls, route, config, shutdown, protocol, config.idle_timeout).await;
}
