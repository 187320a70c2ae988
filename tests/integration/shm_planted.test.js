'use strict';
// Shared memory found at the daemon's names before it starts: the names are
// predictable (/certstream-<port>, /certstream-<port>-dedup), so anyone who
// can write /dev/shm can put something there first.
//
//  - the dedup set: a planted one (a valid header, wild indexes) is never
//    used; the ingest streams normally and is never restarted;
//  - the main segment: random bytes are moved aside and the daemon starts;
//    a segment that is not the daemon user's own with mode 0600 (0644, or
//    owned by nobody) hands nothing on, its records never reach
//    /latest.json; the daemon's own leftover (0600) still does.

const { test } = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { startDaemon, freePort, testDir, sleep } = require('./lib/daemon');
const c = require('./lib/clients');
const { request, getJson, startFakelog } = require('./lib/fakelog');
const { ctConf, writeList } = require('./lib/ctwatch');

const NOBODY = 65534;
const isRoot = process.getuid() === 0;

// Another user's file (root can make one), else one of ours with 0644.
function foreign(file) {
  fs.chmodSync(file, 0o644);
  if (isRoot) fs.chownSync(file, NOBODY, NOBODY);
}

// Files moved aside from the name shm (without /dev/shm), removed when t ends.
function cleanAside(t, name) {
  const clean = () => {
    for (const f of fs.readdirSync('/dev/shm')) {
      if (f.startsWith(`${name}.bad-`)) fs.rmSync(`/dev/shm/${f}`, { force: true });
    }
    fs.rmSync(`/dev/shm/${name}`, { force: true });
  };
  clean();
  t.after(clean);
}

const restarts = (logs) => logs.split('\n').filter((l) => /restarting/.test(l));

// shm/dedup.c's layout: header {magic, cap, sz, head, n, mark, pad},
// cap entries {key[32], t}, then sz uint32 indexes (fifo position + 1).
function hostileDedup(cap) {
  let sz = 16;
  while (sz < cap * 2) sz *= 2;
  const buf = Buffer.alloc(48 + cap * 40 + sz * 4);
  buf.writeBigUInt64LE(0x4445445550303031n, 0);
  buf.writeBigUInt64LE(BigInt(cap), 8);
  buf.writeBigUInt64LE(BigInt(sz), 16);
  buf.writeBigUInt64LE(0n, 24);            // head
  buf.writeBigUInt64LE(1n, 32);            // n: one entry, never expiring
  buf.writeBigInt64LE(1n << 62n, 48 + 32);
  buf.fill(0xff, 48 + cap * 40);           // every index far out of range
  return buf;
}

// Batches at the daemon's defaults except batch_size; a small dedup set.
function planted(listFile, stateFile, dedup) {
  return ctConf(listFile, stateFile, {
    ctLog: { partial_tile_wait_ms: null, fetch_concurrency: null, request_timeout_secs: null, connect_timeout_secs: null },
    dedup, dedupMax: 1000,
  });
}


for (const [what, plant] of [
  ['the daemon user\'s own, mode 0600', (f) => fs.chmodSync(f, 0o600)],
  [isRoot ? 'owned by nobody, mode 0644' : 'mode 0644', foreign],
]) {
  test(`a dedup set planted before the start (${what}, wild indexes) is not used: the ingest streams every entry and is never restarted`,
    { timeout: 60000 }, async (t) => {
      const fl = await startFakelog(['--rfc6962', 'pd', '--initial-size', '300', '--grow-per-sec', '0'], t);
      const dir = testDir(t, 'shm-planted-');
      const listFile = path.join(dir, 'loglist.json');
      writeList(listFile, '{"operators":[]}\n');
      const port = await freePort();
      const name = `certstream-${port}-dedup`;
      cleanAside(t, name);
      fs.writeFileSync(`/dev/shm/${name}`, hostileDedup(1000));
      plant(`/dev/shm/${name}`);
      const d = await startDaemon({ port, conf: planted(listFile, path.join(dir, 'state.json'), true), t });
      const ws = new c.WebSocket(d.url('/full-stream', 'ws'), { perMessageDeflate: false });
      const idx = [];
      ws.on('error', () => {});
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.message_type === 'certificate_update') idx.push(m.data.cert_index);
      });
      await c.waitFor(() => ws.readyState === 1, 5000, 'client open');
      const pid = (await getJson(d.url('/health/deep'))).ingest.pid;
      writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
      await c.waitFor(() => idx.length >= 300 || restarts(d.logs()).length > 0, 20000,
        `300 entries (${idx.length} so far)`);
      await sleep(300);
      assert.deepStrictEqual(restarts(d.logs()), [], 'the ingest was never restarted');
      assert.strictEqual((await getJson(d.url('/health/deep'))).ingest.pid, pid, 'the same ingest');
      assert.strictEqual(idx.length, 300, 'every entry once');
      ws.terminate();
    });
}

