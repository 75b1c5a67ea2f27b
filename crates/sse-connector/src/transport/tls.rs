//! The TLS side of the default transport: which roots are trusted, and the
//! protocols offered.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::error::{Error, Kind};

/// The protocols offered, preferred first: a server that speaks HTTP/2 gets
/// it, and all the streams to it share a connection.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// What the connector's TLS trusts.
#[derive(Clone, Debug, Default)]
pub(crate) enum TlsSettings {
    /// The Mozilla roots of `webpki-roots`, and these CAs besides.
    #[default]
    WebPkiRoots,
    WithCas(Vec<CertificateDer<'static>>),
    /// A configuration of the caller's own.
    Custom(Arc<ClientConfig>),
}

impl TlsSettings {
    /// Adds the CA certificates of a PEM text to the trusted roots.
    pub(crate) fn add_pem(self, pem: &[u8]) -> Result<Self, Error> {
        let mut cas = match self {
            TlsSettings::WithCas(cas) => cas,
            _ => Vec::new(),
        };
        let before = cas.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert =
                cert.map_err(|error| Error::new(Kind::InvalidCertificate(format!("{error:?}"))))?;
            cas.push(cert);
        }
        if cas.len() == before {
            return Err(Error::new(Kind::InvalidCertificate(
                "no PEM certificate (BEGIN CERTIFICATE) found".to_owned(),
            )));
        }
        Ok(TlsSettings::WithCas(cas))
    }

    /// The rustls configuration: the roots, and ALPN `h2` and `http/1.1`
    /// unless a custom configuration chose its own.
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        let cas = match self {
            TlsSettings::Custom(config) => {
                let mut config = Arc::clone(config);
                if config.alpn_protocols.is_empty() {
                    Arc::make_mut(&mut config).alpn_protocols = alpn();
                }
                return Ok(config);
            }
            TlsSettings::WebPkiRoots => &[][..],
            TlsSettings::WithCas(cas) => cas,
        };
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for ca in cas {
            roots.add(ca.clone()).map_err(|error| {
                Error::new(Kind::InvalidCertificate(error.to_string())).with_cause(error)
            })?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| Error::new(Kind::Tls).with_cause(error))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn();
        Ok(Arc::new(config))
    }
}

fn alpn() -> Vec<Vec<u8>> {
    ALPN.map(<[u8]>::to_vec).to_vec()
}
