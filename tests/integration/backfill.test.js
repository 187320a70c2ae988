'use strict';
// certstreamd --backfill against the fake CT log (build/fakelog): a range
// of an RFC 6962 log and of a static-ct-api log, written as NDJSON, equals
// (full form, less `id` and `seen`) what live ingest streamed of it; a
// backfill killed midway and run again gives the same file; a log that
// serves an entry not in its tree fails with a clear error and writes
// nothing of it; and a backfill leaves no state file or shared memory.

const { test } = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startDaemon, testDir, ROOT } = require('./lib/daemon');
const c = require('./lib/clients');
const { request, startFakelog } = require('./lib/fakelog');

const BIN = process.env.CERTSTREAM_BIN || path.join(ROOT, 'certstreamd');
const SIZE = 3000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function conf(listFile, stateFile, batch = 256, extra = []) {
  return [
    'source: ct',
    ...extra,
    `ct_logs_url: ${JSON.stringify(listFile)}`,
    'ct_log:',
    `  state_file: ${JSON.stringify(stateFile)}`,
    '  poll_interval_ms: 100',
    '  partial_tile_wait_ms: 300',
    `  batch_size: ${batch}`,
    '  backfill: 1000000000',      // live ingest starts every log at entry 0
    '  loglist_refresh_secs: 1',
    '  request_timeout_secs: 5',
    '  connect_timeout_secs: 2',
    'dedup:',
    '  enabled: false',
    '',
  ].join('\n');
}

