'use strict';
// One budget per log operator: the bulk requests (get-entries windows,
// data tiles) of all of an operator's logs in flight at once stay within
// ct_log.operator_max_concurrency, seen at the fake log while it holds
// every one of them; once it answers again, every entry of every log is
// streamed exactly once. (The fake log's list names one operator for all
// its logs.)

const { test } = require('node:test');
const assert = require('node:assert');
const { startDaemon } = require('./lib/daemon');
const c = require('./lib/clients');
const w = require('./lib/ctwatch');
const { request, startFakelog } = require('./lib/fakelog');

const SIZE = 1000;

// c.waitFor with a predicate that is awaited.
async function waitForAsync(pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await c.sleep(50);
  }
}
const CAP = 3;

test('the logs of one operator share operator_max_concurrency', { timeout: 90000 }, async (t) => {
  const names = ['oa', 'ob', 'oc'];
  const fl = await startFakelog(['--rfc6962', 'oa', '--rfc6962', 'ob', '--static', 'oc',
    '--real', 'none', '--initial-size', String(SIZE), '--grow-per-sec', '0',
    '--batch-cap', '100', '--hold-secs', '6'], t);
  const list = JSON.parse((await request('GET', fl.url('/loglist.json'))).body);
  assert.strictEqual(list.operators.length, 1, 'one operator for every log');
  // Every bulk request is held (then 504) until the test clears it.
  for (const n of names) assert.strictEqual((await fl.fault(n, 'timeout', 0, '&on=entries')).status, 200);

  const { listFile, stateFile } = w.watchDir(t, 'ct-operator-');
  w.writeList(listFile, list);
  const conf = w.ctConf(listFile, stateFile, { ctLog: {
    batch_size: 100,
    fetch_concurrency: 8,             // 24 windows at once without the cap
    operator_max_concurrency: CAP,
    request_timeout_secs: 15,
  } });
  const d = await startDaemon({ conf, t });
  const col = w.openCollector(d);
  t.after(() => col.close());
  await new Promise((resolve, reject) => { col.ws.once('open', resolve); col.ws.once('error', reject); });

  const bulk = (r) => /get-entries|\/tile\/data\//.test(r.path);
  const held = async () => {
    let n = 0;
    for (const name of names) n += (await fl.requests(name)).filter((r) => bulk(r) && r.status === 0).length;
    return n;
  };
  // Every log asks as soon as its first head is in: wait for the asks.
  await waitForAsync(async () => (await held()) >= CAP, 20000, `${CAP} bulk requests held`);
  await c.sleep(1000);
  const n = await held();
  assert.strictEqual(n, CAP, `${n} bulk requests of one operator in flight, the cap is ${CAP}`);

  for (const name of names) await request('DELETE', fl.url(`/control/${name}/fault`));
  await c.waitFor(() => names.every((nm) => col.count(fl.logUrl(nm)) >= SIZE),
    60000, 'every entry of every log streamed');
  for (const nm of names) w.assertExactlyOnce(col.seq(fl.logUrl(nm)), SIZE, nm);
  assert.strictEqual(col.bad, 0, 'every record whole');
});

test('the logs of one operator share operator_requests_per_second', { timeout: 90000 }, async (t) => {
  if ((process.env.CERTSTREAM_BIN || '').endsWith('-asan')) {
    t.skip('request pacing is the same code in both builds; the plain pass checks it');
    return;
  }
  const RPS = 5;
  const names = ['ra', 'rb', 'rc'];
  const fl = await startFakelog(['--rfc6962', 'ra', '--rfc6962', 'rb', '--static', 'rc',
    '--real', 'none', '--initial-size', '1000', '--grow-per-sec', '0', '--batch-cap', '100'], t);
  const { listFile, stateFile } = w.watchDir(t, 'ct-operator-rate-');
  await w.watchFakelog(listFile, fl);
  const conf = w.ctConf(listFile, stateFile, { ctLog: {
    batch_size: 100,
    fetch_concurrency: 8,
    operator_requests_per_second: RPS,
  } });
  const d = await startDaemon({ conf, t });
  const bulkTimes = async () => {
    const ms = [];
    for (const n of names) {
      for (const r of await fl.requests(n)) if (/get-entries|\/tile\/data\//.test(r.path)) ms.push(r.ms);
    }
    return ms.sort((a, b) => a - b);
  };
  await waitForAsync(async () => {
    for (const n of names) {
      const l = await w.logStatus(d, fl.logUrl(n));
      if (!l || l.next_index !== 1000) return false;
    }
    return true;
  }, 60000, 'every log streamed');
  const ms = await bulkTimes();
  assert.ok(ms.length >= 24, `${ms.length} bulk requests`);
  // a second's worth at once, then RPS a second: never more than 2 * RPS
  // in any second, and the whole took at least (n - RPS) / RPS seconds
  for (let i = 0; i < ms.length; i++) {
    const inSecond = ms.filter((x) => x >= ms[i] && x < ms[i] + 1000).length;
    assert.ok(inSecond <= 2 * RPS, `${inSecond} bulk requests within a second from ${i}`);
  }
  const span = (ms[ms.length - 1] - ms[0]) / 1000;
  assert.ok(span >= ((ms.length - RPS) / RPS) * 0.9, `${ms.length} requests in ${span} s at ${RPS}/s`);
});
