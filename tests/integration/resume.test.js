'use strict';
// Record ids: every message carries one, ids only grow and are never
// reused across restarts, WebSocket resumes with ?since= (or Last-Event-ID)
// as SSE does, and a client that misses records is told before the next one.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const { startDaemon } = require('./lib/daemon');
const c = require('./lib/clients');

const feed = c.loadFeed(c.feedPath());

function wsIds(msgs) {
  return msgs.map((m) => {
    assert.ok(Number.isSafeInteger(m.id), `message without an integer id: ${JSON.stringify(m).slice(0, 120)}`);
    return m.id;
  });
}

function sseIds(events) {
  return events.map((e) => {
    assert.match(String(e.id), /^\d+$/, `event id ${e.id}`);
    const id = Number(e.id);
    assert.strictEqual(JSON.parse(e.data).id, id, 'the data carries the event id');
    return id;
  });
}

function consecutive(ids, label) {
  for (let i = 1; i < ids.length; i++) {
    assert.strictEqual(ids[i], ids[i - 1] + 1, `${label}: id ${ids[i]} after ${ids[i - 1]}`);
  }
}

test('WebSocket ?since= and Last-Event-ID resume exactly: what a reference client got, nothing repeated or lost', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 200 }) });
  const ref = c.openWs(d.url('/', 'ws'));
  const refDom = c.openWs(d.url('/domains-only', 'ws'));
  t.after(() => { ref.close(); refDom.close(); });
  await Promise.all([ref.opened, refDom.opened]);
  const a = c.openWs(d.url('/', 'ws'));
  await a.opened;
  await c.waitFor(() => a.messages.length >= 20, 10000, '20 messages');
  a.close();
  await c.sleep(50);
  const last = a.messages[a.messages.length - 1].id;
  await c.sleep(400); // ~80 records published while away
  const bySince = c.openWs(d.url(`/?since=${last}`, 'ws'));
  const byHeader = c.openWs(d.url('/', 'ws'), { headers: { 'Last-Event-ID': String(last) } });
  const dom = c.openWs(d.url(`/domains-only?since=${last}&gaps=1`, 'ws'));
  t.after(() => { bySince.close(); byHeader.close(); dom.close(); });
  await Promise.all([bySince.opened, byHeader.opened, dom.opened]);
  await c.waitFor(() => bySince.messages.length >= 150 && byHeader.messages.length >= 150 &&
    dom.messages.length >= 150, 15000, '150 messages after the resume');
  const upTo = Math.min(...[bySince, byHeader, dom].map((x) => x.messages[149].id));
  await c.waitFor(() => ref.messages.length > 0 && ref.messages[ref.messages.length - 1].id >= upTo &&
    refDom.messages.length > 0 && refDom.messages[refDom.messages.length - 1].id >= upTo, 10000, 'reference clients');

  const refIds = wsIds(ref.messages);
  consecutive(refIds, 'reference');
  const from = a.messages[0].id;
  const want = ref.messages.filter((m) => m.id >= from && m.id <= upTo);
  assert.strictEqual(want[0].id, from, 'the reference client started first');
  for (const [label, b, r] of [['since', bySince, ref], ['Last-Event-ID', byHeader, ref], ['domains since', dom, refDom]]) {
    assert.ok(!b.messages.some((m) => m.message_type === 'gap'), `${label}: a gap notice, but nothing was lost`);
    assert.strictEqual(b.messages[0].id, last + 1, `${label}: resumed at ${b.messages[0].id}, not after ${last}`);
    const got = (label === 'domains since' ? [] : a.messages).concat(b.messages).filter((m) => m.id <= upTo);
    const ids = wsIds(got);
    consecutive(ids, label);
    const refSlice = r.messages.filter((m) => m.id >= ids[0] && m.id <= upTo);
    assert.deepStrictEqual(ids, wsIds(refSlice), `${label}: ids differ from the reference client's`);
    assert.deepStrictEqual(got.map(c.keyOf), refSlice.map(c.keyOf), `${label}: records differ from the reference client's`);
  }
  assert.deepStrictEqual(want.map(c.keyOf), a.messages.concat(bySince.messages).filter((m) => m.id <= upTo).map(c.keyOf));
  // /latest.json and /example.json records carry their ids too.
  const latest = JSON.parse((await c.httpGet(d.url('/latest.json'))).body);
  assert.ok(latest.messages.length > 0);
  for (let i = 1; i < latest.messages.length; i++) {
    assert.strictEqual(latest.messages[i].id, latest.messages[i - 1].id - 1, 'latest.json: newest first, by id');
  }
  const ex = JSON.parse((await c.httpGet(d.url('/example.json'))).body);
  assert.ok(Number.isSafeInteger(ex.id), `example.json id ${ex.id}`);
  // A since that is not an id is refused, not taken as "live".
  const bad = c.openWs(d.url('/?since=abc', 'ws'));
  await assert.rejects(bad.opened, /HTTP 400/);
});

