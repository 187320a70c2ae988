'use strict';
// Server-side filters, a short smoke test on the replay feed: filtered
// WebSocket and SSE clients get exactly the feed records their filter
// selects, in order; a bad filter gets a JSON 400 before any upgrade; a
// hostile regex costs nothing; /latest.json and /example.json filter too.
// (The full acceptance suite, with an independent oracle per kind, lives
// beside it.)
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { startDaemon, testDir } = require('./lib/daemon');
const { request, startFakelog } = require('./lib/fakelog');
const c = require('./lib/clients');

const feed = c.loadFeed(c.feedPath());
const doms = (m) => m.data.leaf_cert.all_domains.map((x) => x.toLowerCase());
const under = (name, d) => name === d || name.endsWith(`.${d}`);
const isCert = (m) => m.data.update_type === 'X509LogEntry';
const byDomain = (d) => (m) => doms(m).some((n) => under(n, d));
const byKeyword = (k) => (m) => doms(m).some((n) => n.includes(k));

// msgs are feed records in feed order (the feed loops), and every record
// between two consecutive ones does not match: nothing wanted was dropped.
function checkSelected(msgs, pred, label) {
  assert.ok(msgs.length >= 2, `${label}: ${msgs.length} messages`);
  const n = feed.records.length;
  let at = feed.pos.get(c.keyOf(msgs[0]));
  assert.notStrictEqual(at, undefined, `${label}: first message not in the feed`);
  for (let i = 1; i < msgs.length; i++) {
    assert.ok(pred(msgs[i]), `${label}: message ${i} does not match`);
    const got = feed.pos.get(c.keyOf(msgs[i]));
    for (let k = (at + 1) % n; k !== got; k = (k + 1) % n) {
      assert.ok(!pred(feed.records[k]), `${label}: feed record ${k} matches but was not sent`);
    }
    at = got;
  }
}

test('filters select exactly, refuse bad ones before the upgrade, shrug off a hostile regex', async (t) => {
  const certs = feed.records.filter(isCert).length;
  assert.ok(certs >= 3 && certs < feed.records.length / 4, 'the feed has a few certificates among precertificates');
  const d = await startDaemon({ t, workers: 2, conf: c.confFor(feed.file, { rate: 1000 }) });

  // 400 before any upgrade, with the parameter named
  for (const [q, param] of [['colour=red', 'colour'], ['regex=(ab', 'regex'], ['type=leaf', 'type'],
    ['domain=', 'domain'], ['regex=(a)%5C1', 'regex']]) {
    const sse = await c.httpGet(d.url(`/sse?${q}`));
    assert.strictEqual(sse.status, 400, `/sse?${q}`);
    const body = JSON.parse(sse.body);
    assert.strictEqual(body.error, 'bad filter');
    assert.strictEqual(body.parameter, param, `/sse?${q}: ${sse.body}`);
    assert.ok(body.reason.length > 0);
    const ws = c.openWs(d.url(`/?${q}`, 'ws'));
    await assert.rejects(ws.opened, /HTTP 400/, `ws /?${q}`);
  }

  const all = c.openWs(d.url('/', 'ws'));
  const cert = c.openWs(d.url('/?type=cert&token=x&gaps=1', 'ws'));
  const dom = c.openWs(d.url('/domains-only?domain=CHIXBBQ.org', 'ws'));
  const hostile = c.openWs(d.url(`/?regex=${encodeURIComponent('(a+)+$')}&regex=${encodeURIComponent('(x+x+)+y')}`, 'ws'));
  const sse = c.openSseRaw(d.url('/sse?stream=lite&keyword=cynova,jccsmatrei'));
  t.after(() => { all.close(); cert.close(); dom.close(); hostile.close(); sse.close(); });
  await Promise.all([all.opened, cert.opened, dom.opened, hostile.opened, sse.ready]);
  assert.strictEqual(sse.status, 200);
  await c.waitFor(() => cert.messages.length >= 2 * certs + 1 && dom.messages.length >= 47 &&
    sse.events.length >= 90, 20000, 'two loops of the feed for each filtered client');

  checkSelected(cert.messages, isCert, 'type=cert');
  // /domains-only sends whole dns_entries messages; their keys are the feed's
  const domPred = (m) => m.data.some((n) => under(n.toLowerCase(), 'chixbbq.org'));
  assert.ok(dom.messages.every((m) => m.message_type === 'dns_entries' && domPred(m)), 'domains-only matches');
  const kw = (m) => byKeyword('cynova')(m) || byKeyword('jccsmatrei')(m);
  checkSelected(sse.events.map((e) => JSON.parse(e.data)), kw, 'sse keyword');
  assert.ok(all.messages.length > cert.messages.length * 10, 'the unfiltered client got the firehose');
  assert.ok(hostile.messages.every((m) => doms(m).some((n) => /(a+)+$/.test(n) || /(x+x+)+y/.test(n))));
  assert.ok(all.error === null && cert.error === null && dom.error === null, 'no client error');

  // /latest.json and /example.json take the same filters
  const latest = JSON.parse((await c.httpGet(d.url('/latest.json?type=cert'))).body);
  assert.ok(latest.messages.length >= certs && latest.messages.length <= 25);
  assert.ok(latest.messages.every(isCert));
  const ex = await c.httpGet(d.url('/example.json?domain=chixbbq.org'));
  assert.strictEqual(ex.status, 200);
  assert.ok(byDomain('chixbbq.org')(JSON.parse(ex.body)));
  assert.strictEqual((await c.httpGet(d.url('/latest.json?keyword=%28'))).status, 200);
  assert.strictEqual((await c.httpGet(d.url('/example.json?color=1'))).status, 400);
});

