#!/usr/bin/env node
// Measures real clients against tests/conformance/vectors.txt: Chromium's EventSource
// and the npm `eventsource` package. Not part of `cargo test`; run it by hand when the
// vectors change, and record what disagrees as `known_difference` lines in the file.
//
//   bash scripts/setup-browser.sh                 # once: /usr/bin/chromium, .tools/node
//   node tests/conformance/measure.mjs [--only <substring>] [--concurrency N]
//
// For every case a Node HTTP server on 127.0.0.1:0 (its own port, so that Chromium's
// six-connections-per-host limit never serializes the cases) serves
//   /                  a page that opens `new EventSource('/stream/chromium')`,
//   /stream/<client>   the case's connections, one per request, byte for byte, as
//                      `200 text/event-stream`; after the last one `204 No Content`,
//                      which stops the client for good.
// Every `message`-like event is recorded as {type, data, lastEventId}; the listeners
// cover every type the case expects and every value of an `event` line in its input.
// The `Last-Event-ID` header of the request that follows the last connection is the
// client's final last event ID string (no header: the empty string; no such request at
// all within the deadline: null), compared without leading and trailing spaces, which
// HTTP strips from header values. Reconnection times
// are not measured. Output: one line per case and client that matched, and the full
// expected and measured outcome of each that did not. Exit status 0 either way (a
// difference is a finding to record, not a failure); 1 if a client could not run.
//
// Needs playwright-core and eventsource in .tools/node/node_modules (setup-browser.sh
// installs them from tests/browser/package.json) and /usr/bin/chromium (or $CHROMIUM).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const requireTools = createRequire(join(ROOT, '.tools', 'node', 'package.json'));

// --- arguments --------------------------------------------------------------------------
let only = null;
let concurrency = 8;
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--only') only = process.argv[++i];
  else if (process.argv[i] === '--concurrency') concurrency = Number(process.argv[++i]);
  else { console.error(`unknown argument ${process.argv[i]}`); process.exit(2); }
}

// --- the vectors file (the format is documented at its top) -----------------------------
function parseLiteral(s) {
  if (s[0] !== '"') throw new Error(`expected a string literal at ${JSON.stringify(s)}`);
  const out = [];
  let i = 1;
  const utf8 = (cp) => out.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
  for (;;) {
    if (i >= s.length) throw new Error('unterminated literal');
    const c = s[i];
    if (c === '"') { i++; break; }
    if (c === '\\') {
      const e = s[i + 1];
      i += 2;
      if (e === 'n') out.push(10);
      else if (e === 'r') out.push(13);
      else if (e === 't') out.push(9);
      else if (e === '0') out.push(0);
      else if (e === '\\') out.push(92);
      else if (e === '"') out.push(34);
      else if (e === 'x') { out.push(parseInt(s.slice(i, i + 2), 16)); i += 2; }
      else if (e === 'u') {
        const end = s.indexOf('}', i);
        utf8(parseInt(s.slice(i + 1, end), 16));
        i = end + 1;
      } else throw new Error(`unknown escape \\${e}`);
      continue;
    }
    const cp = s.codePointAt(i);
    utf8(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  let bytes = out;
  const m = /^\*(\d+)/.exec(s.slice(i));
  if (m) {
    bytes = [];
    for (let k = 0; k < Number(m[1]); k++) bytes.push(...out);
    i += m[0].length;
  }
  return [Buffer.from(bytes), s.slice(i)];
}

function parseLiterals(s) {
  const parts = [];
  let rest = s.trim();
  while (rest.length) {
    const [bytes, after] = parseLiteral(rest);
    parts.push(bytes);
    rest = after.trim();
  }
  return Buffer.concat(parts);
}

const text = (bytes) => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);

function parseVectors(source) {
  const cases = [];
  let c = null;
  source.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (!line.trim() || line.startsWith('#')) return;
    if (line === 'reconnect') { c.connections.push([]); return; }
    const colon = line.indexOf(':');
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === 'case') {
      c = { name: value, line: index + 1, connections: [[]], events: [] };
      cases.push(c);
    } else if (key === 'input') c.connections[c.connections.length - 1].push(parseLiterals(value));
    else if (key === 'event') {
      const e = {};
      let rest = value;
      for (const k of ['type', 'data', 'last_event_id']) {
        rest = rest.trimStart().slice(k.length + 1);
        const [bytes, after] = parseLiteral(rest);
        e[k] = text(bytes);
        rest = after;
      }
      c.events.push({ type: e.type, data: e.data, lastEventId: e.last_event_id });
    } else if (key === 'final_last_event_id') c.finalLastEventId = text(parseLiteral(value)[0]);
    else if (key === 'known_difference') (c.known ??= []).push(value);
  });
  for (const k of cases) k.connections = k.connections.map((parts) => Buffer.concat(parts));
  return cases;
}

/** Every type a case may dispatch: the expected ones, and each `event` line's value. */
function typesOf(c) {
  const types = new Set(['message', ...c.events.map((e) => e.type)]);
  for (const bytes of c.connections) {
    for (const line of bytes.toString('utf8').split(/\r\n|\r|\n/)) {
      if (line === 'event' ) continue;
      if (line.startsWith('event:')) {
        const v = line.slice(6);
        types.add(v.startsWith(' ') ? v.slice(1) : v);
      }
    }
  }
  types.delete('');
  return [...types];
}

