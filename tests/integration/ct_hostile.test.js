'use strict';
// Hostile CT logs (issue 7) and kill -9 of every process (issue 4), against
// the real daemon and the fake CT log (build/fakelog) on 127.0.0.1.
//
// ct_ingest.test.js already proves that a log serving a 2 GiB
// Content-Length, an endless body, a gzip bomb or a redirect loop a few
// times recovers with nothing skipped, and that a checkpoint whose origin
// changes stops the log with "origin" in last_error. Here the same faults
// never stop (count 0), plus a TLS error both ways, and what is checked is
// what that test does not: the ingest's RSS stays under a cap, every fault
// is counted in /metrics and named in /health/deep, and the clean logs
// stream every entry meanwhile.
//
//  - entries whose certificate DER is garbage (in the tree, validly signed):
//    counted as parse failures, reported with the log and index, never
//    streamed, never fatal; the log goes on with the next index;
//  - a log whose new tree does not extend the verified one (history
//    rewritten: a fork): a static log proves it from the hash tiles (the
//    old root recomputed from the new tree's tiles), an RFC 6962 one by
//    get-sth-consistency; either stops as failing, nothing of it streamed;
//  - the dedup set outlives an ingest killed with -9 (it lives in shared
//    memory named after the segment);
//  - master, ingest and workers killed with -9 at once while the logs grow:
//    after a restart every index of every log arrives exactly once (the
//    new segment keeps the dead one's log positions and ring; an SSE
//    client resumes with Last-Event-ID).

const { test } = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const { startDaemon, testDir } = require('./lib/daemon');
const c = require('./lib/clients');
const { request, getJson, startFakelog } = require('./lib/fakelog');
const { ctConf, writeList, openCollector, assertIndexes } = require('./lib/ctwatch');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ct_hostile's configuration: short request timeouts, small responses.
function conf(listFile, stateFile, extra = '') {
  return ctConf(listFile, stateFile, {
    ctLog: { request_timeout_secs: 2, max_response_bytes: 4194304 }, extra,
  });
}

const tmpDir = (t) => testDir(t, 'ct-hostile-');

const range = (a, b) => Array.from({ length: b - a }, (_, i) => a + i);

