'use strict';
// /metrics of a live daemon after traffic: two fake CT logs (RFC 6962 and
// static) streamed to WebSocket and SSE clients, some 404s and 401s. The
// scrape must pass `promtool check metrics` with nothing to say (promtool
// comes with scripts/install-deps.sh test: required), and the key series
// must be there with values that match what the clients saw.
const { test } = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startDaemon, testDir } = require('./lib/daemon');
const c = require('./lib/clients');
const { startFakelog } = require('./lib/fakelog');

const TOKEN = 'metrics-test-token';
const SIZE = 400;

function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

const parse = c.parseMetrics;

test('/metrics after traffic: promtool accepts it silently; the key series are there and plausible',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'ra', '--static', 'st', '--initial-size', String(SIZE),
      '--max-size', String(SIZE), '--grow-per-sec', '0'], t);
    const dir = testDir(t, 'certstream-metrics-');
    const list = path.join(dir, 'loglist.json');
    fs.writeFileSync(list, '{"operators":[]}\n');
    const conf = ['source: ct', `ct_logs_url: ${JSON.stringify(list)}`, 'ct_log:',
      `  state_file: ${JSON.stringify(path.join(dir, 'state.json'))}`, '  poll_interval_ms: 100', '  partial_tile_wait_ms: 300',
      '  backfill: 1000000000', '  loglist_refresh_secs: 1', '  connect_timeout_secs: 2',
      'dedup:', '  enabled: false', 'auth:', '  enabled: true', `  tokens: ["${TOKEN}"]`, ''].join('\n');
    const t0 = Date.now();
    const d = await startDaemon({ t, workers: 2, conf });

    const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
    const lite = c.openWs(d.url('/', 'ws'), auth);
    const full = c.openWs(d.url('/full-stream', 'ws'), auth);
    const dom = c.openSseRaw(d.url(`/sse?stream=domains&token=${TOKEN}`));
    const sse = c.openSseRaw(d.url('/sse?stream=lite'), { Authorization: `Bearer ${TOKEN}` });
    t.after(() => { lite.close(); full.close(); dom.close(); sse.close(); });
    await Promise.all([lite.opened, full.opened, dom.ready, sse.ready]);
    assert.strictEqual(dom.status, 200);

    // 3 x 404, 3 x 401 (two SSE without a token, one WebSocket with a wrong one).
    for (const p of ['/nope', '/nope/2', '/x.json']) assert.strictEqual((await get(d.url(p))).status, 404);
    assert.strictEqual((await get(d.url('/sse'))).status, 401);
    assert.strictEqual((await get(d.url('/sse?token=wrong'))).status, 401);
    const bad = c.openWs(d.url('/', 'ws'), { headers: { Authorization: 'Bearer wrong' } });
    await assert.rejects(bad.opened, /401/);

    fs.writeFileSync(`${list}.tmp`, (await get(fl.url('/loglist.json'))).body);
    fs.renameSync(`${list}.tmp`, list);
    const all = 2 * SIZE;
    await c.waitFor(() => lite.messages.length >= all && full.messages.length >= all &&
      dom.events.length >= all && sse.events.length >= all, 30000, `${all} records on every client`);

    // The per-log lag reaches 0 once both logs are read to their size.
    let text;
    let m;
    const deadline = Date.now() + 10000;
    for (;;) {
      text = (await get(d.url('/metrics'))).body;
      m = parse(text);
      const lag = [...m].filter(([k]) => k.startsWith('certstream_ct_log_lag_entries{'));
      if (lag.length === 2 && lag.every(([, v]) => v === 0)) break;
      assert.ok(Date.now() < deadline, `lag never 0: ${JSON.stringify(lag)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text });
    assert.ifError(promtool.error);
    assert.strictEqual(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
    assert.strictEqual(`${promtool.stdout}${promtool.stderr}`, '', 'promtool has nothing to say');

    const v = (k) => {
      assert.ok(m.has(k), `${k} missing from /metrics`);
      return m.get(k);
    };
    const got = lite.messages.length + full.messages.length + dom.events.length + sse.events.length;
    assert.ok(v('certstream_messages_sent_total') >= got, `messages_sent ${v('certstream_messages_sent_total')} < ${got} received`);
    const per = (s, p) => v(`certstream_stream_messages_sent_total{stream="${s}",protocol="${p}"}`);
    assert.ok(per('lite', 'websocket') >= lite.messages.length);
    assert.ok(per('full', 'websocket') >= full.messages.length);
    assert.ok(per('domains', 'sse') >= dom.events.length);
    assert.ok(per('lite', 'sse') >= sse.events.length);
    assert.strictEqual(per('domains', 'websocket'), 0);
    assert.ok(v('certstream_stream_bytes_sent_total{stream="full",protocol="websocket"}') >
      v('certstream_stream_bytes_sent_total{stream="lite",protocol="websocket"}'), 'full is bigger than lite');
    for (const [s, p] of [['lite', 'websocket'], ['full', 'websocket'], ['domains', 'sse'], ['lite', 'sse']]) {
      assert.strictEqual(v(`certstream_connections{stream="${s}",protocol="${p}"}`), 1, `${s} ${p} connections`);
    }
    assert.strictEqual(v('certstream_clients'), 4);
    assert.strictEqual(v('certstream_auth_failures_total'), 3);
    assert.ok(v('certstream_http_errors_total') >= 6);
    assert.ok(v('certstream_bytes_sent_total') > 0);
    assert.strictEqual(v('certstream_clients_lapped_total'), 0);
    assert.strictEqual(v('certstream_messages_skipped_total'), 0);
    assert.strictEqual(v('certstream_parse_failures_total'), 0);
    assert.strictEqual(v('certstream_duplicates_filtered_total'), 0);
    assert.strictEqual(v('certstream_signature_failures_total'), 0);
    assert.strictEqual(v('certstream_records_published_total'), all);
    // Ring sequences are the record ids: they start above every id an
    // earlier run issued (Unix ms x 1000 at the start), not at 0.
    assert.strictEqual(v('certstream_ring_head') - v('certstream_ring_oldest'), all);
    assert.ok(v('certstream_ring_oldest') >= t0 * 1000, `ring oldest ${v('certstream_ring_oldest')}`);
    assert.strictEqual(v('certstream_ct_logs_monitored'), 1);
    assert.strictEqual(v('certstream_static_ct_logs_monitored'), 1);
    assert.ok(v('certstream_static_ct_tiles_fetched_total') > 0);
    assert.ok(v('certstream_delivery_latency_seconds_count') >= got);
    assert.strictEqual(v('certstream_delivery_latency_seconds_bucket{le="+Inf"}'),
      v('certstream_delivery_latency_seconds_count'));

    const now = Date.now() / 1000;
    const logs = [...m.keys()].filter((k) => k.startsWith('certstream_ct_log_tree_size{'))
      .map((k) => k.match(/\{log="((?:[^"\\]|\\.)*)"\}/)[1]);
    assert.strictEqual(logs.length, 2, `per-log series for both logs: ${logs}`);
    for (const name of logs) {
      const l = (f) => v(`certstream_ct_log_${f}{log="${name}"}`);
      assert.strictEqual(l('tree_size'), SIZE, `${name} tree size`);
      assert.strictEqual(l('entries_total'), SIZE, `${name} entries`);
      assert.strictEqual(l('lag_entries'), 0);
      assert.strictEqual(l('errors_total'), 0);
      assert.strictEqual(l('signature_failures_total'), 0);
      assert.strictEqual(l('up'), 1);
      assert.ok(Math.abs(now - l('last_success_timestamp_seconds')) < 30, `${name} last success is now`);
    }

    const roles = ['{role="master"}', '{role="ingest"}', '{role="worker",worker="0"}', '{role="worker",worker="1"}'];
    for (const r of roles) {
      const rss = v(`certstream_process_resident_memory_bytes${r}`);
      assert.ok(rss > 1 << 20 && rss < 1 << 30, `${r} RSS ${rss}`);
      const start = v(`certstream_process_start_time_seconds${r}`);
      assert.ok(Math.abs(now - start) < 60, `${r} started ${start}`);
      assert.ok(v(`certstream_process_uptime_seconds${r}`) >= 0);
    }
  });
