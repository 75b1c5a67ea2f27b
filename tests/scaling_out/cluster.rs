//! A chat cluster for the tests: a broker of the test's own and chat
//! processes (the example, as `cargo run --example chat` starts it) that
//! share it through `HUB_LOG`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sse_connector::{EventSourceConnector, ReconnectOptions};
use sse_marshal::{EventSource, Unmarshal};
use sse_model::ServerSentEvent;
use sse_test_support::brokers::Broker;
use sse_test_support::example_process::Example;

/// Which shared log the cluster runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Redis,
    Nats,
}

/// The event type of the hub's resync event.
pub(crate) const RESYNC: &str = "sse-hub-resync";

/// How long anything in a cluster may take: debug builds of several
/// processes on a small machine.
pub(crate) const SLOW: Duration = Duration::from_secs(30);

pub(crate) struct Cluster {
    pub(crate) broker: Broker,
    nodes: Vec<Example>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Cluster {
    /// A broker and `nodes` chat processes on it.
    pub(crate) async fn start(kind: Kind, nodes: usize) -> Cluster {
        let broker = match kind {
            Kind::Redis => Broker::redis(),
            Kind::Nats => Broker::nats(),
        };
        let mut started = Vec::new();
        for _ in 0..nodes {
            started.push(Example::start("chat", &[("HUB_LOG", broker.url())]).await);
        }
        Cluster {
            broker,
            nodes: started,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub(crate) fn addr(&self, node: usize) -> SocketAddr {
        self.nodes[node].addr()
    }

    pub(crate) fn url(&self, node: usize, path: &str) -> String {
        format!("http://{}{path}", self.addr(node))
    }

    /// Kills node `node` (SIGKILL): its connections drop.
    pub(crate) async fn kill(&mut self, node: usize) {
        self.nodes[node].kill().await;
    }

    /// Posts a message on `node`: the status and the body.
    pub(crate) async fn post(&self, node: usize, name: &str, text: &str) -> (u16, String) {
        let body = serde_json::json!({ "name": name, "text": text }).to_string();
        let request = http::Request::post(self.url(node, "/messages"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a request");
        let response = tokio::time::timeout(SLOW, self.client.request(request))
            .await
            .expect("an answer in time")
            .expect("an answer");
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.expect("a body");
        (
            status,
            String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        )
    }

    /// Posts until the node answers 201 (its broker is back); every other
    /// answer meanwhile must be 503.
    pub(crate) async fn post_when_back(&self, node: usize, name: &str, text: &str) {
        let deadline = Instant::now() + SLOW;
        loop {
            match self.post(node, name, text).await {
                (201, _) => return,
                (503, _) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (status, body) => panic!("posting when the broker is back: {status} {body}"),
            }
        }
    }

    /// The status of `GET path` on `node`.
    pub(crate) async fn status_of(&self, node: usize, path: &str) -> u16 {
        let request = http::Request::get(self.url(node, path))
            .body(Full::new(Bytes::new()))
            .expect("a request");
        let response = tokio::time::timeout(SLOW, self.client.request(request))
            .await
            .expect("an answer in time")
            .expect("an answer");
        response.status().as_u16()
    }

    /// A page's event stream on `node`, without reconnection: the retained
    /// history, then live messages.
    pub(crate) async fn page(&self, node: usize) -> EventSource {
        let request = http::Request::get(self.url(node, "/events"))
            .body(Full::new(Bytes::new()))
            .expect("a request");
        let response = tokio::time::timeout(SLOW, self.client.request(request))
            .await
            .expect("a response in time")
            .expect("a response");
        assert_eq!(response.status(), 200);
        Unmarshal::new(response)
            .to::<EventSource>()
            .await
            .expect("an event stream")
    }
}

/// A reconnecting client of `http://addr/events`, quick to come back.
pub(crate) fn reconnecting_client(addr: SocketAddr, first_delay: Duration) -> EventSource {
    EventSourceConnector::new(format!("http://{addr}/events"))
        .expect("a URL")
        .with_reconnect(
            ReconnectOptions::default()
                .with_initial_delay(first_delay)
                .with_min_backoff(Duration::from_millis(50))
                .with_max_delay(Duration::from_millis(500)),
        )
        .connect()
}

/// The next event of `events`.
pub(crate) async fn next_event(events: &mut EventSource) -> ServerSentEvent {
    tokio::time::timeout(SLOW, events.next())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .expect("an event")
}

/// A chat message as `name: text`, or the event type of another event.
pub(crate) fn text_of(event: &ServerSentEvent) -> String {
    if let Some(event_type) = event.event_type() {
        return format!("<{event_type}>");
    }
    let message: serde_json::Value =
        serde_json::from_str(event.data()).unwrap_or_else(|_| panic!("JSON: {:?}", event.data()));
    format!(
        "{}: {}",
        message["name"].as_str().expect("a name"),
        message["text"].as_str().expect("a text")
    )
}

/// The next `n` messages of `events`, as `name: text`.
pub(crate) async fn take_texts(events: &mut EventSource, n: usize) -> Vec<String> {
    let mut texts = Vec::with_capacity(n);
    while texts.len() < n {
        texts.push(text_of(&next_event(events).await));
    }
    texts
}

/// Collects the first `n` messages of a stream, consuming it.
pub(crate) async fn collect(mut events: EventSource, n: usize) -> Vec<String> {
    take_texts(&mut events, n).await
}