function metric(text, name, log) {
  const re = new RegExp(`^${name}${log ? `\\{log="${log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\}` : ''} (\\d+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}

function rssBytes(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(s)[1]) * 1024;
}

// The process's own memory: VmRSS less the pages of the shared segment
// (the ring's records, touched as they are written) and of mapped files.
function anonBytes(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/RssAnon:\s+(\d+) kB/.exec(s)[1]) * 1024;
}

test('an issuer body far larger than any certificate: cut at 16 KiB with the reason, the log goes on',
  { timeout: 60000 }, async (t) => {
    // The first issuer request gets a body that never ends: the ingest
    // stops reading at 16 KiB (it read up to max_response_bytes, 4 MiB
    // here, before), says why, and fetches it again.
    const fl = await startFakelog(['--static', 'iss', '--initial-size', '300', '--grow-per-sec', '0',
      '--hold-secs', '5'], t);
    assert.strictEqual((await fl.fault('iss', 'endless', 1, '&on=other')).status, 200);
    const dir = tmpDir(t);
    const listFile = path.join(dir, 'loglist.json');
    writeList(listFile, '{"operators":[]}\n');
    const d = await startDaemon({ conf: conf(listFile, path.join(dir, 'state.json')), t });
    const col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
    await c.waitFor(() => col.count(fl.logUrl('iss')) === 300, 20000, 'every entry after the bad issuer');
    const h = await getJson(d.url('/health/deep'));
    const st = h.logs.find((l) => l.url === fl.logUrl('iss'));
    assert.match(st.last_error, /issuer [0-9a-f]{8}\.\.\.: over 16384 bytes: not an issuer certificate/);
    assertIndexes(col.byLog.get(fl.logUrl('iss')), range(0, 300), 'iss');
    col.close();
  });

test('one memory budget: answers held behind a stuck front window stay within ct_log.memory_budget_bytes, ' +
  'then every entry streams exactly once', { timeout: 120000 }, async (t) => {
  // 41,000 entries in windows of 1,000 (about 1.8 MB of JSON each, 5.6 MB
  // for the real ones), 40 of them asked at once. The first get-entries is
  // held for 6 s: every later window comes in and waits behind it. Before
  // the budget the ingest held all of them (40 x ~3 MB parsed: over
  // 100 MB); with a 16 MiB budget it holds what fits, stops asking, and
  // the front is still asked (and never cut) so the log moves on.
  const N = 41000;
  const fl = await startFakelog(['--rfc6962', 'mb', '--initial-size', String(N), '--max-size', String(N),
    '--grow-per-sec', '0', '--batch-cap', '1000', '--hold-secs', '6'], t);
  assert.strictEqual((await fl.fault('mb', 'timeout', 1, '&on=entries')).status, 200);
  const dir = tmpDir(t);
  const listFile = path.join(dir, 'loglist.json');
  writeList(listFile, '{"operators":[]}\n');
  const cfg = conf(listFile, path.join(dir, 'state.json'))
    .replace('batch_size: 256', 'batch_size: 1000')
    .replace('fetch_concurrency: 4', 'fetch_concurrency: 40\n  operator_max_concurrency: 64')
    .replace('request_timeout_secs: 2', 'request_timeout_secs: 20')
    .replace('max_response_bytes: 4194304', 'max_response_bytes: 8388608\n  memory_budget_bytes: 16777216');
  const d = await startDaemon({ conf: cfg, t });
  const col = openCollector(d);
  await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
  const ingestPid = (await getJson(d.url('/health/deep'))).ingest.pid;
  const rss0 = anonBytes(ingestPid);
  let maxRss = 0;
  let maxHeld = 0;
  const sampler = setInterval(() => {
    try { maxRss = Math.max(maxRss, anonBytes(ingestPid)); } catch (_) { /* gone: checked below */ }
    request('GET', d.url('/metrics')).then((r) => {
      maxHeld = Math.max(maxHeld, metric(r.body, 'certstream_ingest_held_bytes') || 0);
    }, () => {});
  }, 50);
  t.after(() => clearInterval(sampler));
  writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
  await c.waitFor(() => col.count(fl.logUrl('mb')) === N, 90000, 'every entry').catch((e) => {
    e.message += `\n${col.count(fl.logUrl('mb'))} streamed\n${d.logs().slice(-3000)}`;
    throw e;
  });
  clearInterval(sampler);
  assertIndexes(col.byLog.get(fl.logUrl('mb')), range(0, N), 'mb');
  assert.strictEqual(col.bad, 0);
  const st = await getJson(fl.url('/control/mb/state'));
  assert.strictEqual(st.faults_fired, 1, 'the front window was held');
  // Windows are asked for only with room for what they are reckoned to
  // bring, so few are cut (a cut one is fetched twice): 41 windows and
  // the held one's second asking.
  t.diagnostic(`get-entries requests: ${st.requests_by_kind.entries}, bytes served ${st.bytes_served}`);
  assert.ok(st.requests_by_kind.entries <= 46, `${st.requests_by_kind.entries} get-entries requests`);
  // The bound: the budget plus one answer of max_response_bytes per log
  // (its front window); RssAnon (VmRSS counts the ring's shared pages,
  // touched as records are written) adds the ingest's start-up size and
  // the allocator's slack.
  t.diagnostic(`ingest RssAnon ${rss0} at start, peak ${maxRss}; held bytes peak ${maxHeld}`);
  assert.ok(maxHeld <= 16777216 + 8388608, `held bytes peaked at ${maxHeld}`);
  if (!/asan/.test(process.env.CERTSTREAM_BIN || '')) {
    // ASan keeps freed memory in quarantine: RSS says nothing there.
    const CAP = rss0 + 64 * 1024 * 1024;
    assert.ok(maxRss < CAP, `ingest RssAnon peaked at ${maxRss} bytes (cap ${CAP})`);
  }
  // Everything let go is uncounted: once all is out, what is left is at
  // most a tree head's body being read (the gauge is set as one is).
  await c.waitForMetric(d, 'certstream_ingest_held_bytes', (v) => v < 4096, 5000);
  col.close();
});

test('one memory budget, static log: data tiles behind a stuck front tile are asked for only with room in the budget',
  { timeout: 90000 }, async (t) => {
    // 80 data tiles, 40 asked at once, the first one held 5 s. Before the
    // budget the other 39 were fetched and held meanwhile; with a 1 MiB
    // budget, and no tile seen yet (one is reckoned at max_response_bytes,
    // 4 MiB), only the front is asked until it comes.
    const N = 80 * 256;
    const fl = await startFakelog(['--static', 'sb', '--initial-size', String(N), '--max-size', String(N),
      '--grow-per-sec', '0', '--hold-secs', '5'], t);
    assert.strictEqual((await fl.fault('sb', 'timeout', 1, '&on=entries')).status, 200);
    const dir = tmpDir(t);
    const listFile = path.join(dir, 'loglist.json');
    writeList(listFile, '{"operators":[]}\n');
    const cfg = conf(listFile, path.join(dir, 'state.json'))
      .replace('fetch_concurrency: 4', 'fetch_concurrency: 40\n  operator_max_concurrency: 64')
      .replace('request_timeout_secs: 2', 'request_timeout_secs: 20')
      .replace('max_response_bytes: 4194304', 'max_response_bytes: 4194304\n  memory_budget_bytes: 1048576');
    const d = await startDaemon({ conf: cfg, t });
    const col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
    let st;
    for (let i = 0; i < 200; i++) {
      st = await getJson(fl.url('/control/sb/state'));
      if (st.faults_fired === 1) break;
      await sleep(50);
    }
    assert.strictEqual(st.faults_fired, 1, 'the front tile was held');
    await sleep(2000);
    st = await getJson(fl.url('/control/sb/state'));
    t.diagnostic(`data tiles asked while the front was held: ${st.requests_by_kind.data_full}`);
    assert.ok(st.requests_by_kind.data_full <= 4, `${st.requests_by_kind.data_full} data tiles asked`);
    await c.waitFor(() => col.count(fl.logUrl('sb')) === N, 60000, 'every entry').catch((e) => {
      e.message += `\n${col.count(fl.logUrl('sb'))} streamed\n${d.logs().slice(-3000)}`;
      throw e;
    });
    assertIndexes(col.byLog.get(fl.logUrl('sb')), range(0, N), 'sb');
    col.close();
  });

test('issuers are fetched only for a data tile proven in the tree',
  { timeout: 60000 }, async (t) => {
    // The first 300 entries (real ones) stream; then hash tiles fail while
    // the log grows past entry 1032, into generated entries whose issuers
    // were never asked for: their data tiles come, cannot be proven, and
    // none of those issuers is asked for (they were, before the proof).
    const fl = await startFakelog(['--static', 'unproven', '--initial-size', '300', '--grow-per-sec', '0'], t);
    const dir = tmpDir(t);
    const listFile = path.join(dir, 'loglist.json');
    writeList(listFile, '{"operators":[]}\n');
    const d = await startDaemon({ conf: conf(listFile, path.join(dir, 'state.json')), t });
    const col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
    const u = fl.logUrl('unproven');
    await c.waitFor(() => col.count(u) === 300, 20000, 'first 300');
    const reqs = async (re) => (await fl.requests('unproven')).filter((r) => re.test(r.path));
    const issuersBefore = (await reqs(/\/issuer\//)).length;
    assert.strictEqual((await fl.fault('unproven', '500', 0, '&on=tiles')).status, 200);
    const tilesBefore = (await reqs(/\/tile\/data\//)).length;
    await fl.grow('unproven', 1000);
    for (const end = Date.now() + 15000; ; await sleep(100)) {
      const n = (await reqs(/\/tile\/data\/00[4-5]/)).length;
      if (n > 0) break;
      assert.ok(Date.now() < end, `the data tiles past entry 1032 asked for (${(await reqs(/\/tile\/data\//)).length - tilesBefore} data tiles asked)`);
    }
    await sleep(1500);
    assert.strictEqual((await reqs(/\/issuer\//)).length, issuersBefore, 'no issuer asked for an unproven tile');
    assert.strictEqual(col.count(u), 300, 'nothing of an unproven tile streamed');
    await request('DELETE', fl.url('/control/unproven/fault'));
    await c.waitFor(() => col.count(u) === 1300, 20000, 'every entry once proven');
    assert.ok((await reqs(/\/issuer\//)).length > issuersBefore, 'the new issuers asked for once proven');
    assertIndexes(col.byLog.get(u), range(0, 1300), 'unproven');
    col.close();
  });

test('garbage certificate DER: counted with log and index, never streamed, the log goes on',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'ga', '--static', 'gs', '--rfc6962', 'clean',
      '--initial-size', '200', '--grow-per-sec', '0'], t);
    const dir = tmpDir(t);
    const listFile = path.join(dir, 'loglist.json');
    writeList(listFile, '{"operators":[]}\n');
    const d = await startDaemon({ conf: conf(listFile, path.join(dir, 'state.json')), t });
    const col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
    const names = ['ga', 'gs', 'clean'];
    await c.waitFor(() => names.every((n) => col.count(fl.logUrl(n)) === 200), 20000, 'first 200 of each');

    // Entries 200..202 of ga and gs are garbage, then good ones again.
    for (const n of ['ga', 'gs']) {
      assert.strictEqual((await fl.fault(n, 'garbage', 3)).status, 200);
      await fl.grow(n, 10);
      const s = await fl.state(n);
      assert.strictEqual(s.garbage_pending, 0, 'the garbage entries are in the tree');
    }
    await fl.grow('clean', 10);
    const u = (n) => fl.logUrl(n);
    let h;
    for (const end = Date.now() + 20000; Date.now() < end; await sleep(100)) {
      h = await getJson(d.url('/health/deep'));
      if (names.every((n) => (h.logs.find((l) => l.url === u(n)) || {}).next_index === 210)) break;
    }
    await sleep(500);
    h = await getJson(d.url('/health/deep'));
    for (const n of ['ga', 'gs']) {
      const st = h.logs.find((l) => l.url === u(n));
      assert.strictEqual(st.next_index, 210, `${n} went on past the garbage`);
      assert.notStrictEqual(st.state, 'failing', `${n}: ${JSON.stringify(st)}`);
      assert.match(st.last_error, /entry 20[0-2]/, `${n} last_error names the index`);
      assert.ok(st.errors >= 3, `${n} errors counted`);
      assertIndexes(col.byLog.get(u(n)), [...range(0, 200), ...range(203, 210)], n);
    }
    assertIndexes(col.byLog.get(u('clean')), range(0, 210), 'clean');
    assert.strictEqual(h.ingest.parse_failures, 6);
    assert.strictEqual(h.ingest.alive, true);
    assert.strictEqual(col.bad, 0, 'nothing half-made reached the client');
    const met = (await request('GET', d.url('/metrics'))).body;
    assert.strictEqual(metric(met, 'certstream_parse_failures_total'), 6);
    for (const n of ['ga', 'gs']) {
      const name = h.logs.find((l) => l.url === u(n)).name;
      assert.ok(metric(met, 'certstream_ct_log_errors_total', name) >= 3, `${n} errors in /metrics`);
    }
    // The log name and index are in the daemon's log too.
    assert.match(d.logs(), new RegExp(`log ${u('ga')}: entry 200: .*entry passed`));
    col.close();
  });

test('hostile logs that never stop (2 GiB Content-Length, endless body, gzip bomb, redirect loop, ' +
  'moved origin, TLS errors): bounded, reported, the others stream everything',
{ timeout: 90000 }, async (t) => {
  const dir = tmpDir(t);
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  assert.strictEqual(gen.status, 0, `openssl makes the test certificate: ${gen.stderr}`);

  const hostile = {
    hbig: ['bigcl', '&on=entries'], hend: ['endless', '&on=entries'],
    hbomb: ['gzipbomb', ''], hredir: ['redirect', ''], horigin: ['origin', ''],
  };
  const fl = await startFakelog(['--rfc6962', 'clean', '--static', 'sclean', '--rfc6962', 'hbig',
    '--rfc6962', 'hend', '--rfc6962', 'hbomb', '--rfc6962', 'hredir', '--static', 'horigin',
    '--rfc6962', 'plainhttps', '--initial-size', '300', '--grow-per-sec', '0', '--hold-secs', '30'], t);
  const tl = await startFakelog(['--rfc6962', 'tls1', '--initial-size', '300', '--grow-per-sec', '0',
    '--tls-cert', cert, '--tls-key', key], t);
  for (const [n, [kind, extra]] of Object.entries(hostile)) {
    assert.strictEqual((await fl.fault(n, kind, 0, extra)).status, 200, `${kind} on ${n}`);
  }
  // The TLS log (its certificate is not trusted), and a plain-HTTP log
  // named by an https URL.
  const list = JSON.parse((await request('GET', fl.url('/loglist.json'))).body);
  const tlist = JSON.parse((await request('GET', `https://127.0.0.1:${tl.port}/loglist.json`,
    { ca: fs.readFileSync(cert) })).body);
  const plain = list.operators[0].logs.find((l) => l.url === fl.logUrl('plainhttps'));
  plain.url = plain.url.replace('http:', 'https:');
  list.operators[0].logs.push(...tlist.operators[0].logs);
  const tlsUrl = tlist.operators[0].logs[0].url;
  assert.match(tlsUrl, /^https:/);

  const listFile = path.join(dir, 'loglist.json');
  writeList(listFile, '{"operators":[]}\n');
  const d = await startDaemon({ conf: conf(listFile, path.join(dir, 'state.json')), t });
  const col = openCollector(d);
  await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
  writeList(listFile, JSON.stringify(list));

  // The clean logs grow for ~10 s while the hostile ones hold the ingest's
  // requests; its RSS is sampled all along.
  const h0 = await getJson(d.url('/health/deep'));
  const ingestPid = h0.ingest.pid;
  const CAP = (/asan/.test(process.env.CERTSTREAM_BIN || '') ? 512 : 128) * 1024 * 1024;
  let maxRss = 0;
  const sampler = setInterval(() => {
    try { maxRss = Math.max(maxRss, rssBytes(ingestPid)); } catch (_) { /* gone: checked below */ }
  }, 100);
  t.after(() => clearInterval(sampler));
  for (let i = 0; i < 20; i++) {
    await fl.grow('clean', 50);
    await fl.grow('sclean', 50);
    await sleep(500);
  }
  await c.waitFor(() => col.count(fl.logUrl('clean')) === 1300 && col.count(fl.logUrl('sclean')) === 1300,
    20000, 'the clean logs streamed everything').catch((e) => {
    e.message += `\n${col.count(fl.logUrl('clean'))} ${col.count(fl.logUrl('sclean'))}\n${d.logs().slice(-3000)}`;
    throw e;
  });
  clearInterval(sampler);
  assertIndexes(col.byLog.get(fl.logUrl('clean')), range(0, 1300), 'clean');
  assertIndexes(col.byLog.get(fl.logUrl('sclean')), range(0, 1300), 'sclean');
  t.diagnostic(`ingest RSS peak ${maxRss} bytes`);
  assert.ok(maxRss > 0 && maxRss < CAP, `ingest RSS peaked at ${maxRss} bytes (cap ${CAP})`);

  const h = await getJson(d.url('/health/deep'));
  assert.strictEqual(h.ingest.pid, ingestPid, 'the ingest never died');
  const met = (await request('GET', d.url('/metrics'))).body;
  const why = {
    hbig: /size cap/, hend: /size cap/, hbomb: /size cap/, hredir: /redirect/i, horigin: /origin/,
    [plain.url]: /SSL|TLS|ssl|tls|connect/, [tlsUrl]: /SSL|TLS|ssl|tls|certificate|self.signed/i,
  };
  for (const [n, re] of Object.entries(why)) {
    const url = n.startsWith('http') ? n : fl.logUrl(n);
    const st = h.logs.find((l) => l.url === url);
    assert.ok(st, `${url} in /health/deep`);
    assert.match(st.last_error || '', re, `${n}: ${JSON.stringify(st)}`);
    assert.ok(st.errors > 0, `${n} errors counted`);
    assert.ok(metric(met, 'certstream_ct_log_errors_total', st.name) > 0, `${n} errors in /metrics`);
    // Nothing of it streamed, and its position never moved: no entry passed.
    assert.strictEqual(col.count(url), 0, `${n}: entries streamed`);
    assert.strictEqual(st.next_index, 0, `${n}: position moved`);
    if (n === 'horigin') assert.strictEqual(st.state, 'failing');
  }
  assert.ok(metric(met, 'certstream_ct_http_errors_total') > 0, 'HTTP errors counted');
  assert.strictEqual(col.bad, 0, 'nothing half-made reached the client');
  col.close();
});

test('a fork (history rewritten under a grown tree): the log stops as failing, nothing of the new tree is streamed',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--static', 'sfork', '--rfc6962', 'rfork', '--static', 'sgrow',
      '--initial-size', '300', '--grow-per-sec', '0'], t);
    const dir = tmpDir(t);
    const listFile = path.join(dir, 'loglist.json');
    writeList(listFile, '{"operators":[]}\n');
    const d = await startDaemon({ conf: conf(listFile, path.join(dir, 'state.json')), t });
    const col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
    const names = ['sfork', 'rfork', 'sgrow'];
    await c.waitFor(() => names.every((n) => col.count(fl.logUrl(n)) === 300), 20000, 'first trees streamed');

    // Entry 5 (sfork) and 260 (rfork) rewritten, then both grow: their
    // checkpoints and tree heads are validly signed, their tiles and
    // entries match them, but the tree no longer holds the one streamed.
    for (const [n, at] of [['sfork', 5], ['rfork', 260]]) {
      const r = await fl.fault(n, 'fork', 1, `&param=${at}`);
      assert.strictEqual(r.status, 200, r.body);
      await fl.grow(n, 300);
    }
    await fl.grow('sgrow', 300);   // an honest log across tile boundaries
    await c.waitFor(() => col.count(fl.logUrl('sgrow')) === 600, 15000, 'the honest log grew');
    let h;
    for (const end = Date.now() + 10000; Date.now() < end; await sleep(100)) {
      h = await getJson(d.url('/health/deep'));
      if (['sfork', 'rfork'].every((n) => (h.logs.find((l) => l.url === fl.logUrl(n)) || {}).state === 'failing')) break;
    }
    const sf = h.logs.find((l) => l.url === fl.logUrl('sfork'));
    assert.strictEqual(sf.state, 'failing', JSON.stringify(sf));
    // A poll between the rewrite and the growth sees the rewritten tree at
    // the old size (same size, another root): refused just the same.
    assert.match(sf.last_error, /fork: (the checkpoint of tree (300|600) does not extend the verified tree 300|two checkpoints of tree 300 with different roots|hash tile \d+\/\d+ changed|hash tiles of tree (300|600) \(with those served before\) do not hash to its checkpoint root)/);
    const rf = h.logs.find((l) => l.url === fl.logUrl('rfork'));
    assert.strictEqual(rf.state, 'failing', JSON.stringify(rf));
    await sleep(500);
    assertIndexes(col.byLog.get(fl.logUrl('sfork')), range(0, 300), 'sfork');
    assertIndexes(col.byLog.get(fl.logUrl('rfork')), range(0, 300), 'rfork');
    assertIndexes(col.byLog.get(fl.logUrl('sgrow')), range(0, 600), 'sgrow');
    col.close();
  });

test('a fork while certstream was down: the restarted ingest proves the new tree against the head verified before (state file after SIGTERM, shared memory after kill -9) and refuses it',
  { timeout: 90000 }, async (t) => {
    const names = ['sfork', 'rfork', 'sgrow', 'kfork'];
    const fl = await startFakelog(['--static', 'sfork', '--rfc6962', 'rfork', '--static', 'sgrow',
      '--rfc6962', 'kfork', '--initial-size', '300', '--grow-per-sec', '0'], t);
    const url = (n) => fl.logUrl(n);
    const dir = tmpDir(t);
    const listFile = path.join(dir, 'loglist.json');
    const stateFile = path.join(dir, 'state.json');
    const shm = `/certstream-forkdown-${process.pid}-${Date.now()}`;
    t.after(() => { try { fs.rmSync(`/dev/shm${shm}`, { force: true }); } catch (_) { /* gone */ } });
    const cf = conf(listFile, stateFile, `shm_name: ${JSON.stringify(shm)}`);
    const env = { CERTSTREAM_CT_LOG_STATE_FILE: stateFile };
    writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
    let d = await startDaemon({ conf: cf, t, env });
    let col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    for (const end = Date.now() + 20000; ; await sleep(100)) {
      const h = await getJson(d.url('/health/deep'));
      if (names.every((n) => (h.logs.find((l) => l.url === url(n)) || {}).next_index === 300)) break;
      assert.ok(Date.now() < end, 'first trees taken');
    }
    const stopped = await d.stop('SIGTERM');
    assert.strictEqual(stopped.code, 0);
    col.close();
    const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    for (const n of names) {
      assert.strictEqual(saved[url(n)].next, 300, n);
      assert.strictEqual(saved[url(n)].tree_size, 300, `${n}: the verified head is saved`);
      assert.match(saved[url(n)].root_hash, /^[0-9a-f]{64}$/);
    }

    // While it is down: two logs rewrite history and grow (validly
    // signed, self-consistent, but not the tree streamed); one grows
    // honestly.
    for (const [n, at] of [['sfork', 5], ['rfork', 260]]) {
      const r = await fl.fault(n, 'fork', 1, `&param=${at}`);
      assert.strictEqual(r.status, 200, r.body);
      await fl.grow(n, 300);
    }
    await fl.grow('sgrow', 300);
    // sgrow's first checkpoints fail, so its new entries wait for the
    // client below (they may otherwise stream before it connects).
    assert.strictEqual((await fl.fault('sgrow', '500', 3, '&on=sth')).status, 200);
    // kfork answers no tree head at all while the next daemon runs, and
    // its history was rewritten from entry 150 under the same size: with
    // its resume point set back to 100, nothing may be fetched on the
    // strength of the head kept from before (300 entries) until a head is
    // verified again. That head, never re-verified, must still reach the
    // segment for the start after that.
    assert.strictEqual((await fl.fault('kfork', 'fork', 1, '&param=150')).status, 200);
    assert.strictEqual((await fl.fault('kfork', '500', 1000000, '&on=sth')).status, 200);
    const back = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    back[url('kfork')].next = 100;
    fs.writeFileSync(stateFile, JSON.stringify(back));
    d = await startDaemon({ conf: cf, t, env });
    col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    await c.waitFor(() => col.count(url('sgrow')) === 300, 15000, 'the honest log streams its new entries');
    let h;
    for (const end = Date.now() + 10000; Date.now() < end; await sleep(100)) {
      h = await getJson(d.url('/health/deep'));
      if (['sfork', 'rfork'].every((n) => (h.logs.find((l) => l.url === url(n)) || {}).state === 'failing')) break;
    }
    const sf = h.logs.find((l) => l.url === url('sfork'));
    assert.strictEqual(sf.state, 'failing', JSON.stringify(sf));
    assert.match(sf.last_error, /fork: the checkpoint of tree 600 does not extend the verified tree 300/);
    const rf = h.logs.find((l) => l.url === url('rfork'));
    assert.strictEqual(rf.state, 'failing', JSON.stringify(rf));
    assert.match(rf.last_error, /tree 600 does not extend tree 300/);
    assert.match(d.logs(), /resuming at entry 300 \(state file\)/);
    await sleep(500);
    assert.strictEqual(col.count(url('sfork')) + col.count(url('rfork')), 0, 'nothing of a forked tree streamed');
    assert.strictEqual(col.count(url('kfork')), 0, 'nothing fetched without a head verified by this run');
    assertIndexes(col.byLog.get(url('sgrow')), range(300, 600), 'sgrow');

    // Every process killed with -9 and the state file gone: the segment
    // alone carries the verified head to the next start (kfork's, which
    // that daemon only read from the state file).
    const pids = [d.pid, ...d.childPids()];
    for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch (_) { /* gone */ } }
    await d.exited;
    for (const p of pids) {
      for (const end = Date.now() + 5000; Date.now() < end; await sleep(20)) {
        try { process.kill(p, 0); } catch (_) { break; }
      }
    }
    await d.stop('SIGKILL');
    col.close();
    fs.rmSync(stateFile, { force: true });
    await request('DELETE', fl.url('/control/kfork/fault'));
    const r = await fl.fault('kfork', 'fork', 1, '&param=100');
    assert.strictEqual(r.status, 200, r.body);
    await fl.grow('kfork', 300);
    d = await startDaemon({ conf: cf, t, env });
    col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    let kf;
    for (const end = Date.now() + 10000; Date.now() < end; await sleep(100)) {
      kf = (await getJson(d.url('/health/deep'))).logs.find((l) => l.url === url('kfork'));
      if (kf && kf.state === 'failing') break;
    }
    assert.strictEqual(kf.state, 'failing', `${JSON.stringify(kf)}\n${d.logs().slice(-4000)}`);
    assert.match(kf.last_error, /tree 600 does not extend tree 300/);
    assert.match(d.logs(), /resuming at entry 300 \(shared memory\)/);
    await sleep(500);
    assert.strictEqual(col.count(url('kfork')), 0, 'nothing of the forked tree streamed');
    col.close();
  });

test('dedup survives an ingest killed with -9: a certificate it streamed is not streamed again from another log',
  { timeout: 60000 }, async (t) => {
    // Both logs start with the same real certificates.
    const fl = await startFakelog(['--rfc6962', 'd1', '--rfc6962', 'd2', '--real', 'all',
      '--initial-size', '300', '--grow-per-sec', '0'], t);
    const dir = tmpDir(t);
    const listFile = path.join(dir, 'loglist.json');
    writeList(listFile, '{"operators":[]}\n');
    const cf = conf(listFile, path.join(dir, 'state.json')).replace('  enabled: false', '  enabled: true');
    const d = await startDaemon({ conf: cf, t });
    const col = openCollector(d);
    const fps = [];
    col.ws.on('message', (data) => {
      try { fps.push(JSON.parse(data.toString()).data.leaf_cert.sha256); } catch (_) { /* not a cert */ }
    });
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    const full = JSON.parse((await request('GET', fl.url('/loglist.json'))).body);
    const only = (n) => JSON.stringify({ operators: [{ ...full.operators[0],
      logs: full.operators[0].logs.filter((l) => n.some((x) => l.url === fl.logUrl(x))) }] });
    writeList(listFile, only(['d1']));
    const nextOf = async (n) => {
      const h = await getJson(d.url('/health/deep'));
      return ((h.logs || []).find((l) => l.url === fl.logUrl(n)) || {}).next_index;
    };
    for (const end = Date.now() + 15000; (await nextOf('d1')) !== 300; await sleep(100)) {
      assert.ok(Date.now() < end, 'd1 read');
    }
    await sleep(300);
    const first = col.count(fl.logUrl('d1'));
    assert.ok(first > 0);
    const pid = (await getJson(d.url('/health/deep'))).ingest.pid;
    process.kill(pid, 'SIGKILL');
    for (const end = Date.now() + 15000; ; await sleep(100)) {
      assert.ok(Date.now() < end, 'a new ingest');
      const h = await getJson(d.url('/health/deep'));
      if (h.ingest.alive && h.ingest.pid !== pid) break;
    }
    // the new ingest may be alive a moment before its start-up line is read
    await c.waitFor(() => /dedup: \d+ certificates remembered from the previous ingest/.test(d.logs()), 5000,
      'the new ingest keeping the dedup set');
    writeList(listFile, only(['d1', 'd2']));
    for (const end = Date.now() + 15000; (await nextOf('d2')) !== 300; await sleep(100)) {
      assert.ok(Date.now() < end, 'd2 read');
    }
    await sleep(500);
    assert.strictEqual(col.count(fl.logUrl('d2')), 0, 'the certificates d1 streamed are duplicates in d2');
    assert.strictEqual(col.count(fl.logUrl('d1')), first, 'd1 not repeated');
    assert.strictEqual(new Set(fps).size, fps.length, 'no certificate streamed twice');
    col.close();
  });

// An SSE client of the full stream that files certificates by log URL and
// remembers the id of the last whole event (to resume with Last-Event-ID).
function openSse(d, lastId) {
  const byLog = new Map();
  const s = { byLog, lastId, bad: 0, open: false, count: (u) => (byLog.get(u) || []).length };
  const headers = lastId === undefined ? {} : { 'Last-Event-ID': String(lastId) };
  s.req = http.get(d.url('/sse?stream=full'), { headers }, (res) => {
    s.open = res.statusCode === 200;
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let id;
        let data = '';
        for (const line of ev.split('\n')) {
          if (line.startsWith('id: ')) id = Number(line.slice(4));
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (id === undefined) continue;   // a comment or heartbeat
        if (s.firstId === undefined) s.firstId = id;
        s.lastId = id;
        let m;
        try { m = JSON.parse(data); } catch (_) { s.bad++; continue; }
        if (m.message_type !== 'certificate_update') continue;
        const u = m.data.source.url;
        if (!byLog.has(u)) byLog.set(u, []);
        byLog.get(u).push(m.data.cert_index);
      }
    });
    res.on('error', () => {});
  });
  s.req.on('error', () => {});
  s.close = () => s.req.destroy();
  return s;
}

test('master, ingest and workers killed with -9 at once while logs grow: every index exactly once after restart',
  { timeout: 90000 }, async (t) => {
    const FINAL = 3000;
    const fl = await startFakelog(['--rfc6962', 'ka', '--static', 'ks', '--initial-size', '300',
      '--max-size', String(FINAL), '--grow-per-sec', '0'], t);
    const names = ['ka', 'ks'];
    const urls = names.map((n) => fl.logUrl(n));
    const dir = tmpDir(t);
    const listFile = path.join(dir, 'loglist.json');
    const stateFile = path.join(dir, 'state.json');
    // A fixed segment name, so that the restart finds the dead one; the
    // state file is saved seldom, so it lags far behind the segment.
    const shm = `/certstream-kill-${process.pid}-${Date.now()}`;
    const cf = conf(listFile, stateFile, `shm_name: ${JSON.stringify(shm)}`)
      .replace('state_save_interval_secs: 1', 'state_save_interval_secs: 3600');
    const env = { CERTSTREAM_CT_LOG_STATE_FILE: stateFile };
    t.after(() => { try { fs.rmSync(`/dev/shm${shm}`, { force: true }); } catch (_) { /* gone */ } });
    writeList(listFile, '{"operators":[]}\n');
    let d = await startDaemon({ conf: cf, t, env, workers: 2 });
    let col = openSse(d);
    await c.waitFor(() => col.open, 5000, 'client open');
    writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
    const seqs = new Map(urls.map((u) => [u, []]));
    let growing = true;
    const grower = (async () => {
      while (growing) {
        for (const n of names) await fl.grow(n, 40);
        await sleep(50);
      }
    })();
    await c.waitFor(() => urls.every((u) => col.count(u) >= 1000), 30000, '1000 entries per log');

    // Every process at once, mid-stream.
    const pids = [d.pid, ...d.childPids()];
    assert.ok(pids.length >= 4, `master, ingest and 2 workers: ${pids}`);
    for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch (_) { /* gone */ } }
    await d.exited;
    for (const p of pids) {
      for (const end = Date.now() + 5000; Date.now() < end; await sleep(20)) {
        try { process.kill(p, 0); } catch (_) { break; }
      }
    }
    await sleep(300);
    col.close();
    for (const u of urls) seqs.get(u).push(...(col.byLog.get(u) || []));
    const before = urls.map((u) => seqs.get(u).length);
    const saved = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, 'utf8')) : {};
    for (let i = 0; i < urls.length; i++) {
      const at = saved[urls[i]] ? saved[urls[i]].next : 0;
      assert.ok(at < before[i], `the state file lags (${at} < ${before[i]})`);
    }
    await d.stop('SIGKILL');

    // The logs answer 500 until the client is back, resuming after the
    // last event it got: what the dead workers had not sent yet is still
    // in the ring the new segment kept.
    for (const n of names) await fl.fault(n, '500', 0);
    d = await startDaemon({ conf: cf, t, env, workers: 2 });
    const last = col.lastId;
    const ringAt = JSON.stringify((await getJson(d.url('/health/deep'))).ring);
    col = openSse(d, last);
    await c.waitFor(() => col.open, 5000, 'client open');
    for (const n of names) await request('DELETE', fl.url(`/control/${n}/fault`));
    for (const end = Date.now() + 30000; ; await sleep(100)) {
      assert.ok(Date.now() < end, 'logs grown');
      if ((await fl.state('ka')).size >= FINAL && (await fl.state('ks')).size >= FINAL) break;
    }
    growing = false;
    await grower;
    await c.waitFor(() => urls.every((u) => seqs.get(u).length + col.count(u) >= FINAL), 30000,
      `all ${FINAL} entries of every log`).catch((e) => {
      e.message += `\n${urls.map((u) => `${seqs.get(u).length}+${col.count(u)} ` +
        `(${(col.byLog.get(u) || []).slice(0, 3)})`)} resumed after ${last}, first id ${col.firstId}, ring ${ringAt}` +
        `\n${d.logs().slice(-3000)}`;
      throw e;
    });
    await sleep(1000);
    for (const u of urls) seqs.get(u).push(...(col.byLog.get(u) || []));
    col.close();
    for (let i = 0; i < urls.length; i++) assertIndexes(seqs.get(urls[i]), range(0, FINAL), names[i]);
    assert.strictEqual(col.bad, 0);
    assert.match(d.logs(), /resuming at entry \d+ \(shared memory\)/);
  });
