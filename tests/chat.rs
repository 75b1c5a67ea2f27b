//! The chat example's app over a real socket: a new page gets the history, a
//! reconnecting one resumes after its `Last-Event-ID`, and bad posts are
//! refused without reaching anyone.

#[path = "../examples/chat/app.rs"]
#[allow(dead_code)]
mod app;

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sse_marshal::{EventSource, Unmarshal};
use sse_model::ServerSentEvent;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

struct Chat {
    base: String,
    client: HttpClient,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Chat {
    async fn start() -> Chat {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hub = app::hub();
        let route = app::app(&hub);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(sse_routing::serve_with_shutdown(
            listener,
            route,
            async move {
                let _ = stopped.await;
                hub.shutdown(None);
            },
        ));
        let client = Client::builder(TokioExecutor::new()).build_http();
        Chat {
            base,
            client,
            stop: Some(stop),
            server,
        }
    }

    async fn post(&self, body: &str) -> (u16, String) {
        let request = http::Request::post(format!("{}/messages", self.base))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .unwrap();
        let response = self.client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn events(&self, last_event_id: Option<&str>) -> EventSource {
        let mut request = http::Request::get(format!("{}/events", self.base));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let request = request.body(Full::new(Bytes::new())).unwrap();
        let response = self.client.request(request).await.unwrap();
        Unmarshal::new(response).to::<EventSource>().await.unwrap()
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(5), self.server)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

async fn take(events: &mut EventSource, n: usize) -> Vec<ServerSentEvent> {
    let mut got = Vec::new();
    while got.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("an event in time")
            .expect("the stream goes on")
            .unwrap();
        got.push(event);
    }
    got
}

fn texts(events: &[ServerSentEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let message: serde_json::Value = serde_json::from_str(e.data()).unwrap();
            format!(
                "{}: {}",
                message["name"].as_str().unwrap(),
                message["text"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_new_page_gets_the_history_and_a_reconnecting_one_resumes() {
    let chat = Chat::start().await;
    for (name, text) in [("ann", "hi"), ("bob", "hello\nthere"), ("ann", "bye")] {
        let body = serde_json::json!({ "name": name, "text": text }).to_string();
        let (status, _id) = chat.post(&body).await;
        assert_eq!(status, 201);
    }

    // A page that was just opened (or refreshed) sends no Last-Event-ID and
    // gets the whole history.
    let mut fresh = chat.events(None).await;
    let history = take(&mut fresh, 3).await;
    assert_eq!(
        texts(&history),
        ["ann: hi", "bob: hello\nthere", "ann: bye"]
    );

    // An EventSource that lost its connection after the first message
    // resumes after it: nothing lost, nothing repeated.
    let first_id = history[0].id().unwrap();
    let mut resumed = chat.events(Some(first_id)).await;
    let rest = take(&mut resumed, 2).await;
    assert_eq!(texts(&rest), ["bob: hello\nthere", "ann: bye"]);

    // Both then receive new messages live.
    let (status, _) = chat.post(r#"{"name":"cy","text":"late"}"#).await;
    assert_eq!(status, 201);
    assert_eq!(texts(&take(&mut fresh, 1).await), ["cy: late"]);
    assert_eq!(texts(&take(&mut resumed, 1).await), ["cy: late"]);
    chat.stop().await;
}

#[tokio::test]
async fn bad_posts_are_refused_and_published_nothing() {
    let chat = Chat::start().await;
    let too_long = serde_json::json!({ "name": "x", "text": "y".repeat(5000) }).to_string();
    let cases = [
        ("not json", 400),
        (r#"{"name":"ann"}"#, 400),
        (r#"{"name":"","text":"hi"}"#, 400),
        (r#"{"name":"ann","text":5}"#, 400),
        (too_long.as_str(), 413),
    ];
    for (body, want) in cases {
        let (status, reason) = chat.post(body).await;
        assert_eq!(status, want, "{body:.40}: {reason}");
    }
    // Only the valid message ever reaches a page: the history has just it.
    let (status, _) = chat
        .post(r#"{"name":"ann","text":"ok","admin":true}"#)
        .await;
    assert_eq!(status, 201);
    let mut page = chat.events(None).await;
    let history = take(&mut page, 1).await;
    assert_eq!(history[0].data(), r#"{"name":"ann","text":"ok"}"#);
    chat.stop().await;
}
