#!/usr/bin/env node
// Interop client 2: the npm `eventsource` package (pinned in tests/browser/package.json,
// installed into .tools/node by scripts/setup-browser.sh), a WHATWG EventSource for Node
// on top of fetch.
//
//   node tests/interop/npm_eventsource.mjs <server-base-url> <client-key> [--timeout-ms T]
//
// Connects to <base>/events?client=<key> and lets the library do everything: reconnect
// when the server ends the stream, wait what `retry:` says, send Last-Event-ID, stop on
// 204 (readyState CLOSED). Prints one JSON line when CLOSED or after T ms (default 15000):
//   {"client":"npm-eventsource","events":[{type,data,lastEventId}...],"stopped":bool,...}
// Exit 0 when the run completed (the harness judges the events), 1 on an error.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [base, key, ...rest] = process.argv.slice(2);
let TIMEOUT = 15000;
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--timeout-ms') TIMEOUT = Number(rest[++i]);
  else { console.error(`unexpected argument: ${rest[i]}`); process.exit(1); }
}
if (!base || !key || !Number.isInteger(TIMEOUT) || TIMEOUT < 1) {
  console.error('usage: node tests/interop/npm_eventsource.mjs <server-base-url> <client-key> [--timeout-ms T]');
  process.exit(1);
}

const requireTools = createRequire(join(ROOT, '.tools', 'node', 'noop.js'));
let EventSource, version;
try {
  ({ EventSource } = requireTools('eventsource'));
  ({ version } = requireTools('eventsource/package.json'));
} catch {
  console.error('npm eventsource not found in .tools/node: run `bash scripts/setup-browser.sh` first');
  process.exit(1);
}

const url = new URL(`/events?client=${encodeURIComponent(key)}`, base).href;
const started = Date.now();
const received = [];
const errors = [];
let opens = 0;
const es = new EventSource(url);
// Named events reach only listeners for their type, as in a browser.
for (const type of ['message', 'greeting', 'final']) {
  es.addEventListener(type, (e) => received.push({ type: e.type, data: e.data, lastEventId: e.lastEventId }));
}
es.addEventListener('open', () => { opens += 1; });

const stopped = await new Promise((resolve) => {
  const timer = setTimeout(() => resolve(false), TIMEOUT);
  es.addEventListener('error', (e) => {
    errors.push({ readyState: es.readyState, code: e.code ?? null, message: e.message ?? null, at: Date.now() - started });
    if (es.readyState === es.CLOSED) { clearTimeout(timer); resolve(true); }
  });
});
es.close();
console.log(JSON.stringify({
  client: 'npm-eventsource',
  library: `npm eventsource ${version} on Node ${process.version}`,
  events: received,
  stopped,
  opens,
  errors,
  elapsed_ms: Date.now() - started,
  notes: [],
}));
