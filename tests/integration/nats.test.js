'use strict';
// Scaling out through NATS JetStream: ingest nodes (source: ct,
// nats.publish) feed a stream, edges (source: nats) serve clients from it.
// Real nats-server processes on loopback (lib/nats.js), the fake CT log.
//
//  - single server: two ingest nodes on the same logs (certificates shared
//    between logs) and two edges; one ingest node and one edge killed -9
//    under load; SSE and WebSocket clients move to the other edge with
//    Last-Event-ID / ?since=; every certificate once, on both edges, same
//    ids and order, ids with no hole; CaliDog's JS and Python clients on
//    an edge;
//  - a 3-node JetStream cluster: one node killed and restarted, then every
//    server stopped for 10 s: the edge keeps its client (heartbeats), says
//    so in /health/deep and /metrics, and catches up with no gap;
//  - an ingest process killed -9 while NATS is away: its successor
//    publishes what the stream never acknowledged;
//  - records purged from the stream before an edge took them: a gap told
//    once, as on a single box, the ring kept (emptied when the gap has
//    more ids than the ring has slots);
//  - a stream deleted and created again: ids go on growing on the edge.
//
// The cluster test (three servers, 10 s of outage, 35 s) runs in the plain
// pass only; the others in both.

const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { startDaemon, testDir, sleep } = require('./lib/daemon');
const c = require('./lib/clients');
const { request, getJson, startFakelog } = require('./lib/fakelog');
const { startNats } = require('./lib/nats');

const CertStreamClient = require(path.join(c.NODE_MODULES, 'certstream'));
const ASAN = /-asan$/.test(process.env.CERTSTREAM_BIN || '');
const SKIP = ASAN && 'three nats-servers and a 10 s outage: the plain pass only (time budget)';

function ingestConf(listFile, natsUrl, o = {}) {
  return [
    'source: ct',
    `ct_logs_url: ${JSON.stringify(listFile)}`,
    'ct_log:',
    '  poll_interval_ms: 100',
    '  batch_size: 128',
    '  backfill: 1000000000',
    '  state_save_interval_secs: 1',
    '  request_timeout_secs: 5',
    '  connect_timeout_secs: 2',
    'dedup:',
    `  enabled: ${o.dedup === false ? 'false' : 'true'}`,
    'nats:',
    `  url: ${JSON.stringify(natsUrl)}`,
    '  publish: true',
    `  replicas: ${o.replicas || 1}`,
    '  duplicate_window_secs: 600',
    '',
  ].join('\n');
}

function edgeConf(natsUrl, backfill = 1000000000) {
  return [
    'source: nats',
    'server:',
    '  heartbeat_interval_secs: 1',
    'nats:',
    `  url: ${JSON.stringify(natsUrl)}`,
    `  backfill: ${backfill}`,         // an edge's first start: the whole stream
    '',
  ].join('\n');
}

// A WebSocket /full-stream reader keeping each record's id and certificate.
function openRecords(url) {
  const w = c.openWs(url);
  w.recs = () => w.messages.filter((m) => m.message_type === 'certificate_update')
    .map((m) => ({ id: m.id, sha: m.data.leaf_cert.sha256, url: m.data.source.url, index: m.data.cert_index }));
  return w;
}

function sseRecs(s) {
  return s.events.map((e) => {
    const m = JSON.parse(e.data);
    return m.message_type === 'certificate_update' ? { id: Number(e.id), sha: m.data.leaf_cert.sha256 } : null;
  }).filter(Boolean);
}

