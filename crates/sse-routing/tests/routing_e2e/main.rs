//! The end-to-end tests of `sse-routing` (see `cases.rs`) with the default
//! configuration: HTTP/1.1 requests without a body go through the direct
//! writer. `routing_e2e_via_hyper` runs the same cases through hyper.

mod cases;

fn config() -> sse_routing::ServerConfig {
    sse_routing::ServerConfig::new()
}
