//! The end-to-end tests of `routing_e2e/cases.rs` with the direct HTTP/1.1
//! path switched off: hyper reads every request.

#[path = "../routing_e2e/cases.rs"]
mod cases;

fn config() -> sse_routing::ServerConfig {
    sse_routing::ServerConfig::new().with_direct_http1(false)
}
