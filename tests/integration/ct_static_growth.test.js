'use strict';
// static-ct-api logs as real ones behave, followed end to end: a tree that
// grows between any two requests, a checkpoint published every second and
// served stale by a cache, partial tiles deleted once their full tile
// exists, gzip sent unasked, witness cosignatures; and the bytes a log
// operator pays for what certstream streams.

const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startDaemon, runBin, testDir } = require('./lib/daemon');
const c = require('./lib/clients');
const { request, startFakelog } = require('./lib/fakelog');
const { ctConf, writeList, openCollector, logStatus, assertExactlyOnce } = require('./lib/ctwatch');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Wait for pred (which may be async); what may be a function, so the
// message says where things stood.
async function waitFor(pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    }
    await sleep(50);
  }
}

// extra: "  key: value" lines under ct_log, replacing ctwatch's defaults;
// partial_tile_wait_ms stays at the daemon's default unless given, and
// polls are every 200 ms.
function conf(listFile, stateFile, extra = []) {
  const ctLog = { poll_interval_ms: 200, partial_tile_wait_ms: null, batch_size: null };
  for (const l of extra) {
    const i = l.indexOf(':');
    ctLog[l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  return ctConf(listFile, stateFile, { ctLog });
}

// A daemon with a collector, told of every log of fl once the client is in.
async function watch(fl, t, extra) {
  const dir = testDir(t, 'ct-static-');
  const listFile = path.join(dir, 'loglist.json');
  fs.writeFileSync(listFile, '{"operators":[]}\n');
  const d = await startDaemon({ conf: conf(listFile, path.join(dir, 'state.json'), extra), t });
  const col = openCollector(d);
  await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
  const list = (await request('GET', fl.url('/loglist.json'))).body;
  writeList(listFile, list);
  return { d, col };
}

// Stop a log's growth where it is; its size then.
async function freeze(fl, name) {
  const st = await fl.state(name);
  await request('POST', fl.url(`/control/${name}/grow?n=0&max=${st.size}`));
  return (await fl.state(name)).published_size;
}


test('a tree that grows between any two requests is followed while it grows, not only once it stops',
  { timeout: 60000 }, async (t) => {
    // Every request (the daemon's own included) adds an entry, and a timer
    // 100 a second: no two checkpoints are alike. Streaming stalled at the
    // first tree head before (its right-edge hash tiles never matched the
    // next head's).
    const fl = await startFakelog(['--static', 'g1', '--initial-size', '300',
      '--grow-per-request', '1', '--grow-per-sec', '100', '--max-size', '100000'], t);
    const { col } = await watch(fl, t, ['  partial_tile_wait_ms: 1000']);
    const u = fl.logUrl('g1');
    await waitFor(() => col.count(u) >= 300, 15000, 'first tree streamed');
    const at = (await fl.state('g1')).size;
    // at least two more full tiles while it keeps growing
    await waitFor(() => col.count(u) >= at + 512, 25000,
      () => `streamed ${col.count(u)} of a tree that was ${at} and is still growing`);
    const st = await fl.state('g1');
    assert.ok(st.size > at + 512, 'the log was still growing');
    const final = await freeze(fl, 'g1');
    await waitFor(() => col.count(u) === final, 15000, () => `${col.count(u)} of ${final}`);
    await sleep(500);
    assertExactlyOnce(col.byLog.get(u), final, 'g1');
    col.close();
  });

test('published every second, served stale by a cache, partials deleted, gzip unasked, ' +
  'cosigned: every entry once, and a partial that is gone is fetched as its full tile',
{ timeout: 60000 }, async (t) => {
  const fl = await startFakelog(['--static', 'p1', '--static', 'p2', '--initial-size', '180',
    '--grow-per-sec', '150', '--max-size', '1200', '--publish-ms', '1000',
    '--stale-checkpoint-ms', '1200', '--delete-partials', '--gzip-always',
    '--cosignatures', '2'], t);
  const { d, col } = await watch(fl, t, ['  partial_tile_wait_ms: 0']);
  for (const n of ['p1', 'p2']) {
    const u = fl.logUrl(n);
    await waitFor(() => col.count(u) === 1200, 40000,
      () => `${n}: ${col.count(u)} of 1200 streamed`);
  }
  await sleep(500);
  for (const n of ['p1', 'p2']) {
    assertExactlyOnce(col.byLog.get(fl.logUrl(n)), 1200, n);
    const reqs = await fl.requests(n);
    // partials named by a stale checkpoint were found gone, and the full
    // tile asked for instead
    const gone = reqs.filter((r) => /\/tile\/data\/.*\.p\//.test(r.path) && r.status === 404);
    for (const g of gone) {
      const full = g.path.replace(/\.p\/\d+$/, '');
      assert.ok(reqs.some((r) => r.path === full && (r.status === 200 || r.status === 206) && r.ms >= g.ms),
        `${n}: ${g.path} answered 404 and ${full} was not asked after it`);
    }
    const st = await logStatus(d, fl.logUrl(n));
    assert.strictEqual(st.state, 'ok', `${n}: ${JSON.stringify(st)}`);
  }
  col.close();
});

test('a partial that is gone does not stall the log; a log that takes nothing shows failing with its reason',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--static', 'gone', '--initial-size', '180',
      '--grow-per-sec', '0', '--delete-partials'], t);
    const { d, col } = await watch(fl, t, ['  partial_tile_wait_ms: 0', '  request_timeout_secs: 2']);
    const u = fl.logUrl('gone');
    await waitFor(() => col.count(u) === 180, 15000, 'first 180');
    // Data tiles fail while the tree grows past the tile: the log is stuck
    // behind and says so.
    await fl.fault('gone', '500', 0, '&on=entries');
    await fl.grow('gone', 420);
    await waitFor(async () => {
      const st = await logStatus(d, u);
      return st && st.state !== 'ok' && /HTTP 500/.test(st.last_error || '');
    }, 15000, 'the stuck log is not ok, with its reason');
    const metrics = (await request('GET', d.url('/metrics'))).body;
    assert.match(metrics, /certstream_ct_log_state\{log="Fakelog 'gone'",state="(lagging|failing)",reason="[^"]*HTTP 500[^"]*"\} 1/);
    // Back: the partial 000.p/W it wanted is gone (404); the full tile is
    // fetched instead and everything streams.
    await request('DELETE', fl.url('/control/gone/fault'));
    await waitFor(() => col.count(u) === 600, 20000, () => `${col.count(u)} of 600`);
    assertExactlyOnce(col.byLog.get(u), 600, 'gone');
    await waitFor(async () => (await logStatus(d, u)).state === 'ok', 10000, 'ok again');
    col.close();
  });

