'use strict';
// The ingest delay (an entry's CT timestamp to its publication) per log, in
// /metrics as a histogram and in /health/deep, against two fake CT logs
// (RFC 6962 and static): its 1032 real entries first, then generated ones
// grown while the daemon follows. Both kinds carry CT timestamps days or
// more in the past (real: 2024/2025; generated: fixed dates the fake log
// derives from the index), so with a true clock they land in +Inf; the
// finite buckets are pinned by check_endpoints. Each streamed record carries the two times the
// delay is made of (data.submission_timestamp, the CT timestamp, and
// data.seen, the publication), so the client can work out every entry's
// delay and so what each bucket, the sum and the last delay must be.
const { test } = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startDaemon, testDir } = require('./lib/daemon');
const c = require('./lib/clients');
const { startFakelog } = require('./lib/fakelog');
const { writeList } = require('./lib/ctwatch');

const REAL = 1032;  // every real entry the fake log has (README: Entries)
const GROWN = 100;
const BOUNDS = [1, 2, 5, 10, 30, 60, 300, 900, 3600, 86400];


const parse = c.parseMetrics;

// The delay the ingest counted for one record, in ms: publication (seen,
// Unix s to the µs) in whole ms minus the CT timestamp, negatives as 0.
function delayMs(msg) {
  const seenMs = Math.floor(Math.round(msg.data.seen * 1e6) / 1000);
  const tsMs = Math.round(msg.data.submission_timestamp * 1000);
  return Math.max(0, seenMs - tsMs);
}

test('ingest delay per log: histogram counts equal the entries streamed, buckets cumulative, figures match the records',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'ra', '--static', 'st', '--initial-size', String(REAL),
      '--max-size', String(REAL + GROWN), '--grow-per-sec', '0'], t);
    const dir = testDir(t, 'certstream-delay-');
    const list = path.join(dir, 'loglist.json');
    fs.writeFileSync(list, '{"operators":[]}\n');
    const conf = ['source: ct', `ct_logs_url: ${JSON.stringify(list)}`, 'ct_log:',
      `  state_file: ${JSON.stringify(path.join(dir, 'state.json'))}`, '  poll_interval_ms: 100',
      '  partial_tile_wait_ms: 300', '  backfill: 1000000000', '  loglist_refresh_secs: 1', '  connect_timeout_secs: 2',
      'dedup:', '  enabled: false', ''].join('\n');
    const d = await startDaemon({ t, workers: 1, conf });
    const ws = c.openWs(d.url('/', 'ws'));
    t.after(() => ws.close());
    await ws.opened;
    // The logs only once the client is there: it sees every record.
    writeList(list, (await c.httpGet(fl.url('/loglist.json'))).body);

    await c.waitFor(() => ws.messages.length >= 2 * REAL, 30000, `${2 * REAL} real entries`);
    // Generated entries, grown now while the daemon follows.
    for (const name of ['ra', 'st']) await fl.grow(name, GROWN);
    const all = 2 * (REAL + GROWN);
    await c.waitFor(() => ws.messages.length >= all, 30000, `${all} entries`);

    // What each log's histogram must hold, from the records themselves.
    const want = new Map();
    for (const msg of ws.messages) {
      const name = msg.data.source.name;
      if (!want.has(name)) want.set(name, { n: 0, sum: 0, last: 0, buckets: BOUNDS.map(() => 0) });
      const w = want.get(name);
      const ms = delayMs(msg);
      w.n++;
      w.sum += ms;
      w.last = ms;
      w.lastTs = Math.round(msg.data.submission_timestamp * 1000);
      w.lastIndex = msg.data.cert_index;
      BOUNDS.forEach((b, k) => { if (ms <= b * 1000) w.buckets[k]++; });
    }
    assert.strictEqual(want.size, 2, `records from both logs: ${[...want.keys()]}`);

    let text;
    let m;
    const deadline = Date.now() + 10000;
    for (;;) {
      text = (await c.httpGet(d.url('/metrics'))).body;
      m = parse(text);
      const n = [...want.keys()].map((k) => m.get(`certstream_ct_log_entries_total{log="${k}"}`));
      if (n.every((v) => v === REAL + GROWN)) break;
      assert.ok(Date.now() < deadline, `entries never ${REAL + GROWN}: ${n}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text });
    assert.ifError(promtool.error);
    assert.strictEqual(`${promtool.stdout}${promtool.stderr}`, '', 'promtool has nothing to say');
    assert.strictEqual(promtool.status, 0);
    assert.match(text, /\n# TYPE certstream_ct_log_ingest_delay_seconds histogram\n/);

    const v = (k) => {
      assert.ok(m.has(k), `${k} missing from /metrics`);
      return m.get(k);
    };
    const now = Date.now();
    for (const [name, w] of want) {
      const h = (s, extra = '') => v(`certstream_ct_log_ingest_delay_seconds_${s}{log="${name}"${extra}}`);
      assert.strictEqual(w.n, REAL + GROWN, `${name}: records streamed`);
      assert.strictEqual(h('count'), w.n, `${name}: count is the entries streamed`);
      assert.strictEqual(h('bucket', ',le="+Inf"'), w.n, `${name}: +Inf is the count`);
      let prev = 0;
      BOUNDS.forEach((b, k) => {
        const got = h('bucket', `,le="${b}"`);
        assert.ok(got >= prev, `${name}: buckets cumulative at le=${b}`);
        assert.strictEqual(got, w.buckets[k], `${name}: le=${b}`);
        prev = got;
      });
      assert.ok(Math.abs(h('sum') - w.sum / 1000) < 0.01, `${name}: sum ${h('sum')} vs ${w.sum / 1000}`);
      // The newest (a generated entry) was published during the test: its
      // delay is the time since its CT timestamp, measured now.
      assert.ok(w.lastIndex >= REAL, `${name}: newest entry ${w.lastIndex} is generated`);
      assert.ok(Math.abs(now - w.lastTs - w.last) < 15000,
        `${name}: last delay ${w.last}, ${now - w.lastTs} ms since its timestamp`);
    }

    const deep = JSON.parse((await c.httpGet(d.url('/health/deep'))).body);
    assert.strictEqual(deep.logs.length, 2);
    for (const l of deep.logs) {
      const w = want.get(l.name);
      assert.ok(w, `log ${l.name} streamed`);
      const g = l.ingest_delay_ms;
      assert.strictEqual(g.count, w.n, `${l.name}: count`);
      assert.strictEqual(g.last, w.last, `${l.name}: last is the newest record's delay`);
      assert.strictEqual(g.mean, Math.floor(w.sum / w.n), `${l.name}: mean`);
      assert.ok(g.p50 <= g.p99, `${l.name}: p50 ${g.p50} <= p99 ${g.p99}`);
      // An estimate from the buckets: within the bucket the true median is in.
      const sorted = ws.messages.filter((x) => x.data.source.name === l.name).map(delayMs).sort((a, b) => a - b);
      const med = sorted[Math.ceil(sorted.length / 2) - 1];
      const k = BOUNDS.findIndex((b) => med <= b * 1000);
      const lo = k <= 0 ? 0 : BOUNDS[k - 1] * 1000;
      const hi = k < 0 ? BOUNDS[BOUNDS.length - 1] * 1000 : BOUNDS[k] * 1000;
      assert.ok(g.p50 >= (k < 0 ? hi : lo) && g.p50 <= hi, `${l.name}: p50 ${g.p50} for a median of ${med}`);
    }
  });
