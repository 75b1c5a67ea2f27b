//! Our server against clients we did not write: `scripts/interop.sh` runs the
//! scripted scenario of `examples/interop_server.rs` with headless Chromium's
//! `EventSource`, the npm `eventsource` package and Python's `httpx-sse`, and
//! compares what each received with `tests/interop/expected.json`, and what
//! the server saw of each (`Last-Event-ID`, the `retry:` delay, the stop on
//! 204) with the scenario.
//!
//! The script installs what it needs (through `scripts/setup-browser.sh`, and
//! a virtual environment in `.tools/venv`; a no-op once done) and builds the
//! server with cargo. Set `SSE_SKIP_BROWSER=1` to skip it on a machine that
//! cannot install them, as for `tests/browser.rs`.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// A first run installs Chromium, npm and PyPI packages; later runs take
/// seconds.
const LIMIT: Duration = Duration::from_secs(20 * 60);

#[tokio::test]
async fn real_clients_receive_the_scripted_scenario() {
    if std::env::var_os("SSE_SKIP_BROWSER").is_some() {
        eprintln!("SSE_SKIP_BROWSER is set: skipping the interop test");
        return;
    }
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/interop.sh"))
        .current_dir(ROOT)
        // All three clients, against the server built from this tree.
        // INTEROP_BREAK passes through: `INTEROP_BREAK=wrong-id cargo test
        // --test interop` must fail, which proves this test can.
        .env_remove("INTEROP_CLIENTS")
        .env_remove("INTEROP_SERVER_BIN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run bash scripts/interop.sh");
    let pid = child.id().expect("the script runs");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let read = |mut pipe: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
        tokio::spawn(async move {
            let mut text = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut text).await;
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let (stdout, stderr) = (read(Box::new(stdout)), read(Box::new(stderr)));

    let status = match tokio::time::timeout(LIMIT, child.wait()).await {
        Ok(status) => Some(status.expect("wait for the script")),
        Err(_) => {
            // SIGTERM first, so that the script's trap stops the server and
            // the clients; kill_on_drop does the rest.
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
            let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
            None
        }
    };
    let stdout = stdout.await.unwrap();
    let stderr = stderr.await.unwrap();
    let output = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    match status {
        None => panic!("scripts/interop.sh took more than {LIMIT:?}\n{output}"),
        Some(status) => assert!(
            status.success(),
            "scripts/interop.sh failed ({status})\n{output}"
        ),
    }
    assert!(
        stdout.contains("interop: 3 passed, 0 failed"),
        "unexpected summary\n{output}"
    );
    println!("{stdout}\n(interop: {:?})", started.elapsed());
}
