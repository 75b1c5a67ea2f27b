#!/usr/bin/env node
// A small Server-Sent Events server that is not ours: Node's plain `http` module, no
// packages, written from the WHATWG spec (the companion of sse_server.py).
//
// Usage: node tests/third_party/sse_server.mjs [N]
//
// Binds 127.0.0.1 on a free port and prints the port as the first line of its standard
// output. GET /events serves events 1..N (default 40) over HTTP/1.1 chunked encoding:
//
//   : comment                      (before every third event)
//   id: <n>
//   event: alpha|beta              (none when n % 3 == 0: the type is "message")
//   data:event <n>
//   data: of <N>
//   data:  indented                (even n only: the value keeps one leading space)
//
// Line ends vary with n: LF (n % 3 == 1), CR alone (n % 3 == 2), CRLF (n % 3 == 0).
// Every event goes out in two writes, two HTTP chunks: split between the CR and the LF
// of its first CRLF, or in the middle.
//
// The stream starts with ": hello" and "retry: 50". It resumes after the Last-Event-ID
// request header; after every 7 events it has sent on a connection it writes half of the
// next event and resets the connection (RST), as a flaky network would. Once the client
// has every event (Last-Event-ID is N) it answers 204 No Content. Requests without
// "text/event-stream" in Accept get 406; other paths 404.
//
// It exits by itself when its standard input closes or after 60 seconds.
import http from 'node:http';

const LIFETIME_MS = 60_000;
const DROP_EVERY = 7;
const total = Number(process.argv[2] ?? 40);
if (!Number.isInteger(total) || total < 1) {
  console.error('usage: node tests/third_party/sse_server.mjs [N]');
  process.exit(1);
}

function eventText(n) {
  const nl = ['\r\n', '\n', '\r'][n % 3];
  const lines = [];
  if (n % 3 === 0) lines.push(': comment');
  lines.push(`id: ${n}`);
  if (n % 3 !== 0) lines.push(`event: ${n % 2 ? 'alpha' : 'beta'}`);
  lines.push(`data:event ${n}`, `data: of ${total}`);
  if (n % 2 === 0) lines.push('data:  indented');
  return lines.join(nl) + nl + nl;
}

// Two chunks: between CR and LF of the first CRLF, or in the middle.
function halves(text) {
  const crlf = text.indexOf('\r\n');
  const cut = crlf >= 0 ? crlf + 1 : Math.floor(text.length / 2);
  return [text.slice(0, cut), text.slice(cut)];
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function serveEvents(req, res) {
  if (!(req.headers.accept ?? '').includes('text/event-stream')) {
    res.writeHead(406, { 'Content-Type': 'text/plain' }).end('Accept: text/event-stream, please\n');
    return;
  }
  const last = Number.parseInt(req.headers['last-event-id'] ?? '', 10);
  const start = Number.isInteger(last) ? last + 1 : 1;
  if (start > total) {
    res.writeHead(204).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  res.write(': hello\n\nretry: 50\n\n');
  let sent = 0;
  for (let n = start; n <= total; n++) {
    if (res.destroyed) return; // the client went away
    if (sent === DROP_EVERY) {
      const text = eventText(n);
      res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.resetAndDestroy());
      return;
    }
    for (const part of halves(eventText(n))) {
      res.write(part);
      await tick();
    }
    sent += 1;
  }
  res.end(); // everything sent: a clean end; the client comes back for 204
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method !== 'GET' || path !== '/events') {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  serveEvents(req, res).catch((e) => {
    console.error(`sse_server.mjs: ${e.stack ?? e}`);
    res.destroy();
  });
});

server.listen(0, '127.0.0.1', () => {
  console.log(server.address().port);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), LIFETIME_MS);
