//! The proxy environment variables, honoured by default: `HTTP_PROXY` for
//! `http`, `https_proxy` (either case works) for `https` through `CONNECT`,
//! `NO_PROXY` for hosts to reach directly; `without_proxy` ignores them.
//!
//! One test in a binary of its own: it sets the process's environment,
//! which no other test may see.

use std::time::Duration;

use futures_util::{stream, StreamExt};
use sse_connector::{EventSourceConnector, ReconnectOptions};
use sse_model::ServerSentEvent;
use sse_routing::{path, Route, Server};
use sse_test_support::proxy::{start_proxy, ProxyLog};
use sse_test_support::tls::TestCertificate;
use sse_test_support::{start, start_with, within};

fn route() -> Route {
    path("events")
        .get()
        .complete(|| stream::iter([ServerSentEvent::new("hello")]))
}

async fn first_data(connector: EventSourceConnector) -> String {
    let mut events = connector
        .with_reconnect(ReconnectOptions::default().with_initial_delay(Duration::from_millis(10)))
        .connect();
    let event = within("an event", events.next())
        .await
        .expect("an event")
        .expect("no error");
    event.data().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_environment_variables_are_honoured_by_default() {
    let log = ProxyLog::default();
    let proxy = start_proxy(&log).await;
    let plain = start(route()).await;
    let cert = TestCertificate::new();
    let tls = start_with(Server::new(route()).with_tls(cert.server_config())).await;
    let http_url = format!("http://{}/events", plain.addr);
    let https_url = format!("https://localhost:{}/events", tls.addr.port());
    let https = |url: &str| {
        EventSourceConnector::new(url)
            .unwrap()
            .with_root_certificates_pem(cert.cert_pem.as_bytes())
            .unwrap()
    };
    for name in ["NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"] {
        std::env::remove_var(name);
    }
    std::env::set_var("HTTP_PROXY", format!("http://{proxy}"));
    std::env::set_var("https_proxy", format!("http://{proxy}"));

    assert_eq!(
        first_data(EventSourceConnector::new(&*http_url).unwrap()).await,
        "hello"
    );
    assert_eq!(first_data(https(&https_url)).await, "hello");
    let through = log.requests();
    assert!(
        through
            .iter()
            .any(|(line, _)| line == &format!("GET {http_url} HTTP/1.1")),
        "{through:?}"
    );
    assert!(
        through
            .iter()
            .any(|(line, _)| line == &format!("CONNECT localhost:{} HTTP/1.1", tls.addr.port())),
        "{through:?}"
    );

    // NO_PROXY (in either case) and `without_proxy` go direct.
    std::env::set_var("no_proxy", "localhost");
    assert_eq!(first_data(https(&https_url)).await, "hello");
    std::env::remove_var("no_proxy");
    assert_eq!(
        first_data(
            EventSourceConnector::new(&*http_url)
                .unwrap()
                .without_proxy()
        )
        .await,
        "hello"
    );
    assert_eq!(
        log.requests().len(),
        through.len(),
        "went through the proxy"
    );

    for name in ["HTTP_PROXY", "https_proxy"] {
        std::env::remove_var(name);
    }
    plain.shutdown().await;
    tls.shutdown().await;
}