// The live path: facts built by the CT ingest's renderer, not the replay's.
test('live CT ingest: filtered clients get exactly the matching subset of what an unfiltered one gets', { timeout: 60000 }, async (t) => {
  const fl = await startFakelog(['--rfc6962', 'ra', '--static', 'st', '--initial-size', '300',
    '--max-size', '300', '--grow-per-sec', '0'], t);
  const dir = testDir(t, 'filter-smoke-');
  const listFile = path.join(dir, 'loglist.json');
  fs.writeFileSync(listFile, '{"operators":[]}\n');
  const conf = ['source: ct', `ct_logs_url: ${JSON.stringify(listFile)}`, 'ct_log:',
    `  state_file: ${JSON.stringify(path.join(dir, 'state.json'))}`, '  poll_interval_ms: 100',
    '  partial_tile_wait_ms: 300', '  backfill: 1000000000', '  loglist_refresh_secs: 1',
    'dedup:', '  enabled: false', ''].join('\n');
  const d = await startDaemon({ conf, t });
  const st = fl.logUrl('st');
  const all = c.openWs(d.url('/', 'ws'));
  const byLog = c.openWs(d.url(`/?log=${encodeURIComponent(st)}`, 'ws'));
  const pre = c.openWs(d.url('/?type=precert', 'ws'));
  t.after(() => { all.close(); byLog.close(); pre.close(); });
  await Promise.all([all.opened, byLog.opened, pre.opened]);
  const list = (await request('GET', fl.url('/loglist.json'))).body;
  fs.writeFileSync(`${listFile}.tmp`, list);
  fs.renameSync(`${listFile}.tmp`, listFile);
  await c.waitFor(() => all.messages.length >= 600, 40000, 'every entry of both logs');
  await c.sleep(300);
  const key = (m) => `${m.data.source.url}#${m.data.cert_index}`;
  const want = (pred) => all.messages.filter(pred).map(key);
  const logWant = want((m) => m.data.source.url === st);
  assert.strictEqual(logWant.length, 300);
  assert.deepStrictEqual(byLog.messages.map(key), logWant, 'log= selects that log, all of it, in order');
  const preWant = want((m) => m.data.update_type === 'PrecertLogEntry');
  assert.ok(preWant.length > 0 && preWant.length < 600, `precerts ${preWant.length} of 600`);
  assert.deepStrictEqual(pre.messages.map(key), preWant, 'type=precert selects exactly the precertificates');
  // a domain taken from the stream, matched by its parent
  const name = all.messages.map((m) => m.data.leaf_cert.all_domains).flat()
    .find((n) => !n.startsWith('*.') && n.split('.').length >= 3);
  const parent = name.split('.').slice(1).join('.');
  const latest = JSON.parse((await c.httpGet(d.url(`/latest.json?domain=${parent.toUpperCase()}`))).body);
  const latestWant = all.messages.filter((m) => m.data.leaf_cert.all_domains.some((n) => {
    const x = n.toLowerCase().replace(/^\*\./, '');
    return x === parent || x.endsWith(`.${parent}`);
  })).map(key).reverse().slice(0, 25);
  assert.deepStrictEqual(latest.messages.map(key), latestWant, `/latest.json?domain=${parent}`);
});