test('a slowly growing partial tile costs its own bytes once: never the same width twice, only new bytes by Range',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--static', 'slow', '--initial-size', '100',
      '--grow-per-sec', '10', '--max-size', '160'], t);
    const { col } = await watch(fl, t, ['  partial_tile_wait_ms: 1000']);
    const u = fl.logUrl('slow');
    await waitFor(() => col.count(u) === 160, 30000, () => `${col.count(u)} of 160`);
    await sleep(1500);
    assertExactlyOnce(col.byLog.get(u), 160, 'slow');
    const reqs = (await fl.requests('slow')).filter((r) => r.path.includes('/tile/data/'));
    const dataBytes = reqs.reduce((a, r) => a + r.bytes, 0);
    const seen = new Set();
    for (const r of reqs) {
      if (r.status !== 200 && r.status !== 206) continue;
      assert.ok(!seen.has(r.path), `${r.path} fetched twice`);
      seen.add(r.path);
    }
    // at most one partial a second (the wait), however often it is polled
    const partials = reqs.filter((r) => /\.p\//.test(r.path));
    assert.ok(partials.length <= 8, `${partials.length} partial data tiles in 6 s of growth`);
    // the entries' own bytes: the partial tile of all 160
    const own = (await request('GET', fl.url('/slow/tile/data/000.p/160'))).body.length;
    const ratio = dataBytes / own;
    assert.ok(ratio <= 1.3, `data tiles downloaded ${dataBytes} bytes for ${own} bytes of entries (${ratio.toFixed(2)}x)`);
    col.close();
  });

test('User-Agent names the version and ct_log.contact; a contact with a control character is refused',
  { timeout: 30000 }, async (t) => {
    let ua = null;
    const srv = http.createServer((req, res) => {
      ua = req.headers['user-agent'];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"operators":[]}');
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    t.after(() => srv.close());
    const dir = testDir(t, 'ct-ua-');
    const version = fs.readFileSync(path.join(__dirname, '..', '..', 'VERSION'), 'utf8').trim();
    const cf = conf(`http://127.0.0.1:${srv.address().port}/list.json`, path.join(dir, 'state.json'),
      ['  contact: "mailto:ct-ops@example.org"']);
    await startDaemon({ conf: cf, t });
    await waitFor(() => ua !== null, 10000, 'log list fetched');
    assert.strictEqual(ua, `certstream/${version} (+mailto:ct-ops@example.org)`);
    // a header injection through the config is refused with the key named
    const bad = path.join(dir, 'bad.conf');
    fs.writeFileSync(bad, 'ct_log:\n  contact: "ops\\r\\nX-Injected: 1"\n');
    const r = await runBin(['-n', '-c', bad]);
    assert.notStrictEqual(r.code, 0);
    assert.match(r.stderr, /ct_log\.contact: printable ASCII only/);
  });
