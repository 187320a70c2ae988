'use strict';
// Small helpers for the stream tests: open real clients (ws, eventsource,
// raw HTTP for SSE), collect what they receive, and compare it with the
// replay feed the daemon was given.
//
//   const c = require('./lib/clients');
//   const feed = c.loadFeed(c.feedPath());     // records in file order
//   const w = c.openWs(d.url('/', 'ws'));       // w.messages, w.heartbeats
//   await c.waitFor(() => w.messages.length >= 20, 5000, '20 messages');
//   c.checkInOrder(feed, w.messages);           // contiguous in feed order

const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const NODE_MODULES = path.resolve(__dirname, '..', '..', 'node', 'node_modules');
const ROOT = path.resolve(__dirname, '..', '..', '..');
const WebSocket = require(path.join(NODE_MODULES, 'ws'));
const { EventSource } = require(path.join(NODE_MODULES, 'eventsource'));

const SAMPLE_FEED = path.join(ROOT, 'tests', 'data', 'sample-feed.ndjson');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

// The feed the stream tests replay: real certificates, built by
// scripts/make-sample-feed.sh.
function feedPath() {
  assert.ok(fs.existsSync(SAMPLE_FEED), `${SAMPLE_FEED} missing: run scripts/make-sample-feed.sh`);
  return SAMPLE_FEED;
}