// Phase by phase on one port and one segment name: kill -9 (the segment,
// and the ring in it, is carried over: a resume gets the records), then
// SIGTERM (the segment is removed: a resume is told of the gap), and ids
// never go back.
test('ids are never reused across restarts; a resume across one gets the records the ring kept, or a gap notice', async (t) => {
  const shmName = `/certstream-test-resume-${process.pid}`;
  const env = { CERTSTREAM_SHM_NAME: shmName };
  const conf = c.confFor(feed.file, { rate: 200 });
  t.after(() => {
    for (const f of [`/dev/shm${shmName}`, `/dev/shm${shmName}-dedup`]) fs.rmSync(f, { force: true });
  });
  let d = await startDaemon({ t, workers: 1, conf, env });
  const port = d.port;
  let ws = c.openWs(d.url('/', 'ws'));
  let sse = c.openSseRaw(d.url('/sse'));
  await Promise.all([ws.opened, sse.ready]);
  await c.waitFor(() => ws.messages.length >= 20 && sse.events.length >= 20, 10000, '20 records each');
  ws.close();
  sse.close();
  await c.sleep(50);
  let seen = wsIds(ws.messages).concat(sseIds(sse.events));
  let lastWs = ws.messages[ws.messages.length - 1].id;
  let lastSse = Number(sse.events[sse.events.length - 1].id);
  await c.sleep(200);

  // kill -9: the ring is carried over, ids go on where they were.
  await d.stop('SIGKILL');
  d = await startDaemon({ t, workers: 1, conf, env, port });
  ws = c.openWs(d.url(`/?since=${lastWs}&gaps=1`, 'ws'));
  sse = c.openSseRaw(d.url('/sse'), { 'Last-Event-ID': String(lastSse) });
  await Promise.all([ws.opened, sse.ready]);
  await c.waitFor(() => ws.messages.length >= 80 && sse.events.length >= 80, 15000, '80 records each after kill -9');
  ws.close();
  sse.close();
  await c.sleep(50);
  assert.ok(!ws.messages.some((m) => m.message_type === 'gap'), 'WebSocket: a gap notice after kill -9');
  assert.deepStrictEqual(sse.gaps, [], 'SSE: a gap notice after kill -9');
  let ids = wsIds(ws.messages);
  assert.strictEqual(ids[0], lastWs + 1, 'WebSocket resumed after its id across kill -9');
  consecutive(ids, 'WebSocket across kill -9');
  const sids = sseIds(sse.events);
  assert.strictEqual(sids[0], lastSse + 1, 'SSE resumed after its id across kill -9');
  consecutive(sids, 'SSE across kill -9');
  seen = seen.concat(ids, sids);
  lastWs = ids[ids.length - 1];
  lastSse = sids[sids.length - 1];

  // SIGTERM: the segment goes; the next run's ids are all above the old.
  const before = Math.max(...seen);
  await d.stop('SIGTERM');
  d = await startDaemon({ t, workers: 1, conf, env, port });
  ws = c.openWs(d.url(`/?since=${lastWs}&gaps=1`, 'ws'));
  const plain = c.openWs(d.url(`/?since=${lastWs}`, 'ws'));
  sse = c.openSseRaw(d.url('/sse'), { 'Last-Event-ID': String(lastSse) });
  await Promise.all([ws.opened, plain.opened, sse.ready]);
  await c.waitFor(() => ws.messages.length >= 21 && plain.messages.length >= 20 && sse.events.length >= 20,
    15000, '20 records each after SIGTERM');
  ws.close();
  plain.close();
  sse.close();
  await d.stop('SIGTERM');

  const gap = ws.messages[0];
  assert.strictEqual(gap.message_type, 'gap', `WebSocket gaps=1: first message ${JSON.stringify(gap).slice(0, 100)}`);
  assert.deepStrictEqual(Object.keys(gap).sort(), ['from_id', 'message_type', 'skipped', 'to_id']);
  assert.strictEqual(gap.from_id, lastWs + 1);
  assert.ok(gap.to_id < ws.messages[1].id && gap.to_id >= before, `gap to ${gap.to_id}`);
  assert.ok(Number.isSafeInteger(gap.skipped) && gap.skipped >= 0);
  assert.ok(!ws.messages.slice(1).some((m) => m.message_type === 'gap'));
  assert.ok(!plain.messages.some((m) => m.message_type === 'gap'), 'a gap message without gaps=1');
  assert.strictEqual(sse.gaps.length, 1, `SSE gap notices: ${JSON.stringify(sse.gaps)}`);
  assert.strictEqual(sse.gaps[0].before, 0, 'the SSE gap notice comes before the first record');
  assert.strictEqual(sse.gaps[0].from_id, lastSse + 1);
  ids = wsIds(ws.messages.slice(1)).concat(wsIds(plain.messages), sseIds(sse.events));
  const low = Math.min(...ids);
  assert.ok(low > before, `an id of the new run (${low}) is not above every old one (${before})`);
  consecutive(wsIds(ws.messages.slice(1)), 'WebSocket after SIGTERM');
  consecutive(sseIds(sse.events), 'SSE after SIGTERM');
});

