'use strict';
// Server-Sent Events: the three streams, ids, Last-Event-ID resume, and
// curl -N as a client.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const { spawn, spawnSync } = require('node:child_process');
const { startDaemon } = require('./lib/daemon');
const c = require('./lib/clients');

const feed = c.loadFeed(c.feedPath());
const WANT = Math.min(50, feed.records.length + 10);

function ids(events) {
  return events.map((e) => {
    assert.match(e.id, /^\d+$/, `event id ${e.id}`);
    return BigInt(e.id);
  });
}

function checkConsecutive(list, label) {
  for (let i = 1; i < list.length; i++) {
    assert.strictEqual(list[i], list[i - 1] + 1n, `${label}: id ${list[i]} after ${list[i - 1]}`);
  }
}

test('SSE streams deliver the replayed records in order with consecutive ids', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 150 }) });
  const streams = [
    ['/sse', 'lite'],
    ['/sse?stream=lite', 'lite'],
    ['/sse?stream=full', 'full'],
    ['/sse?stream=domains', 'domains'],
  ].map(([p, form]) => ({ p, form, s: c.openSseRaw(d.url(p)) }));
  t.after(() => streams.forEach((x) => x.s.close()));
  await Promise.all(streams.map((x) => x.s.ready));
  for (const { p, s } of streams) {
    assert.strictEqual(s.status, 200, p);
    assert.match(s.headers['content-type'], /^text\/event-stream/, p);
  }
  await c.waitFor(() => streams.every((x) => x.s.events.length >= WANT), 20000, `${WANT} events per stream`);
  for (const { p, form, s } of streams) {
    const evs = s.events.slice(0, WANT);
    const msgs = evs.map((e) => JSON.parse(e.data));
    c.checkInOrder(feed, msgs, p);
    for (const m of msgs) c.checkForm(feed, m, form);
    checkConsecutive(ids(evs), p);
  }
});

test('the eventsource client receives the streams', async (t) => {
  const d = await startDaemon({ t, workers: 1, conf: c.confFor(feed.file, { rate: 150 }) });
  const lite = c.openEventSource(d.url('/sse'));
  const dom = c.openEventSource(d.url('/sse?stream=domains'));
  t.after(() => { lite.close(); dom.close(); });
  await Promise.all([lite.opened, dom.opened]);
  await c.waitFor(() => lite.events.length >= 20 && dom.events.length >= 20, 15000, '20 events each');
  const lm = lite.events.map((e) => JSON.parse(e.data));
  c.checkInOrder(feed, lm, 'eventsource lite');
  lm.forEach((m) => c.checkForm(feed, m, 'lite'));
  const dm = dom.events.map((e) => JSON.parse(e.data));
  c.checkInOrder(feed, dm, 'eventsource domains');
  dm.forEach((m) => c.checkForm(feed, m, 'domains'));
  checkConsecutive(ids(lite.events), 'eventsource lite');
  assert.strictEqual(lite.errors.length, 0);
});

test('Last-Event-ID resumes after a disconnect without losing a record', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 200 }) });
  const first = c.openSseRaw(d.url('/sse?stream=full'));
  t.after(() => first.close());
  await first.ready;
  await c.waitFor(() => first.events.length >= 15, 10000, '15 events');
  first.close();
  const got = first.events.slice();
  const last = got[got.length - 1];
  // Records keep flowing while the client is away.
  await c.sleep(400);
  const reconnectAt = Date.now();
  const again = c.openSseRaw(d.url('/sse?stream=full'), { 'Last-Event-ID': last.id });
  t.after(() => again.close());
  await again.ready;
  assert.strictEqual(again.status, 200);
  await c.waitFor(() => again.events.length >= 40, 10000, '40 events after resuming');
  again.close();
  const all = got.concat(again.events);
  checkConsecutive(ids(all), 'across the reconnect');
  c.checkInOrder(feed, all.map((e) => JSON.parse(e.data)), 'across the reconnect');
  // The first records after the reconnect come from the ring: they were
  // published while the client was away.
  const firstSeen = JSON.parse(again.events[0].data).data.seen * 1000;
  assert.ok(firstSeen < reconnectAt - 200, `first resumed record seen ${reconnectAt - firstSeen} ms before reconnecting`);
  assert.ok(!again.comments.some((x) => /skip/i.test(x.text)), 'nothing was skipped');
});

