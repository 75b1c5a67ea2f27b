//! The default transport: hyper-util's client, HTTP/1.1 and HTTP/2, over a
//! connector of its own that speaks TCP and TLS (rustls, with the
//! `webpki-roots` CAs) and goes through proxies: `http` forwarded by the
//! proxy, `https` through a `CONNECT` tunnel.

mod conn;
mod tls;
mod tunnel;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::PROXY_AUTHORIZATION;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use tokio_rustls::rustls;
use tokio_rustls::TlsConnector;
use tower_service::Service;

pub(crate) use self::tls::TlsSettings;

use self::conn::Conn;
use crate::error::{Error, Kind};
use crate::send::{SendFuture, SendRequest};

/// Which proxy the default transport goes through.
#[derive(Clone, Debug, Default)]
pub(crate) enum ProxySettings {
    /// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`, in upper or
    /// lower case, as curl reads them.
    #[default]
    FromEnv,
    /// None, whatever the environment says.
    Off,
    /// This one, for every URL (credentials in its userinfo).
    Url(Uri),
}

impl ProxySettings {
    fn matcher(&self) -> Option<Matcher> {
        match self {
            ProxySettings::FromEnv => Some(Matcher::from_env()),
            ProxySettings::Off => None,
            ProxySettings::Url(url) => Some(Matcher::builder().all(url.to_string()).build()),
        }
    }
}

/// The default sender.
pub(crate) struct DefaultSender {
    client: Client<Connector, Empty<Bytes>>,
    proxies: Arc<Option<Matcher>>,
}

impl DefaultSender {
    pub(crate) fn new(tls: &TlsSettings, proxy: &ProxySettings) -> Result<Self, Error> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let proxies = Arc::new(proxy.matcher());
        let connector = Connector {
            tcp,
            tls: TlsConnector::from(tls.client_config()?),
            proxies: Arc::clone(&proxies),
        };
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(DefaultSender { client, proxies })
    }
}

impl fmt::Debug for DefaultSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultSender")
            .field("proxies", &self.proxies)
            .finish_non_exhaustive()
    }
}

impl SendRequest for DefaultSender {
    fn send(&self, request: Request<()>) -> SendFuture {
        let (mut parts, ()) = request.into_parts();
        // A proxy that forwards `http` sees the request itself, so its
        // credentials go in the request (a tunnel carries them in CONNECT).
        if parts.uri.scheme() == Some(&http::uri::Scheme::HTTP) {
            let auth = self
                .proxies
                .as_ref()
                .as_ref()
                .and_then(|matcher| matcher.intercept(&parts.uri))
                .and_then(|intercept| intercept.basic_auth().cloned());
            if let Some(auth) = auth {
                parts.headers.insert(PROXY_AUTHORIZATION, auth);
            }
        }
        let future = self
            .client
            .request(Request::from_parts(parts, Empty::new()));
        Box::pin(async move {
            let response = future.await?;
            Ok(response.map(|body| body.map_err(Into::into).boxed_unsync()))
        })
    }
}

/// Makes the connections of the default transport.
#[derive(Clone)]
struct Connector {
    tcp: HttpConnector,
    tls: TlsConnector,
    proxies: Arc<Option<Matcher>>,
}

impl Service<Uri> for Connector {
    type Response = Conn;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(connect(self.clone(), uri))
    }
}

async fn connect(mut connector: Connector, uri: Uri) -> Result<Conn, Error> {
    let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let host = uri
        .host()
        .ok_or_else(|| Error::new(Kind::InvalidUrl("no host".to_owned())).with_url(&uri))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let intercept = connector
        .proxies
        .as_ref()
        .as_ref()
        .and_then(|matcher| matcher.intercept(&uri));
    let Some(intercept) = intercept else {
        let tcp = tcp_connect(&mut connector.tcp, uri.clone()).await?;
        return if https {
            tls_connect(&connector.tls, tcp, &host, &uri).await
        } else {
            Ok(Conn::Tcp {
                io: TokioIo::new(tcp),
                proxied: false,
            })
        };
    };
    let proxy = intercept.uri().clone();
    if proxy.scheme() != Some(&http::uri::Scheme::HTTP) {
        return Err(Error::new(Kind::Proxy { status: None })
            .with_url(&proxy)
            .with_cause("only http:// proxies are supported"));
    }
    let mut tcp = tcp_connect(&mut connector.tcp, proxy.clone())
        .await
        .map_err(|error| {
            Error::new(Kind::Proxy { status: None })
                .with_url(&proxy)
                .with_cause(error)
        })?;
    if !https {
        return Ok(Conn::Tcp {
            io: TokioIo::new(tcp),
            proxied: true,
        });
    }
    tunnel::connect(&mut tcp, &host, port, intercept.basic_auth())
        .await
        .map_err(|error| {
            if error.has_url() {
                error
            } else {
                error.with_url(&proxy)
            }
        })?;
    tls_connect(&connector.tls, tcp, &host, &uri).await
}

async fn tcp_connect(
    connector: &mut HttpConnector,
    uri: Uri,
) -> Result<tokio::net::TcpStream, Error> {
    match connector.call(uri.clone()).await {
        Ok(io) => Ok(io.into_inner()),
        Err(error) => Err(Error::new(Kind::Connect).with_url(&uri).with_cause(error)),
    }
}

async fn tls_connect(
    tls: &TlsConnector,
    tcp: tokio::net::TcpStream,
    host: &str,
    uri: &Uri,
) -> Result<Conn, Error> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|error| Error::new(Kind::InvalidUrl(error.to_string())).with_url(uri))?;
    match tls.connect(name, tcp).await {
        Ok(stream) => {
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            Ok(Conn::Tls {
                io: Box::new(TokioIo::new(stream)),
                h2,
            })
        }
        Err(error) => {
            // A refused certificate (or no common protocol) is the TLS
            // layer's verdict, and will not change on retry; anything else
            // is the network's.
            let verdict = error
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
            let kind = if verdict { Kind::Tls } else { Kind::Connect };
            Err(Error::new(kind).with_url(uri).with_cause(error))
        }
    }
}