// --- one server per case ----------------------------------------------------------------
async function serve(c) {
  const state = { chromium: { requests: 0, final: null }, node: { requests: 0, final: null } };
  const page = `<!doctype html><meta charset="utf-8"><script>
    window.__log = []; window.__done = false;
    const es = new EventSource('/stream/chromium');
    for (const t of ${JSON.stringify(typesOf(c))}) {
      es.addEventListener(t, (e) => window.__log.push({ type: e.type, data: e.data, lastEventId: e.lastEventId }));
    }
    es.onerror = () => { if (es.readyState === EventSource.CLOSED) window.__done = true; };
  </script>`;
  const server = createServer((req, res) => {
    const m = /^\/stream\/(chromium|node)$/.exec(req.url);
    if (!m) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
      return;
    }
    const s = state[m[1]];
    const k = s.requests++;
    if (k < c.connections.length) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end(c.connections[k]);
    } else {
      if (k === c.connections.length) {
        // Node hands header values over as Latin-1: get the bytes back, then UTF-8.
        const raw = req.headers['last-event-id'] ?? '';
        s.final = Buffer.from(raw, 'latin1').toString('utf8');
      }
      res.writeHead(204);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, state, port: server.address().port };
}

const deadline = (c) => 4000 * (c.connections.length + 1) + 3000;

async function measureChromium(browser, c, served) {
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${served.port}/`);
    await page.waitForFunction(() => window.__done, null, { timeout: deadline(c) }).catch(() => {});
    const events = await page.evaluate(() => window.__log);
    return { events, finalLastEventId: served.state.chromium.final };
  } finally {
    await page.close();
  }
}

async function measureNode(EventSource, c, served) {
  const events = [];
  const es = new EventSource(`http://127.0.0.1:${served.port}/stream/node`);
  for (const t of typesOf(c)) {
    es.addEventListener(t, (e) => events.push({ type: e.type, data: e.data, lastEventId: e.lastEventId }));
  }
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, deadline(c));
    es.onerror = () => {
      if (es.readyState === es.CLOSED) { clearTimeout(timer); resolve(); }
    };
  });
  es.close();
  return { events, finalLastEventId: served.state.node.final };
}

// HTTP drops leading and trailing spaces and tabs of a header value (they are optional
// whitespace), so the final last event ID is compared without them.
const ows = (s) => (typeof s === 'string' ? s.replace(/^[ \t]+|[ \t]+$/g, '') : s);

function same(c, measured) {
  return JSON.stringify(measured.events) === JSON.stringify(c.events)
    && ows(measured.finalLastEventId) === ows(c.finalLastEventId);
}

const show = (x) => JSON.stringify(x);

// --- main -------------------------------------------------------------------------------
const cases = parseVectors(readFileSync(join(HERE, 'vectors.txt'), 'utf8'))
  .filter((c) => only === null || c.name.includes(only));

let chromium;
let EventSource;
let nodeVersion;
try {
  ({ chromium } = requireTools('playwright-core'));
  ({ EventSource } = requireTools('eventsource'));
  nodeVersion = requireTools('eventsource/package.json').version;
} catch (e) {
  console.error(`measure: ${e.message}\nmeasure: run bash scripts/setup-browser.sh first`);
  process.exit(1);
}
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
});
const clients = [
  [`Chromium ${browser.version()}`, (c, s) => measureChromium(browser, c, s)],
  [`npm eventsource ${nodeVersion} (Node ${process.version})`, (c, s) => measureNode(EventSource, c, s)],
];
console.log(`measure: ${cases.length} cases; clients: ${clients.map(([n]) => n).join(', ')}`);

const differences = [];
let stale = 0;
let unrecorded = 0;
let next = 0;
async function worker() {
  while (next < cases.length) {
    const c = cases[next++];
    const served = await serve(c);
    try {
      const results = await Promise.all(clients.map(([, run]) => run(c, served)));
      results.forEach((measured, i) => {
        const client = clients[i][0];
        // Whether vectors.txt records a difference for this client (by its name).
        const recorded = (c.known ?? []).some((k) => k.startsWith(client.split(' ')[0]));
        if (same(c, measured)) {
          console.log(`same       ${client}: ${c.name}${recorded ? '  (STALE known_difference)' : ''}`);
          if (recorded) stale++;
        } else {
          console.log(`DIFFERENT  ${client}: ${c.name}${recorded ? '  (recorded)' : '  (NOT RECORDED)'}`);
          differences.push({ client, c, measured });
          if (!recorded) unrecorded++;
        }
      });
    } finally {
      served.server.closeAllConnections();
      served.server.close();
    }
  }
}
try {
  await Promise.all(Array.from({ length: concurrency }, worker));
} finally {
  await browser.close();
}

for (const { client, c, measured } of differences) {
  console.log(`\n=== ${client}: ${c.name} (vectors.txt:${c.line})`);
  console.log(`  expected: ${c.events.map(show).join('\n            ')}`);
  console.log(`            final last event id ${show(c.finalLastEventId)}`);
  console.log(`  measured: ${measured.events.map(show).join('\n            ')}`);
  console.log(`            final last event id ${show(measured.finalLastEventId)}`);
}
console.log(`\nmeasure: ${differences.length} differences in ${cases.length} cases x ${clients.length} clients; `
  + `${unrecorded} not recorded in vectors.txt, ${stale} recorded ones no longer seen`);
