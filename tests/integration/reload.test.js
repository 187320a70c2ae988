'use strict';
// Live reload (SIGHUP) of the real daemon, 2 workers:
//  - with 1,000 streaming clients the tokens change: no client is dropped,
//    every one keeps receiving; the old token is refused and the new one
//    accepted on every worker;
//  - log.target moves to a new file (master, ingest and workers write there
//    from then on);
//    one that cannot be opened keeps the running one.
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startDaemon, sleep, testDir } = require('./lib/daemon');
const c = require('./lib/clients');

const WebSocket = require(path.join(__dirname, '..', 'node', 'node_modules', 'ws'));
const N = 1000;

function status(url) {
  return new Promise((resolve) => {
    http.get(url, (res) => { res.resume(); resolve(res.statusCode); res.destroy(); })
      .on('error', () => resolve(0));
  });
}

test('SIGHUP with 1,000 connected clients changes the tokens: none dropped, all keep receiving; old token refused, new one needed',
  { timeout: 60000 }, async (t) => {
    const conf = (tok) => c.confFor(c.feedPath(), {
      rate: 20,
      extra: ['auth:', '  enabled: true', `  tokens: ["${tok}"]`,
        'server:', '  heartbeat_interval_secs: 0', ''].join('\n'),
    });
    const d = await startDaemon({ t, workers: 2, conf: conf('old-token') });
    const clients = [];
    t.after(() => { for (const x of clients) x.ws.terminate(); });
    for (let i = 0; i < N; i++) {
      const x = { n: 0, open: false, closed: null };
      x.ws = new WebSocket(d.url('/?token=old-token', 'ws'), { perMessageDeflate: false });
      x.ws.on('open', () => { x.open = true; });
      x.ws.on('message', () => { x.n++; });
      x.ws.on('close', (code) => { x.closed = code; });
      x.ws.on('error', () => {});
      clients.push(x);
      if (i % 100 === 99) await c.waitFor(() => clients.every((y) => y.open || y.closed !== null), 10000, 'a batch open');
    }
    assert.strictEqual(clients.filter((x) => x.open).length, N, 'all 1,000 connected');
    await c.waitFor(() => clients.every((x) => x.n >= 1), 10000, 'every client receiving before the reload');
    const m = await c.metric(d, 'certstream_clients');
    assert.strictEqual(m, N);

    fs.writeFileSync(d.confPath, conf('new-token'));
    process.kill(d.pid, 'SIGHUP');
    // Both workers have reloaded once 20 probes in a row get 401.
    let run = 0;
    const deadline = Date.now() + 10000;
    while (run < 20) {
      run = (await status(d.url('/sse?token=old-token'))) === 401 ? run + 1 : 0;
      assert.ok(Date.now() < deadline, 'the old token is still accepted 10 s after SIGHUP');
    }
    const marks = clients.map((x) => x.n);
    for (let i = 0; i < 10; i++) {
      const w = c.openWs(d.url('/?token=new-token', 'ws'));
      await w.opened;
      w.close();
      const o = c.openWs(d.url('/?token=old-token', 'ws'));
      await assert.rejects(o.opened, /401/);
    }
    await c.waitFor(() => clients.every((x, i) => x.n >= marks[i] + 3), 15000,
      'every one of the 1,000 clients receiving after the reload');
    assert.deepStrictEqual(clients.filter((x) => x.closed !== null).map((x) => x.closed), [], 'no client dropped');
    assert.strictEqual(await c.metric(d, 'certstream_clients'), N);
  });

test('SIGHUP moves log.target to a new file in every process; one that cannot be opened keeps the running one', async (t) => {
  const dir = testDir(t, 'certstream-logs-');
  const a = path.join(dir, 'a.log');
  const b = path.join(dir, 'b.log');
  const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  const conf = (target) => c.confFor(c.feedPath(), { rate: 10, extra: `log:\n  target: ${JSON.stringify(target)}\n` });
  const d = await startDaemon({ t, workers: 2, conf: conf(a) });
  await c.waitFor(() => /worker 1: serving/.test(read(a)) && /ingest: started/.test(read(a)), 5000,
    'ingest and workers logging to a.log');

  fs.writeFileSync(d.confPath, conf(b));
  process.kill(d.pid, 'SIGHUP');
  // every process says where it goes on the old file, then writes on the new one
  await c.waitFor(() => /worker 0: SIGHUP: configuration/.test(read(b)) &&
    /worker 1: SIGHUP: configuration/.test(read(b)) && /ingest: configuration reloaded/.test(read(b)) &&
    /master: reload: configuration .* applied/.test(read(b)), 5000, 'master, ingest and both workers logging to b.log');
  for (const who of ['master', 'ingest', 'worker 0', 'worker 1'])
    assert.match(read(a), new RegExp(`${who}: reload: logging to .*b\\.log from now on`), `${who} announced the move in a.log`);

  const bad = path.join(dir, 'no-such-dir', 'c.log');
  fs.writeFileSync(d.confPath, conf(bad));
  const before = read(b).length;
  const aBefore = read(a).length;
  process.kill(d.pid, 'SIGHUP');
  await c.waitFor(() => {
    const nb = read(b).slice(before);
    return ['master', 'ingest', 'worker 0', 'worker 1'].every((who) =>
      new RegExp(`${who}: (SIGHUP|reload): log\\.target .*c\\.log; keeping .*b\\.log`).test(nb));
  }, 5000, 'every process logged the refusal to b.log');
  await sleep(200);
  const nb = read(b).slice(before);
  assert.ok(/worker \d: SIGHUP: configuration/.test(nb), 'workers still logging to b.log');
  assert.ok(/ingest: configuration reloaded/.test(nb), 'ingest still logging to b.log');
  assert.strictEqual(read(a).length, aBefore, 'nothing went back to a.log');
  assert.ok(!fs.existsSync(bad));
});

// The master parses the file once and hands the children what it applied
// (shm/config_box.c): children that dropped to another user need not read
// it. Before, each child read the file again itself, and one that could not
// (mode 0600, the master's) kept the old tokens.
test('SIGHUP reaches children that cannot read the file: the master parses it once and hands it over',
  { skip: process.getuid() !== 0 && 'needs root: the children must run as another user' }, async (t) => {
    const conf = (tok) => c.confFor(c.feedPath(), {
      rate: 20,
      extra: ['user: nobody', 'auth:', '  enabled: true', `  tokens: ["${tok}"]`, ''].join('\n'),
    });
    const d = await startDaemon({ t, workers: 2, conf: conf('old-token') });
    assert.strictEqual(await status(d.url('/sse?token=new-token')), 401);
    fs.writeFileSync(d.confPath, conf('new-token'));
    fs.chmodSync(d.confPath, 0o600);
    process.kill(d.pid, 'SIGHUP');
    let run = 0;
    const deadline = Date.now() + 10000;
    while (run < 20) {
      run = (await status(d.url('/sse?token=old-token'))) === 401 ? run + 1 : 0;
      assert.ok(Date.now() < deadline, `the old token is still accepted 10 s after SIGHUP\n${d.logs()}`);
    }
    for (let i = 0; i < 10; i++) {
      const w = c.openWs(d.url('/?token=new-token', 'ws'));
      await w.opened;
      w.close();
    }
    assert.doesNotMatch(d.logs(), /Permission denied/);
  });
