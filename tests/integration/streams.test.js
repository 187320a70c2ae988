'use strict';
// WebSocket streams against the real daemon replaying a feed: every path
// delivers the replayed records in order and in its own form; a quiet
// stream carries heartbeats.
const { test } = require('node:test');
const assert = require('node:assert');
const { startDaemon, testDir } = require('./lib/daemon');
const c = require('./lib/clients');

const feed = c.loadFeed(c.feedPath());
const WANT = Math.min(60, feed.records.length + 10); // crosses the loop seam when the feed is short

const PATHS = [
  ['/', 'lite'],
  ['/full-stream', 'full'],
  ['/domains-only', 'domains'],
  ['/full-stream/', 'full'],
  ['/domains-only/', 'domains'],
];

test('every WebSocket path delivers the replayed records in order, in its form', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 150 }) });
  const clients = PATHS.map(([p, form]) => ({ p, form, w: c.openWs(d.url(p, 'ws')) }));
  t.after(() => clients.forEach((x) => x.w.close()));
  await Promise.all(clients.map((x) => x.w.opened));
  await c.waitFor(() => clients.every((x) => x.w.messages.length >= WANT), 20000,
    `${WANT} messages on each of ${PATHS.map((x) => x[0]).join(' ')}`);
  for (const { p, form, w } of clients) {
    assert.strictEqual(w.error, null, `${p}: ${w.error}`);
    const msgs = w.messages.slice(0, WANT);
    c.checkInOrder(feed, msgs, p);
    for (const m of msgs) c.checkForm(feed, m, form);
    // seen is set at publish time: it never goes backwards
    const seen = msgs.map((m) => (form === 'domains' ? m.seen : m.data.seen));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `${p}: seen went backwards`);
  }
});

test('clients on different workers see the same records in the same order', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 200 }) });
  // Several connections: SO_REUSEPORT spreads them over both workers.
  const ws = Array.from({ length: 6 }, () => c.openWs(d.url('/', 'ws')));
  t.after(() => ws.forEach((w) => w.close()));
  await Promise.all(ws.map((w) => w.opened));
  await c.waitFor(() => ws.every((w) => w.messages.length >= 1), 10000, 'a message on each client');
  // One publication of one record: its key and its seen (set at publish).
  const id = (m) => `${c.keyOf(m)}@${m.data.seen}`;
  // The client that joined last sets the common start.
  const start = ws.map((w) => w.messages[0]).reduce((a, m) => (m.data.seen > a.data.seen ? m : a));
  const from = (w) => w.messages.findIndex((m) => id(m) === id(start));
  await c.waitFor(() => ws.every((w) => from(w) >= 0 && w.messages.length - from(w) >= WANT), 20000,
    `${WANT} messages on every client from the common start`);
  const ref = ws[0].messages.slice(from(ws[0]), from(ws[0]) + WANT).map(id);
  for (const [i, w] of ws.entries()) {
    c.checkInOrder(feed, w.messages, `client ${i}`);
    assert.deepStrictEqual(w.messages.slice(from(w), from(w) + WANT).map(id), ref, `client ${i} differs`);
  }
});

test('an idle stream carries a heartbeat every 10 s (WebSocket and SSE)', async (t) => {
  // The feed plays once, as fast as possible, before anyone connects:
  // afterwards nothing is published and only heartbeats flow.
  const d = await startDaemon({ t, workers: 1, conf: c.confFor(feed.file, { rate: 0, loop: false }) });
  await c.waitForMetric(d, 'certstream_records_published_total', (v) => v >= feed.records.length, 10000);
  const ws = [c.openWs(d.url('/', 'ws')), c.openWs(d.url('/full-stream', 'ws')),
    c.openWs(d.url('/domains-only', 'ws'))];
  const sse = c.openSseRaw(d.url('/sse?stream=domains'));
  t.after(() => { ws.forEach((w) => w.close()); sse.close(); });
  await Promise.all(ws.map((w) => w.opened));
  await sse.ready;
  const t0 = Date.now();
  await c.waitFor(() => ws.every((w) => w.heartbeats.length >= 1) &&
    sse.comments.some((x) => x.text === 'heartbeat'), 12000, 'a heartbeat on every stream');
  for (const w of ws) {
    assert.strictEqual(w.messages.length, 0, `${w.url}: records on an idle stream`);
    const hb = w.heartbeats[0];
    assert.deepStrictEqual(Object.keys(hb.m).sort(), ['message_type', 'timestamp']);
    assert.strictEqual(typeof hb.m.timestamp, 'number');
    assert.ok(Math.abs(hb.m.timestamp - hb.at / 1000) < 5, `heartbeat timestamp ${hb.m.timestamp} is not now`);
    assert.ok(hb.at - t0 <= 11000, 'first heartbeat later than 10 s');
  }
  assert.strictEqual(sse.events.length, 0);
  // No flood: at 10 s intervals, at most two fit in the time waited.
  await c.sleep(Math.max(0, 11000 - (Date.now() - t0)));
  for (const w of ws) {
    assert.ok(w.heartbeats.length >= 1 && w.heartbeats.length <= 2,
      `${w.url}: ${w.heartbeats.length} heartbeats in 11 s`);
    if (w.heartbeats.length === 2) {
      const gap = w.heartbeats[1].at - w.heartbeats[0].at;
      assert.ok(gap > 9000 && gap < 11000, `heartbeat gap ${gap} ms`);
    }
    assert.strictEqual(w.closed, null, `${w.url} closed`);
  }
});

