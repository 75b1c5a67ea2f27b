//! The examples as the processes `cargo run --example` starts: `cargo test`
//! builds them beside the tests, and a test runs one on a free port
//! (`PORT=0`) and reads where it serves from the line it prints.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::within;

/// The example binary `name`, built by `cargo test` next to the test
/// binary that asks.
pub fn example_path(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test binary");
    let profile_dir = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    profile_dir.join("examples").join(name)
}

/// A running example: killed when dropped.
#[derive(Debug)]
pub struct Example {
    /// The process.
    pub child: Child,
    /// The URL it says it serves, e.g. `http://127.0.0.1:41234/`.
    pub url: String,
}

impl Example {
    /// Starts example `name` on a free port with the environment `env`.
    pub async fn start<K, V>(name: &str, env: &[(K, V)]) -> Example
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut command = Command::new(example_path(name));
        command
            .env("PORT", "0")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("example {name} does not run: {error}"));
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let url = within("the example says where it serves", async {
            loop {
                let line = lines
                    .next_line()
                    .await
                    .expect("its stderr")
                    .unwrap_or_else(|| panic!("example {name} exited without serving"));
                if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http")) {
                    return url.to_owned();
                }
            }
        })
        .await;
        // Keep draining stderr, so that the example never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Example { child, url }
    }

    /// The `host:port` it serves on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.url
            .split("://")
            .nth(1)
            .map(|rest| rest.trim_end_matches('/'))
            .and_then(|authority| authority.parse().ok())
            .unwrap_or_else(|| panic!("no address in {}", self.url))
    }

    /// Kills it at once (SIGKILL): its connections drop.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}
