'use strict';
// ct_log.max_catchup_lag: a log further behind its verified head than the
// limit skips ahead to that many entries behind, and the loss is visible:
// a log_gap notice in the stream (WebSocket with ?gaps=1, SSE always),
// skipped_entries in /health/deep, certstream_ct_log_skipped_entries_total
// in /metrics; every entry after the skip exactly once, in order. Both an
// RFC 6962 and a static log, at the start and after a burst of growth.

const { test } = require('node:test');
const assert = require('node:assert');
const { startDaemon } = require('./lib/daemon');
const c = require('./lib/clients');
const w = require('./lib/ctwatch');
const { request, getJson, startFakelog } = require('./lib/fakelog');

const SIZE = 3000;
const LAG = 500;

test('a log too far behind skips ahead, counted and announced',
  { timeout: 120000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'rc', '--static', 'sc', '--real', 'none',
      '--initial-size', String(SIZE), '--grow-per-sec', '0'], t);
    const { listFile, stateFile } = w.watchDir(t, 'catchup-');
    // every log from entry 0 (ctConf's backfill): SIZE behind
    const conf = w.ctConf(listFile, stateFile, { ctLog: { max_catchup_lag: LAG } });
    const d = await startDaemon({ conf, t });
    const gaps = c.openWs(d.url('/full-stream?gaps=1', 'ws'));
    const plain = c.openWs(d.url('/domains-only', 'ws'));
    const sse = c.openSseRaw(d.url('/sse?stream=lite'));
    await gaps.opened;
    await plain.opened;
    await sse.ready;
    t.after(() => { gaps.close(); plain.close(); sse.close(); });
    await w.watchFakelog(listFile, fl);
    const urls = [fl.logUrl('rc'), fl.logUrl('sc')];

    const certs = (msgs, u) => msgs.filter((m) => m.message_type !== 'log_gap' &&
      (m.data.source ? m.data.source.url : m.source.url) === u).map((m) => m.data.cert_index ?? m.cert_index);
    const notices = (msgs, u) => msgs.filter((m) => m.message_type === 'log_gap' &&
      m.data.source.url === u).map((m) => m.data);
    const sseMsgs = () => sse.events.map((e) => JSON.parse(e.data));
    const range = (a, z) => Array.from({ length: z - a + 1 }, (_, i) => a + i);
    const done = (top) => urls.every((u) => {
      const g = certs(gaps.messages, u);
      const p = certs(plain.messages, u);
      const s = certs(sseMsgs(), u);
      return [g, p, s].every((x) => x.length && x[x.length - 1] === top - 1);
    });
    await c.waitFor(() => done(SIZE), 60000, 'every log streamed to its head');

    for (const u of urls) {
      const skip = { from_index: 0, to_index: SIZE - LAG - 1, skipped: SIZE - LAG };
      for (const [msgs, what] of [[gaps.messages, 'WebSocket gaps=1'], [sseMsgs(), 'SSE']]) {
        const n = notices(msgs, u);
        assert.strictEqual(n.length, 1, `${what}: one log_gap for ${u}`);
        assert.deepStrictEqual({ from_index: n[0].from_index, to_index: n[0].to_index,
          skipped: n[0].skipped }, skip);
        // the notice comes before the first entry after the skip
        const at = msgs.findIndex((m) => m.message_type === 'log_gap' && m.data.source.url === u);
        const first = msgs.findIndex((m) => m.message_type !== 'log_gap' &&
          m.data.source.url === u);
        assert.ok(at < first, `${what}: notice before the entries`);
        assert.deepStrictEqual(certs(msgs, u), range(SIZE - LAG, SIZE - 1), `${what}: ${u}`);
      }
      assert.deepStrictEqual(certs(plain.messages, u), range(SIZE - LAG, SIZE - 1));
    }
    assert.strictEqual(plain.messages.filter((m) => m.message_type === 'log_gap').length, 0,
      'no notice to a WebSocket client that did not ask for gaps');
    let deep = await getJson(d.url('/health/deep'));
    for (const u of urls) {
      const l = deep.logs.find((x) => x.url === u);
      assert.strictEqual(l.skipped_entries, SIZE - LAG, u);
      assert.strictEqual(l.next_index, SIZE);
    }
    const latest = await getJson(d.url('/latest.json'));
    assert.ok(latest.messages.length > 0);
    assert.ok(latest.messages.every((m) => m.message_type === 'certificate_update'));

    // A burst of growth past the limit while live: skipped again.
    for (const n of ['rc', 'sc']) assert.strictEqual((await fl.grow(n, 1000)).status, 200);
    await c.waitFor(() => done(SIZE + 1000), 60000, 'every log streamed to its new head');
    for (const u of urls) {
      const n = notices(gaps.messages, u);
      assert.strictEqual(n.length, 2, `a second log_gap for ${u}`);
      assert.strictEqual(n[1].from_index, SIZE);
      assert.strictEqual(n[1].to_index, SIZE + 1000 - LAG - 1);
      const after = certs(gaps.messages, u);
      // strictly increasing, contiguous but for the announced skip
      const tail = after.filter((i) => i >= SIZE);
      assert.deepStrictEqual(tail, range(n[1].to_index + 1, SIZE + 999), u);
      assert.deepStrictEqual(certs(sseMsgs(), u).filter((i) => i >= SIZE), tail);
    }
    deep = await getJson(d.url('/health/deep'));
    const metrics = (await request('GET', d.url('/metrics'))).body;
    for (const u of urls) {
      const l = deep.logs.find((x) => x.url === u);
      const n = notices(gaps.messages, u);
      const total = n.reduce((a, x) => a + x.skipped, 0);
      assert.strictEqual(l.skipped_entries, total);
      const m = new RegExp(`certstream_ct_log_skipped_entries_total\\{log="${l.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\} (\\d+)`).exec(metrics);
      assert.ok(m, `metric for ${l.name}`);
      assert.strictEqual(Number(m[1]), total);
    }
  });