// c.waitFor for an async predicate, polled every 50 ms (each wait ends
// sooner after what it waits for: the file runs a few seconds faster).
async function until(pred, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

function assertDense(ids, what) {
  for (let i = 1; i < ids.length; i++) {
    if (ids[i] !== ids[i - 1] + 1) assert.fail(`${what}: id ${ids[i]} follows ${ids[i - 1]}`);
  }
}

async function waitLogsDone(d, urls, size, ms) {
  await until(async () => {
    const h = await getJson(d.url('/health/deep'));
    const st = (h.logs || []).filter((l) => urls.includes(l.url));
    return st.length === urls.length && st.every((l) => l.next_index === size) &&
      (!h.ingest.nats || h.ingest.nats.pending === 0);
  }, ms, `every entry of ${d.url()} passed (acknowledged by the stream)`);
}

// The fake log (args), NATS (nodes), and the log list file an ingest node reads.
async function logAndNats(t, args, { nodes = 1 } = {}) {
  const fl = await startFakelog(args, t);
  const ns = await startNats(t, { nodes });
  const dir = testDir(t, 'nats-');
  const listFile = path.join(dir, 'loglist.json');
  fs.writeFileSync(listFile, (await request('GET', fl.url('/loglist.json'))).body);
  return { fl, ns, dir, listFile };
}

test('two ingest nodes, two edges: every certificate once on each edge, same ids and order; ' +
  'kill -9 of an ingest node and of an edge lose nothing', { timeout: 90000 }, async (t) => {
  const SIZE = 1200;
  const { fl, ns, dir, listFile } = await logAndNats(t, ['--rfc6962', 'n1', '--rfc6962', 'n2', '--real', 'all',
    '--initial-size', '200', '--max-size', String(SIZE), '--grow-per-sec', '200']);
  const urls = [fl.logUrl('n1'), fl.logUrl('n2')];

  // Edges first: the stream is created by the first ingest node.
  const [e1, e2] = await Promise.all([1, 2].map(() => startDaemon({ t, conf: edgeConf(ns.url) })));
  const sse1 = c.openSseRaw(e1.url('/sse?stream=full'));
  const ws1 = openRecords(e1.url('/full-stream', 'ws'));
  const ref = openRecords(e2.url('/full-stream', 'ws'));
  const sseRef = c.openSseRaw(e2.url('/sse?stream=full'));
  const got = [];
  const cali = new CertStreamClient((msg) => got.push(msg), true);
  const log = console.log;
  console.log = () => {};
  t.after(() => { console.log = log; });
  cali.connect(e2.url('/', 'ws'));
  const py = c.openCertstreamPython(e2.url('/', 'ws'));
  t.after(async () => { cali.ws.terminate(); ws1.close(); ref.close(); sse1.close(); sseRef.close(); await py.close(); });
  await Promise.all([sse1.ready, ws1.opened, ref.opened, sseRef.ready, py.opened]);

  // A single box on the same logs: the certificates there are. Told of
  // the logs once its client is connected, so that it misses none.
  const boxList = path.join(dir, 'boxlist.json');
  fs.writeFileSync(boxList, '{"operators":[]}\n');
  const box = await startDaemon({ t, conf: ingestConf(boxList, ns.url).replace('  publish: true', '  publish: false')
    .replace('ct_log:\n', 'ct_log:\n  loglist_refresh_secs: 1\n') });
  const boxWs = openRecords(box.url('/full-stream', 'ws'));
  t.after(() => boxWs.close());
  await boxWs.opened;
  fs.writeFileSync(`${boxList}.tmp`, fs.readFileSync(listFile));
  fs.renameSync(`${boxList}.tmp`, boxList);

  const [a, b] = await Promise.all([1, 2].map(() => startDaemon({ t, conf: ingestConf(listFile, ns.url) })));
  await c.waitFor(() => ref.recs().length >= 150, 20000, 'records on the edges');
  await a.stop('SIGKILL');               // ingest node A, under load
  await c.waitFor(() => ref.recs().length >= 300, 20000, 'more records after A died');
  await e1.stop('SIGKILL');              // edge 1: its clients move to edge 2
  // A client takes its last id once its connection is over (bytes the
  // kernel already had still arrive), as EventSource does.
  await until(() => (sse1.ended || sse1.error) && ws1.closed, 10000, 'edge 1 connections ended');
  const lastSse = sse1.events.length ? Number(sse1.events[sse1.events.length - 1].id) : 0;
  const lastWs = ws1.recs().length ? ws1.recs()[ws1.recs().length - 1].id : 0;
  const sse1b = c.openSseRaw(e2.url('/sse?stream=full'), { 'Last-Event-ID': String(lastSse) });
  const ws1b = openRecords(e2.url(`/full-stream?since=${lastWs}`, 'ws'));
  t.after(() => { sse1b.close(); ws1b.close(); });

  await waitLogsDone(b, urls, SIZE, 40000);
  await waitLogsDone(box, urls, SIZE, 20000);
  await until(async () => {
    const h = await getJson(e2.url('/health/deep'));
    const last = h.ring.head - 1;
    const lastOf = (recs) => (recs.length ? recs[recs.length - 1].id : 0);
    return last === h.ingest.nats.seq && ref.recs().length === h.ingest.nats.received &&
      [ref.recs(), sseRecs(sseRef), sseRecs(sse1b), ws1b.recs(), py.messages()].every((r) => lastOf(r) === last) &&
      got.length && got[got.length - 1].id === last;
  }, 15000, 'edge 2 has the whole stream, and every client of it too').catch(async (e) => {
    const h = await getJson(e2.url('/health/deep'));
    const lastOf = (recs) => (recs.length ? recs[recs.length - 1].id : 0);
    e.message += ` head ${h.ring.head} ${JSON.stringify(h.ingest.nats)} last ids: ws ${lastOf(ref.recs())} ` +
      `sse ${lastOf(sseRecs(sseRef))} sse moved ${lastOf(sseRecs(sse1b))} ws moved ${lastOf(ws1b.recs())} ` +
      `js ${got.length ? got[got.length - 1].id : 0} py ${lastOf(py.messages())} ${py.err} ` +
      `(${ref.recs().length} on ws); moved from ${lastSse}/${lastWs}: ` +
      `sse ${sse1b.status} ${sse1b.error} ${sse1b.ended} ${sse1b.events.length} ${JSON.stringify(sse1b.gaps)} ` +
      `ws ${ws1b.error} ${JSON.stringify(ws1b.closed)} ${ws1b.messages.length}`;
    throw e;
  });
  await until(async () => {
    const n = new Set(boxWs.recs().map((r) => r.sha)).size;
    await sleep(300);
    return n === new Set(boxWs.recs().map((r) => r.sha)).size;
  }, 10000, 'the box quiet');

  const all = ref.recs();
  const ids = all.map((r) => r.id);
  assertDense(ids, 'edge 2');
  assert.strictEqual(ids[0], 1, 'ids are the stream sequence, from its first');
  assert.strictEqual(new Set(all.map((r) => r.sha)).size, all.length, 'no certificate twice');
  const boxShas = new Set(boxWs.recs().map((r) => r.sha));
  assert.ok(boxShas.size > 0);
  assert.deepStrictEqual(new Set(all.map((r) => r.sha)), boxShas,
    'the edge streams exactly the certificates a single box streams');
  assert.ok(all.length < 2 * SIZE, 'certificates in both logs are streamed once');
  // The same records under the same ids, on the SSE stream too.
  const sref = sseRecs(sseRef);
  assert.deepStrictEqual(sref.map((r) => `${r.id} ${r.sha}`), all.map((r) => `${r.id} ${r.sha}`));
  // Edge 1 until it died: a prefix of edge 2's records, ids the same.
  const w1 = ws1.recs();
  assert.ok(w1.length > 0);
  assert.deepStrictEqual(w1.map((r) => `${r.id} ${r.sha}`), all.slice(0, w1.length).map((r) => `${r.id} ${r.sha}`));
  // Its clients, moved: nothing lost, nothing twice.
  const s1 = [...sseRecs(sse1), ...sseRecs(sse1b)];
  assert.deepStrictEqual(s1.map((r) => r.id), ids, 'SSE client across the edge kill (Last-Event-ID)');
  const w1all = [...w1, ...ws1b.recs()];
  assert.deepStrictEqual(w1all.map((r) => r.id), ids, 'WebSocket client across the edge kill (?since=)');
  // The CaliDog client on an edge: every record, in order.
  const cal = got.filter((m) => m.message_type === 'certificate_update').map((m) => m.id);
  assert.deepStrictEqual(cal, ids.slice(ids.indexOf(cal[0])), 'certstream-js on an edge');
  // CaliDog's Python client on the same edge: the same records by id.
  const shaOf = new Map(all.map((r) => [r.id, r.sha]));
  const pym = py.messages().filter((m) => m.message_type === 'certificate_update');
  assert.deepStrictEqual(pym.map((m) => m.id), ids.slice(ids.indexOf(pym[0].id)), 'certstream-python on an edge');
  assert.deepStrictEqual(pym.map((m) => m.data.leaf_cert.sha256), pym.map((m) => shaOf.get(m.id)));
  const met = (await request('GET', e2.url('/metrics'))).body;
  assert.match(met, /^certstream_nats_connected 1$/m);
});

test('3-node JetStream cluster: a node killed and restarted, then every server down for 10 s: ' +
  'the edge keeps its client, reports it, and catches up with no gap', { timeout: 120000, skip: SKIP }, async (t) => {
  const SIZE = 900;
  const { fl, ns, listFile } = await logAndNats(t, ['--rfc6962', 'k1', '--initial-size', '100', '--max-size', String(SIZE),
    '--grow-per-sec', '60'], { nodes: 3 });
  const u = fl.logUrl('k1');

  const edge = await startDaemon({ t, conf: edgeConf(ns.url) });
  const sse = c.openSseRaw(edge.url('/sse?stream=full'));
  t.after(() => sse.close());
  await sse.ready;
  const ing = await startDaemon({ t, conf: ingestConf(listFile, ns.url, { replicas: 3, dedup: false }) });
  await until(() => sseRecs(sse).length >= 100, 20000, '100 records').catch((e) => {
    e.message += `\n--- ingest ---\n${ing.logs()}\n--- edge ---\n${edge.logs()}`;
    throw e;
  });

  // Both daemons are connected to the first server (the order of
  // nats.url): killing it moves them, and the stream's leader may move.
  const where = async (e) => {
    e.message += `\n${JSON.stringify((await getJson(edge.url('/health/deep'))).ingest.nats)} ` +
      `${JSON.stringify((await getJson(ing.url('/health/deep'))).ingest.nats)} ${sseRecs(sse).length} records` +
      `\n--- edge ---\n${edge.logs().slice(-2000)}\n--- ingest ---\n${ing.logs().slice(-2000)}`;
    throw e;
  };
  await ns.nodes[0].kill();
  await until(async () => sseRecs(sse).length >= 200, 30000, '100 more with a node down').catch(where);
  await ns.nodes[0].start();
  await until(async () => sseRecs(sse).length >= 300, 30000, '100 more with the node back').catch(where);

  const up = await getJson(ing.url('/health/deep'));
  assert.strictEqual(up.ingest.nats.connected, true, 'the ingest node is connected before');
  assert.ok(up.ingest.nats.acked > 0);
  await ns.stopAll();
  const down = Date.now();
  const n0 = sseRecs(sse).length;
  const beats0 = sse.comments.length;
  await until(async () => {
    const h = await getJson(edge.url('/health/deep'));
    return h.ingest.nats && h.ingest.nats.connected === false && h.status === 'degraded';
  }, 8000, 'the edge says NATS is away');
  const met = (await request('GET', edge.url('/metrics'))).body;
  assert.match(met, /^certstream_nats_connected 0$/m);
  const hi = await getJson(ing.url('/health/deep'));
  assert.strictEqual(hi.ingest.nats.connected, false, 'the ingest node says so too');
  await sleep(Math.max(0, 10000 - (Date.now() - down)));
  assert.ok(!sse.ended && !sse.error, 'the client stays connected');
  assert.ok(sse.comments.length - beats0 >= 5, `heartbeats while NATS is away (${sse.comments.length - beats0})`);
  assert.ok(sseRecs(sse).length - n0 <= 5, 'nothing new while the stream is away');
  await ns.startAll();

  await waitLogsDone(ing, [u], SIZE, 40000);
  await until(async () => {
    const h = await getJson(edge.url('/health/deep'));
    return h.ingest.nats.connected && h.ring.head - 1 === h.ingest.nats.seq && sseRecs(sse).length >= SIZE;
  }, 20000, 'the edge caught up').catch(async (e) => {
    e.message += `\n${JSON.stringify((await getJson(edge.url('/health/deep'))).ingest)} ` +
      `${sseRecs(sse).length} records\n--- edge ---\n${edge.logs()}\n--- ingest ---\n${ing.logs().slice(-3000)}`;
    throw e;
  });
  await sleep(300);
  const recs = sse.events.map((e) => ({ id: Number(e.id), m: JSON.parse(e.data) }))
    .filter((r) => r.m.message_type === 'certificate_update');
  assertDense(recs.map((r) => r.id), 'edge across the outages');
  assert.strictEqual(recs[0].id, 1);
  // Once each; not always in the log's order: several messages are in
  // flight, and one that failed (a server going) is sent again after
  // later ones the stream took.
  assert.deepStrictEqual(recs.map((r) => r.m.data.cert_index).sort((x, y) => x - y), [...Array(SIZE).keys()],
    'every entry once');
  assert.strictEqual(sse.gaps.length, 0, 'no gap notice');
});

test('an ingest node killed -9 while NATS is away: what it passed but the stream never acknowledged ' +
  'is published by its successor, though its dedup set has it', { timeout: 60000 }, async (t) => {
  const SIZE = 600;
  const { fl, ns, listFile } = await logAndNats(t, ['--rfc6962', 'r1', '--initial-size', '50', '--max-size', String(SIZE),
    '--grow-per-sec', '150']);
  const edge = await startDaemon({ t, conf: edgeConf(ns.url) });
  const ws = openRecords(edge.url('/full-stream', 'ws'));
  t.after(() => ws.close());
  await ws.opened;
  const ing = await startDaemon({ t, conf: ingestConf(listFile, ns.url) });
  await until(() => ws.recs().length >= 50, 20000, '50 records');
  await ns.nodes[0].kill();
  // The ingest goes on reading the log: entries passed, in its dedup set,
  // waiting for the stream.
  await until(async () => (await getJson(ing.url('/health/deep'))).ingest.nats.pending >= 50, 15000,
    '50 entries waiting for the stream');
  const ingestPid = ing.childPids().find((p) => {
    try { return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'cs-ingest'; } catch (_) { return false; }
  });
  assert.ok(ingestPid, 'the ingest process');
  process.kill(ingestPid, 'SIGKILL');
  await ns.nodes[0].start();
  await waitLogsDone(ing, [fl.logUrl('r1')], SIZE, 30000);
  await until(() => ws.recs().length >= SIZE, 15000, 'every entry on the edge').catch(async (e) => {
    const have = new Set(ws.recs().map((r) => r.index));
    e.message += ` (${ws.recs().length} of ${SIZE}; missing ${[...Array(SIZE).keys()].filter((i) => !have.has(i))}; ` +
      `edge ${JSON.stringify((await getJson(edge.url('/health/deep'))).ingest.nats)}, ingest ` +
      `${JSON.stringify((await getJson(ing.url('/health/deep'))).ingest.nats)})\n--- edge ---\n${edge.logs()}` +
      `\n--- ingest ---\n${ing.logs().slice(-3000)}`;
    throw e;
  });
  await sleep(300);
  const recs = ws.recs();
  assert.deepStrictEqual(recs.map((r) => r.index), [...Array(SIZE).keys()], 'every entry once, in order');
  assertDense(recs.map((r) => r.id), 'edge');
});

test('records removed from the stream before an edge took them: its clients are told the gap ' +
  'once, as on a single box (SSE event: gap, WebSocket with gaps=1), and its ring keeps what it ' +
  'held; a gap longer than a small ring empties it and is told once too', { timeout: 60000 }, async (t) => {
  const { fl, ns, listFile } = await logAndNats(t, ['--rfc6962', 'p1', '--initial-size', '80', '--max-size', '2000',
    '--grow-per-sec', '100']);
  // edge: the default ring; small: 64 slots, fewer than the gap's ids
  const edge = await startDaemon({ t, conf: edgeConf(ns.url) });
  const ws = openRecords(edge.url('/full-stream?gaps=1', 'ws'));
  const plain = openRecords(edge.url('/full-stream', 'ws'));
  const sse = c.openSseRaw(edge.url('/sse?stream=full'));
  const filt = openRecords(edge.url('/full-stream?gaps=1&type=precert', 'ws'));
  t.after(() => { for (const x of [ws, plain, sse, filt]) x.close(); });
  await Promise.all([ws.opened, plain.opened, sse.ready, filt.opened]);
  const ing = await startDaemon({ t, conf: ingestConf(listFile, ns.url) });
  await until(() => ws.recs().length >= 80, 20000, '80 records');
  // small: 64 slots, fewer than the gap will have ids; new records only
  // (the backlog would lap its clients)
  const small = await startDaemon({ t, conf: edgeConf(ns.url, 0) + 'buffer_size: 64\n' });
  const sws = openRecords(small.url('/full-stream?gaps=1', 'ws'));
  const ssse = c.openSseRaw(small.url('/sse?stream=full'));
  t.after(() => { for (const x of [sws, ssse]) x.close(); });
  await Promise.all([sws.opened, ssse.ready]);
  await until(() => sws.recs().length >= 20 && sseRecs(ssse).length >= 20, 20000, '20 records on small');

  // The edges' consumers stop taking; the stream goes on, then is purged
  // of all it holds, then goes on again; then the stopped processes are
  // killed (what the server had pushed to them is lost with them) and the
  // masters start others, which resume from the rings' heads.
  const ingestOf = (d) => d.childPids().find((p) => {
    try { return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'cs-ingest'; } catch (_) { return false; }
  });
  const pids = [ingestOf(edge), ingestOf(small)];
  assert.ok(pids[0] && pids[1], 'the edges\' ingest processes');
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  let resumed = false;
  t.after(() => { if (!resumed) for (const pid of pids) process.kill(pid, 'SIGKILL'); });
  const seqOf = async () => (await getJson(ing.url('/health/deep'))).ingest.nats.seq;
  const s0 = await seqOf();
  await until(async () => (await seqOf()) >= s0 + 100, 15000, '100 more in the stream');
  const purge = await ns.request('$JS.API.STREAM.PURGE.CERTSTREAM');
  assert.strictEqual(purge.success, true, JSON.stringify(purge));
  const s1 = await seqOf();
  await until(async () => (await seqOf()) >= s1 + 30, 15000, '30 more after the purge');
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  resumed = true;
  const T = s1 + 30;
  const lastId = (recs) => (recs.length ? recs[recs.length - 1].id : 0);
  await until(() => [ws, plain, sws].every((w) => lastId(w.recs()) >= T) &&
    lastId(sseRecs(sse)) >= T && lastId(sseRecs(ssse)) >= T, 15000, 'the edges past the purge');

  // Exactly one jump, from A to B, told once between the two records.
  const ids = ws.recs().map((r) => r.id).filter((id) => id <= T);
  const at = ids.findIndex((id, i) => i > 0 && id !== ids[i - 1] + 1);
  assert.ok(at > 0, `a jump in ids (${s0} ${s1} ${ids[0]}..${ids[ids.length - 1]} ${ids.length})`);
  assertDense(ids.slice(at), 'after the jump');
  const A = ids[at - 1];
  const B = ids[at];
  assert.ok(B - A - 1 >= 100, `the purged records are the gap (${A} to ${B})`);
  const gap = { skipped: B - A - 1, from_id: A + 1, to_id: B - 1 };
  const told = (w) => w.messages.filter((m) => m.message_type === 'gap')
    .map((m) => ({ skipped: m.skipped, from_id: m.from_id, to_id: m.to_id }));
  const toldAfter = (w) => w.messages.findIndex((m) => m.message_type === 'gap') - 1;
  assert.deepStrictEqual(told(ws), [gap], 'WebSocket (gaps=1): one notice');
  assert.strictEqual(ws.messages[toldAfter(ws)].id, A, 'told right after A');
  assert.deepStrictEqual(told(plain), [], 'WebSocket without gaps=1: none');
  // a filtered client is told too: the ids jumped over were records it
  // might have wanted
  await until(() => told(filt).length > 0, 5000, 'the filtered client told');
  assert.deepStrictEqual(told(filt), [gap], 'WebSocket with a filter (type=precert, gaps=1): one notice');
  const fids = filt.recs().map((r) => r.id).filter((id) => id <= T);
  assert.ok(fids.length > 0 && fids.length < ids.length && fids.every((id) => ids.includes(id)),
    `the filter's records (${fids.length} of ${ids.length})`);
  assert.deepStrictEqual(plain.recs().map((r) => r.id).filter((id) => id <= T), ids, 'the same records');
  // SSE: an `event: gap` with no id, right before B; no data message for it
  assert.deepStrictEqual(sse.gaps.map(({ skipped, from_id, to_id }) => ({ skipped, from_id, to_id })), [gap],
    'SSE: one gap event');
  assert.strictEqual(Number(sse.events[sse.gaps[0].before].id), B, 'SSE: told right before B');
  assert.ok(sse.events.every((e) => !/"gap"/.test(e.data)), 'SSE: no gap as a data message');
  assert.deepStrictEqual(sseRecs(sse).map((r) => r.id).filter((id) => id <= T), ids, 'SSE: the same records');
  const h = await getJson(edge.url('/health/deep'));
  assert.strictEqual(h.ingest.nats.skipped, B - A - 1);
  // The ring kept what it held: a client resuming from before the jump
  // gets every record it had, then the gap, then the rest.
  const late = openRecords(edge.url(`/full-stream?since=${ids[0]}&gaps=1`, 'ws'));
  const lsse = c.openSseRaw(edge.url('/sse?stream=full'), { 'Last-Event-ID': String(ids[0]) });
  t.after(() => { late.close(); lsse.close(); });
  await until(() => late.recs().length >= ids.length - 1 && sseRecs(lsse).length >= ids.length - 1, 10000,
    'the resumed clients have the ring');
  assert.deepStrictEqual(late.recs().map((r) => r.id).slice(0, ids.length - 1), ids.slice(1));
  assert.deepStrictEqual(told(late), [gap]);
  assert.deepStrictEqual(sseRecs(lsse).map((r) => r.id).slice(0, ids.length - 1), ids.slice(1));
  assert.deepStrictEqual(lsse.gaps.map(({ skipped, from_id, to_id }) => ({ skipped, from_id, to_id })), [gap]);

  // The small ring (64 slots) could keep none of its records through a gap
  // of more ids: it is emptied, and its clients are told once, from A + 1,
  // as lapped clients are (which may pass a few of the records that follow
  // the gap too: a lapped client skips a quarter of what the ring holds).
  for (const [what, got, gaps] of [['WebSocket', sws.recs(), told(sws)],
    ['SSE', sseRecs(ssse), ssse.gaps]]) {
    // (a fresh edge's first record moves its ids up: a client there
    // before it is told of the ids below, as when lapped)
    const told2 = gaps.filter((g) => g.from_id > got[0].id);
    assert.strictEqual(told2.length, 1, `small: ${what}: one notice ${JSON.stringify(gaps)}`);
    const g = told2[0];
    const after = got.map((r) => r.id).filter((id) => id > A && id <= T);
    assert.strictEqual(g.from_id, A + 1, `small: ${what}: from A + 1`);
    assert.ok(g.to_id >= B - 1 && g.skipped === g.to_id - A, `small: ${what}: ${JSON.stringify(g)}`);
    assert.deepStrictEqual(got.map((r) => r.id).filter((id) => id <= A), ids.filter((id) => id >= got[0].id && id <= A),
      `small: ${what}: the same records before the gap`);
    assert.deepStrictEqual(after, ids.filter((id) => id > g.to_id), `small: ${what}: the rest after it`);
  }
  assert.strictEqual((await getJson(small.url('/health/deep'))).ingest.nats.skipped, B - A - 1);

  // A message on the subject that is not a record: passed as one skipped
  // id, told as a gap of 1, and the ring keeps what it held.
  await ns.publish('certstream.records', 'not a record');
  await until(() => told(ws).length >= 2, 10000, 'the message that is not a record told');
  const g2 = told(ws)[1];
  assert.strictEqual(g2.skipped, 1, JSON.stringify(g2));
  assert.strictEqual(g2.from_id, g2.to_id);
  const kept = openRecords(edge.url(`/full-stream?since=${ids[0]}`, 'ws'));
  t.after(() => kept.close());
  await until(() => kept.recs().length >= 5, 10000, 'a resumed client');
  assert.deepStrictEqual(kept.recs().slice(0, 5).map((r) => r.id), ids.slice(1, 6), 'the ring was kept');
});

test('a stream deleted and created again: the edge says so in /health/deep and takes the new ' +
  'stream\'s records under ids that go on growing (none issued twice), losing none', { timeout: 60000 }, async (t) => {
  const { fl, ns, listFile } = await logAndNats(t, ['--rfc6962', 'p1', '--initial-size', '60']);
  const edge = await startDaemon({ t, conf: edgeConf(ns.url) });
  const ws = openRecords(edge.url('/full-stream?gaps=1', 'ws'));
  t.after(() => ws.close());
  await ws.opened;
  await startDaemon({ t, conf: ingestConf(listFile, ns.url) });
  await until(() => ws.recs().length >= 60, 20000, 'the log\'s 60 entries');

  // The stream goes; the log grows; the ingest node creates the stream
  // again and publishes the 40 new entries to it, as its sequence 1 to 40:
  // the edge finds the stream behind its ring and takes them as ids 61..
  const del = await ns.request('$JS.API.STREAM.DELETE.CERTSTREAM');
  assert.strictEqual(del.success, true, JSON.stringify(del));
  await fl.grow('p1', 40);
  const nats = async () => (await getJson(edge.url('/health/deep'))).ingest.nats;
  await until(() => ws.recs().length >= 100, 15000, 'the 40 new entries');
  await sleep(300);
  const recs = ws.recs();
  assert.deepStrictEqual(recs.map((r) => r.id), [...Array(100).keys()].map((i) => i + 1),
    'ids 1 to 100, none twice');
  assert.deepStrictEqual(recs.map((r) => r.index), [...Array(100).keys()], 'every entry once, in order');
  assert.deepStrictEqual(ws.messages.filter((m) => m.message_type === 'gap'), [], 'no gap');
  const h = await nats();
  assert.strictEqual(h.recreated, 1, JSON.stringify(h));
  assert.strictEqual(h.id_shift, 60, 'id = the new stream\'s sequence + 60');
  assert.strictEqual(h.seq, 40, 'the new stream\'s sequence');
});
