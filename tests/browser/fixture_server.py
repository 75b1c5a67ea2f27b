#!/usr/bin/env python3
"""Stand-in SSE server (Python standard library only) for exercising the browser test
harness tests/browser/eventsource_page.mjs without the Rust code.

    python3 tests/browser/fixture_server.py [--port 0] [--empty-heartbeats] [--lifetime 120]

Listens on 127.0.0.1 (port 0 = ephemeral) and prints one line to stdout,
`listening http://127.0.0.1:PORT/`, once it accepts connections. Serves:
  /        an HTML page satisfying the page contract documented in eventsource_page.mjs
  /events  text/event-stream: `data:<time>\\n\\n` every 0.5 s with a `:\\n\\n` comment
           heartbeat in between. With --empty-heartbeats the heartbeat is `data:\\n\\n`
           instead (a WRONG heartbeat that browsers deliver as an empty message): the
           harness must fail against that mode. --filter-empty-page makes the page skip
           empty messages, to show the harness's own EventSource recorder still sees them.
Exits by itself after --lifetime seconds (0 = never) so it can never be left running.
"""
import argparse
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The page contract: <ol id="ticks">, window.sseMessages, window.sseOpenCount.
PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>SSE clock (fixture)</title></head>
<body>
<h1>SSE clock</h1>
<ol id="ticks"></ol>
<script>
  window.sseMessages = [];   // data of every `message` event, in order
  window.sseOpenCount = 0;   // number of `open` events (1 + reconnects)
  const FILTER_EMPTY = %s;
  const es = new EventSource('/events');
  es.onopen = () => { window.sseOpenCount += 1; };
  es.onmessage = (e) => {
    if (FILTER_EMPTY && e.data === '') return;  // only with --filter-empty-page
    window.sseMessages.push(e.data);
    const li = document.createElement('li');
    li.textContent = e.data;
    document.getElementById('ticks').appendChild(li);
  };
</script>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    empty_heartbeats = False  # set from the command line
    filter_empty_page = False

    def log_message(self, fmt, *args):  # keep stderr quiet; one line per request
        sys.stderr.write("fixture: %s %s\n" % (self.command, self.path))

    def do_GET(self):
        if self.path == "/":
            page = PAGE % (b"true" if self.filter_empty_page else b"false")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
        elif self.path == "/events":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()  # HTTP/1.0: the body runs until we close
            heartbeat = b"data:\n\n" if self.empty_heartbeats else b":\n\n"
            try:
                while True:  # wfile is unbuffered: every write goes straight out
                    now = time.time()  # e.g. data:14:02:07.250
                    stamp = time.strftime("%H:%M:%S", time.localtime(now))
                    stamp += ".%03d" % int(now * 1000 % 1000)
                    self.wfile.write(b"data:" + stamp.encode() + b"\n\n")
                    time.sleep(0.25)
                    self.wfile.write(heartbeat)
                    time.sleep(0.25)
            except (BrokenPipeError, ConnectionResetError):
                pass  # client went away
        else:
            self.send_error(404)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--empty-heartbeats", action="store_true",
                    help="send `data:\\n\\n` (an empty message) instead of `:\\n\\n`")
    ap.add_argument("--lifetime", type=float, default=120.0,
                    help="exit after this many seconds (0 = run until killed)")
    ap.add_argument("--filter-empty-page", action="store_true",
                    help="page hides empty messages (the harness must still catch them)")
    args = ap.parse_args()
    Handler.filter_empty_page = args.filter_empty_page
    Handler.empty_heartbeats = args.empty_heartbeats
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True  # open /events streams never block exit
    print("listening http://127.0.0.1:%d/" % server.server_address[1], flush=True)
    if args.lifetime > 0:
        timer = threading.Timer(args.lifetime, server.shutdown)
        timer.daemon = True
        timer.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