test('kill -9 of the ingest: the new one continues the feed, clients see no gap', async (t) => {
  const fs = require('node:fs');
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 150 }) });
  const titled = (re) => d.childPids().filter((pid) => {
    try { return re.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')); } catch (_) { return false; }
  });
  const ws = [c.openWs(d.url('/', 'ws')), c.openWs(d.url('/domains-only', 'ws'))];
  t.after(() => ws.forEach((w) => w.close()));
  await Promise.all(ws.map((w) => w.opened));
  await c.waitFor(() => ws.every((w) => w.messages.length >= 20), 10000, '20 messages');
  const ingest = titled(/ingest/);
  assert.strictEqual(ingest.length, 1, `ingest process not found among ${d.childPids()}`);
  process.kill(ingest[0], 'SIGKILL');
  const before = ws[0].messages.length;
  await c.waitFor(() => titled(/ingest/).some((pid) => pid !== ingest[0]), 5000, 'a new ingest');
  await c.waitFor(() => ws.every((w) => w.messages.length >= before + 60), 15000, '60 more messages');
  for (const w of ws) {
    assert.strictEqual(w.closed, null, `${w.url} was closed`);
    c.checkInOrder(feed, w.messages, `${w.url} across the ingest restart`);
  }
});

test('SIGHUP applies a new replay rate; a bad file keeps the running one', async (t) => {
  const fs = require('node:fs');
  const d = await startDaemon({ t, workers: 1, conf: c.confFor(feed.file, { rate: 20 }) });
  const w = c.openWs(d.url('/domains-only', 'ws'));
  t.after(() => w.close());
  await w.opened;
  const rateOver = async (ms) => {
    const n0 = w.messages.length;
    await c.sleep(ms);
    return ((w.messages.length - n0) * 1000) / ms;
  };
  const slow = await rateOver(1000);
  assert.ok(slow >= 10 && slow <= 30, `rate ${slow}/s, configured 20/s`);
  fs.writeFileSync(d.confPath, c.confFor(feed.file, { rate: 400 }));
  process.kill(d.pid, 'SIGHUP');
  await c.sleep(300);
  const fast = await rateOver(1000);
  assert.ok(fast >= 200 && fast <= 450, `rate ${fast}/s after reload to 400/s`);
  fs.writeFileSync(d.confPath, c.confFor(feed.file, { rate: 20, extra: 'replay_rate_typo: [' }));
  process.kill(d.pid, 'SIGHUP');
  await c.sleep(300);
  const kept = await rateOver(1000);
  assert.ok(kept >= 200, `rate ${kept}/s: a bad reload changed the rate`);
  c.checkInOrder(feed, w.messages, 'across reloads');
});

test('a recorded get-entries dump and bad lines: rendered like live ingest, bad lines counted', async (t) => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  // A real get-entries body (4 entries of 2013), a broken line, one
  // recorded certificate_update from the sample feed, and one whose
  // certificate is a placeholder (refused: nothing streams but what the
  // render library writes from a certificate).
  const dir = testDir(t, 'certstream-feed-');
  const body = fs.readFileSync(path.join(c.ROOT, 'tests/data/real/rfc6962/ctgo_scanner_get-entries_4.json'), 'utf8');
  const file = path.join(dir, 'dump.ndjson');
  const placeholder = structuredClone(feed.records[1]);
  placeholder.data.leaf_cert.as_der = 'AA==';
  fs.writeFileSync(file, `${JSON.stringify(JSON.parse(body))}\n{"leaf_input": "AAAA", "extra_data": "\n` +
    `${JSON.stringify(feed.records[0])}\n${JSON.stringify(placeholder)}\n`);
  const d = await startDaemon({ t, workers: 1, conf: c.confFor(file, { rate: 50 }) });
  const full = c.openWs(d.url('/full-stream', 'ws'));
  const dom = c.openWs(d.url('/domains-only', 'ws'));
  t.after(() => { full.close(); dom.close(); });
  await Promise.all([full.opened, dom.opened]);
  await c.waitFor(() => full.messages.length >= 10 && dom.messages.length >= 10, 10000, '10 messages');
  const src = 'replay://dump.ndjson/';
  const order = [`${src}#0`, `${src}#1`, `${src}#2`, `${src}#3`, c.keyOf(feed.records[0])];
  const keys = full.messages.map(c.keyOf);
  const at = order.indexOf(keys[0]);
  assert.ok(at >= 0, `unexpected first record ${keys[0]}`);
  keys.forEach((k, i) => assert.strictEqual(k, order[(at + i) % order.length], `message ${i}`));
  for (const m of full.messages) {
    assert.strictEqual(m.message_type, 'certificate_update');
    assert.strictEqual(typeof m.data.leaf_cert.as_der, 'string');
    assert.ok(Array.isArray(m.data.chain) && m.data.chain.length > 0, 'chain from extra_data');
    assert.match(m.data.leaf_cert.sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    if (m.data.source.url === src) {
      assert.strictEqual(m.data.cert_link, `${src}ct/v1/get-entries?start=${m.data.cert_index}&end=${m.data.cert_index}`);
      assert.strictEqual(m.data.source.type, 'rfc6962');
    }
  }
  assert.ok(full.messages.some((m) => m.data.leaf_cert.all_domains.includes('mail.google.com')),
    'the 2013 mail.google.com certificate was not streamed');
  for (const m of dom.messages) assert.strictEqual(m.message_type, 'dns_entries');
  // The broken line and the placeholder are counted where an operator
  // looks, and named by file and line.
  assert.strictEqual(await c.metric(d, 'certstream_parse_failures_total'), 2);
  assert.match(d.logs(), /dump\.ndjson:2: .*line skipped/);
  assert.match(d.logs(), /dump\.ndjson:4: its certificate does not render.*line skipped/);
});