test('the eventsource client resumes with Last-Event-ID when the server drops it', async (t) => {
  const d = await startDaemon({ t, workers: 1, conf: c.confFor(feed.file, { rate: 100 }) });
  const es = c.openEventSource(d.url('/sse?stream=domains'));
  t.after(() => es.close());
  await es.opened;
  await c.waitFor(() => es.events.length >= 10, 10000, '10 events');
  // Drop every connection by restarting the only worker; the client
  // reconnects by itself, sending the last id it saw.
  const kids = d.childPids();
  const before = es.events.length;
  let worker = null;
  for (const pid of kids) {
    let title = '';
    try { title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch (_) { /* gone */ }
    if (/worker/.test(title)) worker = pid;
  }
  assert.notStrictEqual(worker, null, `no process titled "worker" among ${kids}`);
  process.kill(worker, 'SIGKILL');
  await c.waitFor(() => es.events.length >= before + 60, 20000, 'events after the reconnect');
  assert.ok(es.errors.length >= 1, 'the connection never dropped');
  checkConsecutive(ids(es.events), 'eventsource across a worker restart');
  c.checkInOrder(feed, es.events.map((e) => JSON.parse(e.data)), 'eventsource across a worker restart');
});

test('Last-Event-ID older than the ring: starts at the newest record and says how many were skipped', async (t) => {
  const d = await startDaemon({
    t, workers: 1, conf: c.confFor(feed.file, { rate: 400, extra: 'buffer_size: 16' }),
  });
  const s = c.openSseRaw(d.url('/sse?stream=lite'));
  t.after(() => s.close());
  await s.ready;
  await c.waitFor(() => s.events.length >= 2, 10000, '2 events');
  s.close();
  const old = s.events[0].id;
  await c.sleep(500); // ~200 records: far more than the 16 the ring keeps
  const again = c.openSseRaw(d.url('/sse?stream=lite'), { 'Last-Event-ID': old });
  t.after(() => again.close());
  await again.ready;
  await c.waitFor(() => again.events.length >= 5, 10000, '5 events');
  again.close();
  const skip = again.comments.find((x) => /skip/i.test(x.text));
  assert.ok(skip, `no comment about skipped records: ${JSON.stringify(again.comments)}`);
  const n = Number((skip.text.match(/\d+/) || [])[0]);
  const resumed = BigInt(again.events[0].id);
  assert.ok(resumed > BigInt(old) + 16n, `resumed at ${resumed}, not near the newest`);
  assert.strictEqual(BigInt(n), resumed - BigInt(old) - 1n, `skip count ${n} for ${old} -> ${resumed}`);
  checkConsecutive(ids(again.events), 'after the skip');
});

test('curl -N /sse streams events', { skip: spawnSync('curl', ['--version']).status !== 0 && 'no curl' },
  async (t) => {
    const d = await startDaemon({ t, workers: 1, conf: c.confFor(feed.file, { rate: 100 }) });
    const curl = spawn('curl', ['-sS', '-N', '--max-time', '3', d.url('/sse')]);
    let out = '';
    curl.stdout.on('data', (b) => { out += b.toString(); });
    const code = await new Promise((resolve) => curl.on('exit', (x) => resolve(x)));
    assert.strictEqual(code, 28, 'curl should still be streaming when --max-time ends it'); // 28: timeout
    const events = out.split('\n\n').filter((b) => /^data: /m.test(b));
    assert.ok(events.length >= 100, `only ${events.length} events in 3 s at 100/s`);
    const msgs = events.map((b) => {
      const m = b.match(/^id: (\d+)$/m);
      assert.ok(m, `event without id: ${b.slice(0, 80)}`);
      return JSON.parse(b.match(/^data: (.*)$/m)[1]);
    });
    c.checkInOrder(feed, msgs, 'curl');
    msgs.forEach((m) => c.checkForm(feed, m, 'lite'));
  });
