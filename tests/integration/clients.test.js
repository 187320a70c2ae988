'use strict';
// Existing certstream client libraries work unchanged against the daemon.
const { test } = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { startDaemon } = require('./lib/daemon');
const c = require('./lib/clients');

const CertStreamClient = require(path.join(c.NODE_MODULES, 'certstream'));
const feed = c.loadFeed(c.feedPath());

// The client logs its connection to the console: keep the test output clean.
function quiet(t) {
  const log = console.log;
  console.log = () => {};
  t.after(() => { console.log = log; });
}

test('CaliDog certstream-js client receives certificate_update messages in order', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 150 }) });
  const got = [];
  const all = [];
  const client = new CertStreamClient((msg, ctx) => {
    assert.strictEqual(typeof ctx, 'object');
    got.push(msg);
  }, true);
  const withBeats = new CertStreamClient((msg) => { all.push(msg); }, false);
  quiet(t);
  client.connect(d.url('/', 'ws'));
  withBeats.connect(d.url('/full-stream', 'ws'));
  t.after(() => { client.ws.terminate(); withBeats.ws.terminate(); });
  await c.waitFor(() => got.length >= 40 && all.length >= 40, 15000, '40 messages through the client');
  // The client hands over parsed messages; heartbeats skipped as asked.
  assert.ok(got.every((m) => m.message_type === 'certificate_update'));
  c.checkInOrder(feed, got, 'certstream-js lite');
  got.forEach((m) => c.checkForm(feed, m, 'lite'));
  // What the README of the client shows people doing with a message:
  const m = got[0];
  assert.ok(Array.isArray(m.data.leaf_cert.all_domains));
  assert.ok('CN' in m.data.leaf_cert.subject);
  assert.strictEqual(typeof m.data.source.name, 'string');
  const certs = all.filter((x) => x.message_type === 'certificate_update');
  c.checkInOrder(feed, certs, 'certstream-js full');
  certs.forEach((x) => c.checkForm(feed, x, 'full'));
});

test('CaliDog certstream-python (its websocket-client calls) reads every stream in order, bytes as a plain client gets them, and a filter URL', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 150 }) });
  const lite = c.openCertstreamPython(d.url('/', 'ws'));
  const full = c.openCertstreamPython(d.url('/full-stream', 'ws'), { heartbeats: true });
  const plain = c.openWs(d.url('/', 'ws'));
  // A filter URL as certstream-server-rust documents them (domain=, a list).
  const fq = '/?domain=org,io';
  const pyf = c.openCertstreamPython(d.url(fq, 'ws'));
  const wsf = c.openWs(d.url(fq, 'ws'));
  t.after(async () => { plain.close(); wsf.close(); await lite.close(); await full.close(); await pyf.close(); });
  await Promise.all([lite.opened, full.opened, plain.opened, pyf.opened, wsf.opened]);
  await c.waitFor(() => lite.lines.length >= 40 && full.lines.length >= 40, 15000, '40 messages through the python client');
  await c.waitFor(() => pyf.lines.length >= 10 && wsf.messages.length >= 10, 15000, '10 filtered messages');
  const got = lite.messages();
  assert.ok(got.every((m) => m.message_type === 'certificate_update'), 'heartbeats skipped, as the client does');
  c.checkInOrder(feed, got, 'certstream-python lite');
  got.forEach((m) => c.checkForm(feed, m, 'lite'));
  const certs = full.messages().filter((x) => x.message_type === 'certificate_update');
  c.checkInOrder(feed, certs, 'certstream-python full');
  certs.forEach((x) => c.checkForm(feed, x, 'full'));
  // The same records reach a node ws client with permessage-deflate off
  // byte for byte: the python client offers no extension and gets plain text.
  const seen = new Map(got.map((m, i) => [m.id, lite.raws()[i]]));
  await c.waitFor(() => plain.messages.some((m) => seen.has(m.id)), 5000, 'an overlap with the plain client');
  let same = 0;
  for (const m of plain.messages) {
    if (!seen.has(m.id)) continue;
    assert.deepStrictEqual(JSON.parse(seen.get(m.id)), m, `record ${m.id}`);
    same++;
  }
  assert.ok(same > 0);
  // Filtered: every record has a name that is org or io or under them, and
  // the python client gets by id what a node client with the same URL gets.
  const under = (n) => /(^|\.)(org|io)$/i.test(n.replace(/^\*\./, 'x.'));
  for (const m of pyf.messages()) {
    assert.ok(m.data.leaf_cert.all_domains.some(under), `record ${m.id} does not match ${fq}: ${m.data.leaf_cert.all_domains}`);
  }
  const pyIds = pyf.messages().map((m) => m.id);
  const wsIds = wsf.messages.map((m) => m.id);
  const lo = Math.max(pyIds[0], wsIds[0]);
  const hi = Math.min(pyIds[pyIds.length - 1], wsIds[wsIds.length - 1]);
  assert.ok(lo < hi, 'the two filtered clients overlap');
  assert.deepStrictEqual(pyIds.filter((i) => i >= lo && i <= hi), wsIds.filter((i) => i >= lo && i <= hi));
  // and nothing that matches was left out between them (the lite client saw all)
  const all = got.filter((m) => m.id >= lo && m.id <= hi && m.data.leaf_cert.all_domains.some(under)).map((m) => m.id);
  const pySet = new Set(pyIds);
  for (const i of all) assert.ok(pySet.has(i), `record ${i} matches ${fq} but did not reach the filtered client`);
  await lite.close();
  assert.strictEqual(lite.code, 0, `python client exited ${lite.code}: ${lite.err}`);
  assert.match(lite.out, /^closed$/m);
});

test('a client may connect to a worker while another is busy streaming', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 300 }) });
  const early = c.openWs(d.url('/full-stream', 'ws'));
  t.after(() => early.close());
  await early.opened;
  await c.waitFor(() => early.messages.length >= 30, 10000, '30 messages');
  // Late joiners start live (no replay of history) and keep up.
  const late = Array.from({ length: 4 }, () => c.openWs(d.url('/domains-only', 'ws')));
  t.after(() => late.forEach((w) => w.close()));
  await Promise.all(late.map((w) => w.opened));
  await c.waitFor(() => late.every((w) => w.messages.length >= 30), 10000, '30 messages on late clients');
  // One publication of one record: its key and its seen (set at publish).
  const earlyIds = early.messages.map((m) => `${c.keyOf(m)}@${m.data.seen}`);
  for (const w of late) {
    c.checkInOrder(feed, w.messages, 'late client');
    // A late client's first record is one the early client got after its
    // 30th: new clients start live, not with history.
    const first = w.messages[0];
    const at = earlyIds.indexOf(`${c.keyOf(first)}@${first.seen}`);
    assert.ok(at >= 29, `late client started at the early client's record ${at}`);
  }
});
