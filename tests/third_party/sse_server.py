#!/usr/bin/env python3
"""A small Server-Sent Events server that is not ours: standard library only.

Usage: sse_server.py [N]

Binds 127.0.0.1 on a free port and prints the port as the first line of its
standard output. GET /events serves events 1..N (default 50):

    retry: 50
    id: <n>
    event: tick|tock
    data: event <n>
    data: of <N>

It resumes after the Last-Event-ID request header, and after every 7 events
it has sent on a connection it writes half of the next event and drops the
connection abruptly (a TCP reset), as a flaky network would. Once the client
has every event (Last-Event-ID is N) it answers 204 No Content: the stream is
over. Requests without "text/event-stream" in Accept get 406.

It exits by itself when its standard input closes or after 60 seconds.
"""

import io
import os
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIFETIME_SECONDS = 60
DROP_EVERY = 7


def event_text(n, total):
    kind = "tick" if n % 2 else "tock"
    # Some events use CRLF line ends, which the format allows too.
    nl = "\r\n" if n % 3 == 0 else "\n"
    lines = [
        "id: %d" % n,
        "event: %s" % kind,
        "data: event %d" % n,
        "data: of %d" % total,
    ]
    return nl.join(lines) + nl + nl


class Handler(BaseHTTPRequestHandler):
    total = 50

    def log_message(self, format, *args):  # quiet
        pass

    def do_GET(self):
        if self.path.split("?")[0] != "/events":
            self.send_error(404)
            return
        if "text/event-stream" not in self.headers.get("Accept", ""):
            self.send_error(406, "Accept: text/event-stream, please")
            return
        last = self.headers.get("Last-Event-ID")
        try:
            start = int(last) + 1 if last else 1
        except ValueError:
            start = 1
        if start > self.total:
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b": hello\n\nretry: 50\n\n")
        sent = 0
        for n in range(start, self.total + 1):
            if sent == DROP_EVERY:
                partial = event_text(n, self.total).encode()
                self.wfile.write(partial[: len(partial) // 2])
                self.wfile.flush()
                self.drop()
                return
            self.wfile.write(event_text(n, self.total).encode())
            self.wfile.flush()
            sent += 1
        # Everything sent: a clean end; the client comes back for 204.

    def drop(self):
        """Closes the connection with a reset instead of a FIN."""
        self.close_connection = True
        sock = self.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.wfile.close()
        self.rfile.close()
        sock.close()
        # The handler flushes and closes its files after do_GET: give it some
        # that are not the closed socket's.
        self.wfile = io.BytesIO()
        self.rfile = io.BytesIO()


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    Handler.total = total
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)

    def exit_when_stdin_closes():
        try:
            while sys.stdin.buffer.read(1024):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    timer = threading.Timer(LIFETIME_SECONDS, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    server.serve_forever()


if __name__ == "__main__":
    main()
