//! A `Route` inside other servers, over real sockets: mounted in an axum 0.8
//! `Router` beside axum's own handlers (`fallback_service`, `nest_service`,
//! `route_service`), behind tower-http layers, and served by hyper and
//! hyper-util connections directly. And the `axum` features for users who
//! keep axum's routing: `EventStream` as a response, `LastEventId` as an
//! extractor.

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sse_marshal::{EventSource, EventStream, Unmarshal};
use sse_model::{LastEventId, ServerSentEvent};
use sse_routing::{path, Route};
use sse_test_support::{within, Live};
use tokio::net::{TcpListener, TcpStream};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Our route: `/events` sends "a", "b", then stays open (counted by
/// `live`); `/hello` says hello.
fn sse_route(live: &Live) -> Route {
    let live = live.clone();
    path("events")
        .get()
        .complete(move || {
            let guard = live.guard();
            stream::iter([ServerSentEvent::new("a"), ServerSentEvent::new("b")])
                .chain(stream::pending())
                .map(move |event| {
                    let _ = &guard;
                    event
                })
        })
        .or(path("hello").get().complete("hello from sse-routing"))
}

/// Serves `router` with `axum::serve` on `127.0.0.1:0`.
async fn serve_axum(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn get_from(addr: SocketAddr, path: &str) -> http::Response<Incoming> {
    get_with(addr, path, None).await
}

async fn get_with(
    addr: SocketAddr,
    path: &str,
    last_event_id: Option<&str>,
) -> http::Response<Incoming> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::get(path).header("host", "localhost");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let request = request.body(Empty::<Bytes>::new()).unwrap();
    within("a response", sender.send_request(request))
        .await
        .unwrap()
}

async fn text(response: http::Response<Incoming>) -> String {
    let body = within("the body", response.into_body().collect())
        .await
        .unwrap();
    String::from_utf8(body.to_bytes().to_vec()).unwrap()
}

/// The first two events of an event stream response.
async fn first_two(response: http::Response<Incoming>) -> (Vec<String>, EventSource) {
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = Unmarshal::new(response).to::<EventSource>().await.unwrap();
    let mut datas = Vec::new();
    for _ in 0..2 {
        let event = within("an event", events.next()).await.unwrap().unwrap();
        datas.push(event.data().to_owned());
    }
    (datas, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_is_an_axum_fallback_beside_axum_handlers() {
    let live = Live::default();
    let router = Router::new()
        .route("/api", get(|| async { "hello from axum" }))
        .fallback_service(sse_route(&live));
    let addr = serve_axum(router).await;

    assert_eq!(text(get_from(addr, "/api").await).await, "hello from axum");
    assert_eq!(
        text(get_from(addr, "/hello").await).await,
        "hello from sse-routing"
    );
    let (datas, events) = first_two(get_from(addr, "/events").await).await;
    assert_eq!(datas, ["a", "b"]);
    assert_eq!(live.count(), 1);
    drop(events);
    live.wait_for(0, "the source is dropped when the client leaves")
        .await;
    assert_eq!(
        get_from(addr, "/nowhere").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_is_nested_or_mounted_at_one_path() {
    let live = Live::default();
    let router = Router::new()
        // `nest_service` strips the prefix: the route sees `/events`.
        .nest_service("/sse", sse_route(&live))
        .route_service("/events", sse_route(&live))
        .route("/", get(|| async { "home" }));
    let addr = serve_axum(router).await;

    let (datas, nested) = first_two(get_from(addr, "/sse/events").await).await;
    assert_eq!(datas, ["a", "b"]);
    let (datas, exact) = first_two(get_from(addr, "/events").await).await;
    assert_eq!(datas, ["a", "b"]);
    assert_eq!(text(get_from(addr, "/").await).await, "home");
    assert_eq!(live.count(), 2);
    drop((nested, exact));
    live.wait_for(0, "the sources are dropped").await;
}

/// tower-http's layers wrap the route like any service: the timeout bounds
/// the time to the response head, and an event stream keeps flowing after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_behind_tower_http_layers() {
    let live = Live::default();
    let router = Router::new()
        .fallback_service(sse_route(&live))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(200),
        ))
        .layer(TraceLayer::new_for_http());
    let addr = serve_axum(router).await;
    let (datas, mut events) = first_two(get_from(addr, "/events").await).await;
    assert_eq!(datas, ["a", "b"]);
    // Past the timeout the stream is still open (it is only quiet).
    tokio::time::sleep(Duration::from_millis(400)).await;
    let still_open = tokio::time::timeout(Duration::from_millis(100), events.next()).await;
    assert!(still_open.is_err(), "the stream ended: {still_open:?}");
    drop(events);
    live.wait_for(0, "the source is dropped").await;
}

/// hyper's own connection and hyper-util's auto-detecting one serve a
/// route as their service, with no adapter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_and_hyper_util_connections_serve_a_route_directly() {
    let live = Live::default();
    let route = sse_route(&live);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for n in 0.. {
            let (stream, _) = listener.accept().await.unwrap();
            let route = route.clone();
            tokio::spawn(async move {
                let io = TokioIo::new(stream);
                if n % 2 == 0 {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, route)
                        .await;
                } else {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(io, route)
                        .await;
                }
            });
        }
    });
    for _ in 0..2 {
        let (datas, events) = first_two(get_from(addr, "/events").await).await;
        assert_eq!(datas, ["a", "b"]);
        drop(events);
        live.wait_for(0, "the source is dropped").await;
    }
}

/// With the `axum` features, axum's own routing serves event streams:
/// `EventStream` is a response, `Option<LastEventId>` an extractor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_handlers_return_event_streams_and_extract_the_last_event_id() {
    async fn resume(
        last: Option<LastEventId>,
    ) -> EventStream<impl futures_util::Stream<Item = ServerSentEvent>> {
        let start: u64 = last
            .and_then(|id| id.as_str().parse().ok())
            .map_or(0, |id: u64| id + 1);
        EventStream(stream::iter(
            (start..start + 2).map(|n| ServerSentEvent::new(n.to_string()).with_id(n)),
        ))
    }
    async fn required(last: LastEventId) -> String {
        format!("after {last}")
    }
    let router = Router::new()
        .route("/events", get(resume))
        .route("/required", get(required));
    let addr = serve_axum(router).await;

    let (datas, _) = first_two(get_with(addr, "/events", None).await).await;
    assert_eq!(datas, ["0", "1"]);
    let (datas, _) = first_two(get_with(addr, "/events", Some("41")).await).await;
    assert_eq!(datas, ["42", "43"]);
    let (datas, _) = first_two(get_with(addr, "/events", Some("")).await).await;
    assert_eq!(datas, ["0", "1"], "a malformed id starts afresh");

    assert_eq!(
        text(get_with(addr, "/required", Some("7")).await).await,
        "after 7"
    );
    let refused = get_with(addr, "/required", None).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}