// A client that stops reading while a small ring (16 records) laps it.
test('a lapped client is told what it missed before the next record: SSE event: gap, WebSocket with gaps=1; none without', async (t) => {
  const d = await startDaemon({
    t, workers: 1, conf: c.confFor(feed.file, { rate: 1000, extra: 'buffer_size: 16' }),
  });
  const sse = c.openSseRaw(d.url('/sse?stream=full'));
  const wsGaps = c.openWs(d.url('/full-stream?gaps=1', 'ws'));
  const wsPlain = c.openWs(d.url('/full-stream', 'ws'));
  t.after(() => { sse.close(); wsGaps.close(); wsPlain.close(); });
  await Promise.all([sse.ready, wsGaps.opened, wsPlain.opened]);
  // Each stops reading after its first records, before the kernel has
  // grown its receive buffer.
  const socks = [[sse.req.socket, () => sse.events.length], [wsGaps.ws._socket, () => wsGaps.messages.length],
    [wsPlain.ws._socket, () => wsPlain.messages.length]];
  await Promise.all(socks.map(async ([s, n]) => {
    await c.waitFor(() => n() >= 2, 10000, 'streaming');
    s.pause();
  }));
  await c.sleep(3000); // ~3000 records of the full stream: far past 16 and the socket buffers
  socks.forEach(([s]) => s.resume());
  // Until each has caught up with a client that starts live now.
  const live = c.openWs(d.url('/full-stream', 'ws'));
  t.after(() => live.close());
  await c.waitFor(() => live.messages.length >= 1, 10000, 'a live client');
  const now = live.messages[0].id;
  const lastId = (list) => (list.length ? Number(list[list.length - 1].id) : -1);
  await c.waitFor(() => lastId(sse.events) >= now && lastId(wsGaps.messages) >= now &&
    lastId(wsPlain.messages) >= now, 15000, 'streaming again');
  sse.close();
  wsGaps.close();
  wsPlain.close();
  await c.sleep(50);

  // SSE: each gap sits between the records around it; everything else is consecutive.
  const sj = sseIds(sse.events).filter((id, i, a) => i > 0 && id !== a[i - 1] + 1).length;
  assert.ok(sse.gaps.length >= 1, `SSE: no gap notice (${sj} jumps, comments ${JSON.stringify(sse.comments.slice(0, 3))})`);
  assert.ok(sse.comments.some((x) => /skipped/.test(x.text)), 'SSE: the skipped comment is kept');
  const sids = sseIds(sse.events);
  let at = 0;
  for (const g of sse.gaps) {
    assert.deepStrictEqual(Object.keys(g).sort(), ['at', 'before', 'from_id', 'skipped', 'to_id']);
    assert.ok(g.before > 0 && g.before < sids.length, 'SSE: a gap with records on both sides');
    consecutive(sids.slice(at, g.before), 'SSE between gaps');
    assert.strictEqual(g.from_id, sids[g.before - 1] + 1, 'SSE gap from_id');
    assert.strictEqual(g.to_id, sids[g.before] - 1, 'SSE gap to_id');
    assert.strictEqual(g.skipped, g.to_id - g.from_id + 1, 'SSE gap count');
    at = g.before;
  }
  consecutive(sids.slice(at), 'SSE after the last gap');

  // WebSocket, gaps=1: the same, in band.
  const msgs = wsGaps.messages;
  const gaps = msgs.map((m, i) => [m, i]).filter(([m]) => m.message_type === 'gap');
  assert.ok(gaps.length >= 1, 'WebSocket gaps=1: no gap message');
  for (const [g, i] of gaps) {
    assert.deepStrictEqual(Object.keys(g), ['message_type', 'skipped', 'from_id', 'to_id']);
    assert.ok(i > 0 && i < msgs.length - 1);
    assert.strictEqual(g.from_id, msgs[i - 1].id + 1, 'WebSocket gap from_id');
    assert.strictEqual(g.to_id, msgs[i + 1].id - 1, 'WebSocket gap to_id');
    assert.strictEqual(g.skipped, g.to_id - g.from_id + 1, 'WebSocket gap count');
  }
  const recs = msgs.filter((m) => m.message_type !== 'gap');
  const jumps = recs.filter((m, i) => i > 0 && m.id !== recs[i - 1].id + 1).length;
  assert.strictEqual(jumps, gaps.length, 'WebSocket gaps=1: a jump in ids without a gap message');

  // WebSocket without gaps=1: lapped as well (ids jump), never told.
  assert.ok(!wsPlain.messages.some((m) => m.message_type === 'gap'), 'a gap message without gaps=1');
  const pids = wsIds(wsPlain.messages);
  assert.ok(pids.some((id, i) => i > 0 && id !== pids[i - 1] + 1), 'the plain WebSocket client was not lapped');
  c.checkInOrder(feed, wsPlain.messages.slice(0, 5), 'plain');
});

