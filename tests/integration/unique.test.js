'use strict';
// ?unique=1: a precertificate and its certificate (the same
// leaf_cert.tbs_sha256) reach a client once, whichever comes first, on
// every stream and protocol, live and resumed from the ring; a client that
// did not ask gets both. The fake log (build/fakelog --pairs) logs each
// generated precertificate's certificate as its next entry.

const { test } = require('node:test');
const assert = require('node:assert');
const { startDaemon } = require('./lib/daemon');
const c = require('./lib/clients');
const w = require('./lib/ctwatch');
const { startFakelog } = require('./lib/fakelog');

const SIZE = 600;

test('unique=1 sends each precertificate/certificate pair once, on every stream',
  { timeout: 90000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'pr', '--static', 'ps', '--real', 'none',
      '--pairs', '--initial-size', String(SIZE), '--grow-per-sec', '0'], t);
    const { listFile, stateFile } = w.watchDir(t, 'unique-');
    const conf = w.ctConf(listFile, stateFile);
    const d = await startDaemon({ conf, t });
    const ws = (p) => c.openWs(d.url(p, 'ws'));
    const all = ws('/full-stream');
    const lite = ws('/?unique=1');
    const full = ws('/full-stream?unique=1&gaps=1');
    const domains = ws('/domains-only?unique=true');
    const sse = c.openSseRaw(d.url('/sse?stream=full&unique=1'));
    const sseDomains = c.openSseRaw(d.url('/sse?stream=domains&unique=1'));
    const sseAll = c.openSseRaw(d.url('/sse?stream=domains'));
    for (const x of [all, lite, full, domains]) await x.opened;
    await sse.ready;
    await sseDomains.ready;
    await sseAll.ready;
    t.after(() => [all, lite, full, domains, sse, sseDomains, sseAll].forEach((x) => x.close()));
    await w.watchFakelog(listFile, fl);

    const certs = () => all.messages.filter((m) => m.message_type === 'certificate_update');
    await c.waitFor(() => certs().length === 2 * SIZE && sseAll.events.length === 2 * SIZE,
      60000, 'every entry of both logs streamed');

    // What unique=1 must give: the first of each tbs_sha256, in id order.
    const seen = new Set();
    const want = [];
    let pairs = 0;
    let precertFirst = 0;
    for (const m of certs()) {
      const tbs = m.data.leaf_cert.tbs_sha256;
      if (seen.has(tbs)) {
        pairs++;
        continue;
      }
      seen.add(tbs);
      want.push(m.id);
      if (m.data.update_type === 'PrecertLogEntry') precertFirst++;
    }
    assert.ok(pairs > SIZE / 10, `the logs hold pairs (${pairs})`);
    assert.ok(precertFirst > 0);
    const last = want[want.length - 1];
    const ids = (msgs) => msgs.filter((m) => m.message_type !== 'gap').map((m) => m.id);
    const sseIds = (s) => s.events.map((e) => Number(e.id));
    await c.waitFor(() => [lite.messages, domains.messages].every((m) => m.length && m[m.length - 1].id >= last) &&
      ids(full.messages).slice(-1)[0] >= last && sseIds(sse).slice(-1)[0] >= last &&
      sseIds(sseDomains).slice(-1)[0] >= last, 20000, 'unique clients at the last record');
    assert.deepStrictEqual(ids(lite.messages), want, 'lite WebSocket');
    assert.deepStrictEqual(ids(full.messages), want, 'full WebSocket');
    assert.deepStrictEqual(ids(domains.messages), want, 'domains WebSocket');
    assert.deepStrictEqual(sseIds(sse), want, 'full SSE');
    assert.deepStrictEqual(sseIds(sseDomains), want, 'domains SSE');
    // a pair passed is no loss: no gap told
    assert.strictEqual(full.messages.filter((m) => m.message_type === 'gap').length, 0);
    assert.strictEqual(sse.gaps.length, 0);
    // without unique=1, both of every pair
    assert.strictEqual(sseAll.events.length, 2 * SIZE);

    // Resumed from the ring: the same choice.
    const first = certs()[0].id;
    const again = c.openSseRaw(d.url(`/sse?stream=lite&unique=1&since=${first - 1}`));
    const againWs = ws(`/domains-only?unique=1&since=${first - 1}`);
    t.after(() => { again.close(); againWs.close(); });
    await c.waitFor(() => sseIds(again).slice(-1)[0] >= last &&
      againWs.messages.length && againWs.messages[againWs.messages.length - 1].id >= last,
    20000, 'resumed clients at the last record');
    assert.deepStrictEqual(sseIds(again), want, 'resumed SSE');
    assert.deepStrictEqual(ids(againWs.messages), want, 'resumed WebSocket');
  });
