//! The checks behind the HTTP/1.1 targets: `http1_head` (the server's
//! direct path against hyper, [`head`]) and `response_head` (its response
//! head writer, [`response`]).

pub mod head;
pub mod response;

pub use head::check_head;
pub use response::check_response_head;