test('a resume into an idle, empty ring is told its gap at once, not when a record comes', async (t) => {
  // No log: nothing is ever published, so a notice held for the next
  // record would never go out.
  const dir = fs.mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'certstream-idle-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const list = `${dir}/list.json`;
  fs.writeFileSync(list, JSON.stringify({ version: '1', operators: [] }));
  const d = await startDaemon({
    t, workers: 1, conf: `source: ct\nct_logs_url: ${JSON.stringify(list)}\nct_log:\n  state_file: ${JSON.stringify(`${dir}/state.json`)}\n`,
  });
  const ws = c.openWs(d.url('/?since=5&gaps=1', 'ws'));
  const sse = c.openSseRaw(d.url('/sse'), { 'Last-Event-ID': '5' });
  t.after(() => { ws.close(); sse.close(); });
  await Promise.all([ws.opened, sse.ready]);
  await c.waitFor(() => ws.messages.length >= 1 && sse.gaps.length >= 1, 3000, 'a gap notice on each');
  const gap = ws.messages[0];
  assert.strictEqual(gap.message_type, 'gap', JSON.stringify(gap));
  assert.strictEqual(gap.from_id, 6);
  assert.strictEqual(sse.gaps[0].from_id, 6);
  assert.deepStrictEqual(sse.events, [], 'no record in an empty ring');
});