// A live segment's bytes, taken while a replay daemon runs: records in its
// ring, log rows, the daemon's own layout.
async function segmentWithRecords(t) {
  const d = await startDaemon({ t });
  const file = `/dev/shm/certstream-${d.port}`;
  let latest = [];
  for (const end = Date.now() + 10000; latest.length < 5; await sleep(100)) {
    assert.ok(Date.now() < end, 'records published');
    latest = JSON.parse((await request('GET', d.url('/latest.json'))).body).messages || [];
  }
  const bytes = fs.readFileSync(file);
  await d.stop('SIGKILL');
  return bytes;
}

// A daemon that publishes nothing itself (no CT log listed): whatever
// /latest.json shows came from the segment it found.
async function startQuiet(t, port) {
  const dir = testDir(t, 'shm-planted-');
  const listFile = path.join(dir, 'loglist.json');
  writeList(listFile, '{"operators":[]}\n');
  return startDaemon({ port, conf: planted(listFile, path.join(dir, 'state.json'), false), t });
}

async function latestCount(d) {
  const body = (await request('GET', d.url('/latest.json'))).body;
  return (JSON.parse(body).messages || []).length;
}

test('random bytes at the segment name: moved aside with one line logged, the daemon starts and serves', async (t) => {
  for (const mode of [0o600, 0o644]) {
    const port = await freePort();
    const name = `certstream-${port}`;
    cleanAside(t, name);
    fs.writeFileSync(`/dev/shm/${name}`, crypto.randomBytes(65536), { mode });
    fs.chmodSync(`/dev/shm/${name}`, mode);
    const d = await startQuiet(t, port);
    const lines = d.logs().split('\n').filter((l) => l.includes(`/${name}`) && /moved aside/.test(l));
    assert.strictEqual(lines.length, 1, d.logs());
    assert.strictEqual(await latestCount(d), 0);
    const aside = fs.readdirSync('/dev/shm').filter((f) => f.startsWith(`${name}.bad-`));
    assert.strictEqual(aside.length, 1, 'the bytes kept beside for a look');
    await d.stop('SIGTERM');
  }
});

test(`a segment ${isRoot ? 'owned by nobody' : 'of mode 0644'} holding records hands none of them on`, async (t) => {
  const bytes = await segmentWithRecords(t);
  const port = await freePort();
  const name = `certstream-${port}`;
  cleanAside(t, name);
  fs.writeFileSync(`/dev/shm/${name}`, bytes);
  foreign(`/dev/shm/${name}`);
  const d = await startQuiet(t, port);
  await sleep(300);
  assert.strictEqual(await latestCount(d), 0, 'no planted record in /latest.json');
  assert.match(d.logs(), /moved aside/);
  const h = await getJson(d.url('/health/deep'));
  assert.strictEqual((h.logs || []).length, 0, 'no planted log row');
});

test('the daemon\'s own leftover (mode 0600, as kill -9 leaves it) is still carried over', async (t) => {
  const bytes = await segmentWithRecords(t);
  const port = await freePort();
  const name = `certstream-${port}`;
  cleanAside(t, name);
  fs.writeFileSync(`/dev/shm/${name}`, bytes, { mode: 0o600 });
  const d = await startQuiet(t, port);
  assert.ok(await latestCount(d) >= 5, 'its records in /latest.json');
  assert.doesNotMatch(d.logs(), /moved aside/);
});