// GET url; resolves { status, body }.
function httpGet(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (x) => { body += x; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

// Every sample of a Prometheus text: "name{labels}" -> value.
function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

// One unlabelled sample of a Prometheus metric, or undefined.
async function metric(d, name) {
  const { body } = await httpGet(d.url('/metrics'));
  const m = body.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

// Wait until pred(value of the metric) holds.
async function waitForMetric(d, name, pred, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await metric(d, name);
    if (v !== undefined && pred(v)) return v;
    if (Date.now() > deadline) throw new Error(`${name} is ${v} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

// A record's identity across the three forms: its log and its index.
function keyOf(msg) {
  if (msg.message_type === 'dns_entries') return `${msg.source.url}#${msg.cert_index}`;
  return `${msg.data.source.url}#${msg.data.cert_index}`;
}

// Records of the feed file, in order, with a position index by key.
function loadFeed(file) {
  const records = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line);
    if (m.message_type !== 'certificate_update') continue;
    records.push(m);
  }
  const pos = new Map();
  records.forEach((m, i) => {
    const k = keyOf(m);
    assert.ok(!pos.has(k), `feed has ${k} twice: order checks need unique keys`);
    pos.set(k, i);
  });
  return { file, records, pos };
}

function confFor(file, { rate = 100, loop = true, extra = '' } = {}) {
  return [
    'source: replay',
    'replay:',
    `  file: ${JSON.stringify(file)}`,
    `  rate: ${rate}`,
    `  loop: ${loop}`,
    extra,
    '',
  ].join('\n');
}

// Each message is the feed record that follows the previous one (the feed
// loops): nothing lost, nothing reordered, nothing repeated.
function checkInOrder(feed, msgs, label = 'stream') {
  assert.ok(msgs.length > 0, `${label}: no messages`);
  let at = feed.pos.get(keyOf(msgs[0]));
  assert.notStrictEqual(at, undefined, `${label}: first message ${keyOf(msgs[0])} is not in the feed`);
  for (let i = 1; i < msgs.length; i++) {
    const want = (at + 1) % feed.records.length;
    const got = feed.pos.get(keyOf(msgs[i]));
    assert.strictEqual(got, want,
      `${label}: message ${i} is feed record ${got} (${keyOf(msgs[i])}), expected ${want}`);
    at = got;
  }
}

// The message matches its feed record in the given form, seen aside.
function checkForm(feed, msg, form) {
  const rec = feed.records[feed.pos.get(keyOf(msg))];
  assert.ok(rec, `unknown record ${keyOf(msg)}`);
  const nowS = Date.now() / 1000;
  // Every record carries its id (FORMAT.md), first, an exact integer.
  assert.ok(Number.isSafeInteger(msg.id) && msg.id >= 0, `id ${msg.id}`);
  assert.strictEqual(Object.keys(msg)[0], 'id');
  if (form === 'domains') {
    assert.strictEqual(msg.message_type, 'dns_entries');
    assert.deepStrictEqual(Object.keys(msg).sort(), ['cert_index', 'data', 'id', 'message_type', 'seen', 'source']);
    assert.deepStrictEqual(msg.data, rec.data.leaf_cert.all_domains);
    assert.strictEqual(msg.cert_index, rec.data.cert_index);
    assert.deepStrictEqual(msg.source, { url: rec.data.source.url, name: rec.data.source.name });
    assert.ok(Math.abs(nowS - msg.seen) < 30, `seen ${msg.seen} is not now (${nowS})`);
    return;
  }
  assert.strictEqual(msg.message_type, 'certificate_update');
  assert.ok(Math.abs(nowS - msg.data.seen) < 30, `seen ${msg.data.seen} is not now (${nowS})`);
  const want = structuredClone(rec);
  const got = structuredClone(msg);
  delete want.data.seen;
  delete got.data.seen;
  delete got.id;
  if (form === 'lite') {
    assert.ok(!('as_der' in msg.data.leaf_cert), 'lite has leaf_cert.as_der');
    assert.ok(!('chain' in msg.data), 'lite has chain');
    delete want.data.leaf_cert.as_der;
    delete want.data.chain;
  } else {
    assert.strictEqual(typeof msg.data.leaf_cert.as_der, 'string', 'full lacks leaf_cert.as_der');
    assert.ok(msg.data.leaf_cert.as_der.length > 0, 'full has an empty as_der');
    assert.ok(Array.isArray(msg.data.chain), 'full lacks chain');
    for (const c of msg.data.chain) assert.strictEqual(typeof c.as_der, 'string', 'chain member lacks as_der');
  }
  assert.deepStrictEqual(got, want);
}

// A WebSocket client that records every text frame, heartbeats apart.
function openWs(url, opts = {}) {
  // Without permessage-deflate unless asked (compression.test.js asks):
  // node's ws inflates each message asynchronously (the libuv threadpool,
  // an event-loop turn per message), so a test process busy with hundreds
  // of other connections reads a compressed stream far slower than a plain
  // one, and the tests' timing bounds assume the plain one.
  const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
  const c = {
    ws, url, messages: [], heartbeats: [], raw: 0, error: null, closed: null,
    opened: new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode} on ${url}`)));
    }),
    close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    },
  };
  c.opened.catch(() => {});
  ws.on('message', (data, isBinary) => {
    c.raw++;
    assert.ok(!isBinary, 'binary frame');
    const m = JSON.parse(data.toString('utf8'));
    if (m.message_type === 'heartbeat') c.heartbeats.push({ at: Date.now(), m });
    else c.messages.push(m);
  });
  ws.on('error', (e) => { c.error = e; });
  ws.on('close', (code, reason) => { c.closed = { code, reason: reason.toString() }; });
  return c;
}

// An SSE stream read with plain HTTP, parsed by hand: events with their
// ids, comment lines (heartbeats, skip notes), and `event: gap` notices
// apart, as EventSource dispatches them (parsed, with where they came).
function openSseRaw(url, headers = {}) {
  const c = {
    url, events: [], comments: [], gaps: [], status: 0, headers: null, error: null, ended: false,
    req: null,
    close() { if (c.req) c.req.destroy(); },
  };
  let buf = '';
  let ev = { id: null, data: [], event: null };
  c.ready = new Promise((resolve, reject) => {
    c.req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      c.status = res.statusCode;
      c.headers = res.headers;
      c.res = res; // res.pause(): a client that stops reading
      resolve(c);
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          let line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            if (ev.data.length && ev.event === 'gap') {
              c.gaps.push({ ...JSON.parse(ev.data.join('\n')), before: c.events.length, at: Date.now() });
            } else if (ev.data.length) {
              c.events.push({ id: ev.id, data: ev.data.join('\n'), at: Date.now() });
            }
            ev = { id: null, data: [], event: null };
          } else if (line.startsWith(':')) {
            c.comments.push({ text: line.slice(1).trim(), at: Date.now() });
          } else {
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            let value = i < 0 ? '' : line.slice(i + 1);
            if (value.startsWith(' ')) value = value.slice(1);
            if (field === 'id') ev.id = value;
            else if (field === 'event') ev.event = value;
            else if (field === 'data') ev.data.push(value);
          }
        }
      });
      res.on('end', () => { c.ended = true; });
      res.on('error', (e) => { c.error = e; });
    });
    c.req.on('error', (e) => { c.error = e; reject(e); });
  });
  c.ready.catch(() => {});
  return c;
}

// The eventsource package (a real browser-compatible client).
function openEventSource(url) {
  const es = new EventSource(url);
  const c = {
    es, url, events: [], errors: [],
    opened: new Promise((resolve, reject) => {
      es.addEventListener('open', resolve, { once: true });
      es.addEventListener('error', (e) => { if (es.readyState === EventSource.CLOSED) reject(e); }, { once: true });
    }),
    close() { es.close(); },
  };
  c.opened.catch(() => {});
  es.addEventListener('message', (e) => {
    c.events.push({ id: e.lastEventId, data: e.data, at: Date.now() });
  });
  es.addEventListener('error', (e) => { c.errors.push(e); });
  return c;
}

// CaliDog's certstream-python, as it reads a feed (lib/certstream_py.py:
// the same websocket-client calls, no extension offered). c.messages()
// parsed, c.raws() the texts as received; close() sends SIGTERM.
function openCertstreamPython(url, { heartbeats = false } = {}) {
  const { spawn } = require('node:child_process');
  const args = [path.join(__dirname, 'certstream_py.py'), url];
  if (heartbeats) args.push('--heartbeats');
  const p = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const c = { url, proc: p, out: '', err: '', code: null, lines: [] };
  let part = '';
  p.stdout.setEncoding('utf8');
  p.stdout.on('data', (b) => {
    part += b;
    let nl;
    while ((nl = part.indexOf('\n')) >= 0) {
      const line = part.slice(0, nl);
      part = part.slice(nl + 1);
      if (line.startsWith('M ')) c.lines.push(line.slice(2));
      else c.out += `${line}\n`;
    }
  });
  p.stderr.on('data', (b) => { c.err += b; });
  c.exited = new Promise((res) => p.on('exit', (code) => { c.code = code; res(code); }));
  c.opened = (async () => {
    for (;;) {
      if (/^open$/m.test(c.out)) return;
      if (c.code !== null) throw new Error(`certstream-python client: ${c.err.trim().split('\n').pop()}`);
      await sleep(20);
    }
  })();
  c.opened.catch(() => {});
  c.raws = () => c.lines;
  c.messages = () => c.lines.map((l) => JSON.parse(l));
  c.close = async () => {
    if (c.code === null) p.kill('SIGTERM');
    const t = setTimeout(() => { if (c.code === null) p.kill('SIGKILL'); }, 3000);
    await c.exited;
    clearTimeout(t);
  };
  return c;
}

module.exports = {
  WebSocket, EventSource, NODE_MODULES, ROOT, SAMPLE_FEED,
  sleep, waitFor, httpGet, parseMetrics, metric, waitForMetric, feedPath, loadFeed, confFor, keyOf,
  checkInOrder, checkForm, openWs, openSseRaw, openEventSource, openCertstreamPython,
};
