'use strict';
// Server-side filters, a short smoke test on the replay feed: filtered
// WebSocket and SSE clients get exactly the feed records their filter
// selects, in order; a bad filter gets a JSON 400 before any upgrade; a
// hostile regex costs nothing; /latest.json and /example.json filter too.
// (The full acceptance suite, with an independent oracle per kind, lives
// beside it.)
const { test } = require('node:test');
const assert = require('node:assert');
const { startDaemon } = require('./lib/daemon');
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