// Run a backfill; resolves { code, stdout, stderr }. onStart gets the child.
function backfill(confFile, args, { onStart } = {}) {
  return new Promise((resolve) => {
    const p = spawn(BIN, ['-c', confFile, '--backfill', ...args], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (b) => { out += b; });
    p.stderr.on('data', (b) => { err += b; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60000);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
    if (onStart) onStart(p);
  });
}

// A message without what depends on when it was rendered or published.
function timeless(m) {
  const o = JSON.parse(JSON.stringify(m));
  delete o.id;
  delete o.data.seen;
  return o;
}

function lines(text) {
  assert.ok(text === '' || text.endsWith('\n'), 'output ends with a whole line');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

function assertRange(got, live, url, a, z, what) {
  assert.strictEqual(got.length, z - a + 1, `${what}: ${got.length} lines for ${z - a + 1} entries`);
  for (let i = 0; i < got.length; i++) {
    const m = got[i];
    assert.strictEqual(m.message_type, 'certificate_update');
    assert.strictEqual(m.id, undefined, 'a backfill line has no ring id');
    assert.strictEqual(m.data.source.url, url);
    assert.strictEqual(m.data.cert_index, a + i, `${what}: line ${i}`);
    assert.ok(typeof m.data.seen === 'number');
    const l = live.get(a + i);
    assert.ok(l, `${what}: entry ${a + i} was streamed live`);
    assert.deepStrictEqual(timeless(m), timeless(l), `${what}: entry ${a + i}`);
  }
}

test('backfill: ranges equal the live stream, resume after a kill, a lying log fails',
  { timeout: 150000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'r1', '--static', 's1', '--real', 'first',
      '--initial-size', String(SIZE), '--grow-per-sec', '0', '--hold-secs', '30'], t);
    const dir = testDir(t, 'backfill-');
    const listFile = path.join(dir, 'loglist.json');
    const list = (await request('GET', fl.url('/loglist.json'))).body;
    // No log until the client below is in: it must see every entry.
    fs.writeFileSync(listFile, '{"operators":[]}\n');
    const urls = { r1: fl.logUrl('r1'), s1: fl.logUrl('s1') };

    // What live ingest streams of both logs, every entry in full.
    const d = await startDaemon({ conf: conf(listFile, path.join(dir, 'state.json')), t });
    const live = new Map([[urls.r1, new Map()], [urls.s1, new Map()]]);
    const ws = new c.WebSocket(d.url('/full-stream', 'ws'), { perMessageDeflate: false });
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.message_type !== 'certificate_update') return;
      const byIndex = live.get(m.data.source.url);
      if (byIndex) byIndex.set(m.data.cert_index, m);
    });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    fs.writeFileSync(`${listFile}.tmp`, list);
    fs.renameSync(`${listFile}.tmp`, listFile);
    await c.waitFor(() => live.get(urls.r1).size === SIZE && live.get(urls.s1).size === SIZE,
      90000, 'every entry of both logs streamed live');
    ws.terminate();
    await d.stop();

    // The backfill's own config: a state file and a segment (named after
    // a port nothing uses) that must never appear.
    const bfState = path.join(dir, 'backfill-state.json');
    const bfConf = path.join(dir, 'backfill.conf');
    const shmName = `certstream-bf-${process.pid}`;
    fs.writeFileSync(bfConf, conf(listFile, bfState, 64, [`shm_name: "/${shmName}"`]));

    await t.test('RFC 6962 range, named by URL, to stdout', async () => {
      const r = await backfill(bfConf, [urls.r1, '--start', '700', '--end', '2100']);
      assert.strictEqual(r.code, 0, r.stderr);
      assertRange(lines(r.stdout), live.get(urls.r1), urls.r1, 700, 2100, 'r1');
    });

    await t.test('static range, named by log id, to a file; the last entry of the tree', async () => {
      const out = path.join(dir, 's1.ndjson');
      const r = await backfill(bfConf, [fl.logs.s1.logId, '--start', '250', '--end',
        String(SIZE - 1), '-o', out]);
      assert.strictEqual(r.code, 0, r.stderr);
      assertRange(lines(fs.readFileSync(out, 'utf8')), live.get(urls.s1), urls.s1, 250, SIZE - 1, 's1');
      const past = await backfill(bfConf, ['s1', '--start', '0', '--end', String(SIZE)]);
      assert.strictEqual(past.code, 1);
      assert.match(past.stderr, /checkpoint holds 3000 entries: --end must be below that/);
    });

    for (const name of ['r1', 's1']) {
      await t.test(`${name}: killed midway, run again: the same file`, async () => {
        const out = path.join(dir, `${name}-resumed.ndjson`);
        const a = 5;
        const z = SIZE - 1;
        let child;
        const run = backfill(bfConf, [urls[name], '--start', String(a), '--end', String(z), '-o', out],
          { onStart: (p) => { child = p; } });
        // Once some lines are out, every further request of the log hangs;
        // then the backfill is killed, mid-range.
        await c.waitFor(() => fs.existsSync(out) && fs.statSync(out).size > 20000, 30000,
          'the first lines written');
        assert.strictEqual((await fl.fault(name, 'timeout', 0, '&on=any')).status, 200);
        await sleep(300);
        child.kill('SIGKILL');
        const killed = await run;
        assert.strictEqual(killed.signal, 'SIGKILL', `finished before the kill: ${killed.stderr}`);
        await request('DELETE', fl.url(`/control/${name}/fault`));
        // a torn last line, as a kill in the middle of a write leaves
        fs.appendFileSync(out, '{"message_type":"certificate_update","data":{"upd');
        const partial = fs.readFileSync(out, 'utf8');
        const had = partial.split('\n').length - 1;
        assert.ok(had > 0 && had < z - a + 1, `killed midway (${had} lines)`);

        const again = await backfill(bfConf, [urls[name], '--start', String(a), '--end', String(z),
          '-o', out]);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.match(again.stderr, /cutting a torn last line/);
        assert.match(again.stderr, new RegExp(`resuming after entry ${a + had - 1}`));
        assertRange(lines(fs.readFileSync(out, 'utf8')), live.get(urls[name]), urls[name], a, z,
          `${name} resumed`);
        // once complete, a run again changes nothing
        const before = fs.readFileSync(out, 'utf8');
        const done = await backfill(bfConf, [urls[name], '--start', String(a), '--end', String(z),
          '-o', out]);
        assert.strictEqual(done.code, 0, done.stderr);
        assert.strictEqual(fs.readFileSync(out, 'utf8'), before);
        // a file of another range is refused, not appended to
        const other = await backfill(bfConf, [urls[name], '--start', '0', '--end', '3', '-o', out]);
        assert.strictEqual(other.code, 1);
        assert.match(other.stderr, /holds something other than entries 0-3/);
        assert.strictEqual(fs.readFileSync(out, 'utf8'), before);
      });
    }

    await t.test('a log serving an entry that is not in its tree fails, naming it', async () => {
      // RFC 6962, from entry 0 (the frontier is the empty tree) and from
      // the middle (bound by the first leaf's audit path).
      for (const a of [0, 1000]) {
        assert.strictEqual((await fl.fault('r1', 'swap', 1)).status, 200);
        const out = path.join(dir, `r1-lie-${a}.ndjson`);
        const r = await backfill(bfConf, ['r1', '--start', String(a), '--end', String(a + 500), '-o', out]);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(r.stderr, a === 0 ?
          /entries below 64 do not hash into the signed tree head of size 3000.*not in the log's tree; none of them was written/ :
          /entry 1000 is not proven in the signed tree head of size 3000/);
        assert.strictEqual(fs.readFileSync(out, 'utf8'), '', 'nothing of the lie written');
      }
      assert.strictEqual((await fl.fault('s1', 'swap', 1)).status, 200);
      const s = await backfill(bfConf, ['s1', '--start', '300', '--end', '900']);
      assert.strictEqual(s.code, 1, s.stderr);
      assert.match(s.stderr, /data tile 1 entry 256 says it is entry 257: the log served an entry that is not in its tree/);
      assert.strictEqual(s.stdout, '');
    });

    await t.test('bad arguments and unknown logs', async () => {
      let r = await backfill(bfConf, ['r1', '--start', '9', '--end', '3']);
      assert.strictEqual(r.code, 2);
      assert.match(r.stderr, /--start N and --end M/);
      r = await backfill(bfConf, ['no-such-log', '--start', '0', '--end', '3']);
      assert.strictEqual(r.code, 1);
      assert.match(r.stderr, /no log of the log list is "no-such-log"/);
    });

    assert.ok(!fs.existsSync(bfState), 'a backfill never writes a state file');
    assert.deepStrictEqual(fs.readdirSync('/dev/shm').filter((n) => n.startsWith(shmName)), [],
      'a backfill makes no shared memory');
  });
