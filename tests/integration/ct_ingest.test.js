'use strict';
// CT ingest end to end: the real daemon (source: ct) watching the fake CT
// log (build/fakelog) on 127.0.0.1, read by a real WebSocket client.
//
//  - three growing logs (two RFC 6962, one static-ct-api): every entry
//    reaches a /full-stream client exactly once, per log in index order,
//    across a kill -9 of the ingest process and a full daemon restart;
//  - a bad tree-head or checkpoint signature: not one entry of that tree is
//    streamed, and the log is failing in /health/deep.

const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { startDaemon, testDir } = require('./lib/daemon');
const c = require('./lib/clients');
const { request, getJson, startFakelog } = require('./lib/fakelog');
const { EMPTY_LIST, ctConf, writeList, openCollector, logStatus, assertExactlyOnce } = require('./lib/ctwatch');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ct_ingest's configuration: ctwatch's, with a request timeout and a
// response cap a test may lower.
function baseConf(loglist, stateFile, o = {}) {
  return ctConf(loglist, stateFile, {
    ctLog: { request_timeout_secs: o.timeout || 5, max_response_bytes: o.maxBytes || 67108864 },
    dedup: o.dedup,
  });
}

// A daemon with a /full-stream collector, then told of every log of fl
// (listed only once the client is connected, so it misses nothing;
// beforeList runs just before; editList may change the list's text). The
// state file is the test's own, so a daemon started again with `conf` and
// `env` resumes from it.
async function watchFakelog(fl, t, { beforeList = async () => {}, editList = (s) => s } = {}) {
  const dir = testDir(t, 'ct-ingest-');
  const listFile = path.join(dir, 'loglist.json');
  const stateFile = path.join(dir, 'state.json');
  const conf = baseConf(listFile, stateFile);
  const env = { CERTSTREAM_CT_LOG_STATE_FILE: stateFile };
  writeList(listFile, EMPTY_LIST);
  const d = await startDaemon({ conf, t, env });
  const col = openCollector(d);
  await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
  await beforeList();
  writeList(listFile, editList((await request('GET', fl.url('/loglist.json'))).body));
  return { d, col, conf, env };
}

test('three growing logs: every entry exactly once, in order, across kill -9 of ingest and a daemon restart',
  { timeout: 150000 }, async (t) => {
    const FINAL = 7000;   // entries per log: 21,000 in all
    const fl = await startFakelog(['--rfc6962', 'ra', '--rfc6962', 'rb', '--static', 'st',
      '--initial-size', '600', '--max-size', String(FINAL), '--grow-per-sec', '0'], t);
    const names = ['ra', 'rb', 'st'];
    const urls = names.map((n) => fl.logUrl(n));
    const fullList = (await request('GET', fl.url('/loglist.json'))).body;

    const dir = testDir(t, 'ct-ingest-');
    const listFile = path.join(dir, 'loglist.json');
    const stateFile = path.join(dir, 'state.json');
    const conf = baseConf(listFile, stateFile);
    const seqs = new Map(urls.map((u) => [u, []]));

    // Grow every log in steps of 150 while the daemon reads them.
    const growTo = async (target) => {
      for (;;) {
        let done = 0;
        for (const n of names) {
          const s = await fl.state(n);
          if (s.size < target) await fl.grow(n, Math.min(150, target - s.size));
          else done++;
        }
        if (done === names.length) return;
        await sleep(100);
      }
    };

    // Phase 1: the client connects before any log is listed, so it sees
    // everything; then the ingest is killed mid-stream.
    writeList(listFile, EMPTY_LIST);
    let d = await startDaemon({ conf, t, env: { CERTSTREAM_CT_LOG_STATE_FILE: stateFile } });
    let col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    writeList(listFile, fullList);
    const g1 = growTo(1500);
    await c.waitFor(() => urls.every((u) => col.count(u) >= 1000), 30000, '1000 entries per log');

    const h = await getJson(d.url('/health/deep'));
    const ingestPid = h.ingest.pid;
    assert.ok(ingestPid > 0);
    process.kill(ingestPid, 'SIGKILL');
    await g1;
    await growTo(2500);
    await c.waitFor(() => urls.every((u) => col.count(u) >= 2500), 30000,
      'entries after the ingest restart').catch((e) => {
      e.message += `\n${urls.map((u) => col.count(u))}\n--- daemon ---\n${d.logs().slice(-4000)}`;
      throw e;
    });
    const h2 = await getJson(d.url('/health/deep'));
    assert.notStrictEqual(h2.ingest.pid, ingestPid, 'a new ingest process');

    // Quiesce: unlist the logs (they stop, state is kept), let the client
    // drain, then stop the whole daemon.
    writeList(listFile, EMPTY_LIST);
    let last = '';
    const quiesceEnd = Date.now() + 30000;
    for (let stable = 0; stable < 3;) {
      assert.ok(Date.now() < quiesceEnd, 'the stream settles once the logs are unlisted');
      await sleep(700);
      const now = urls.map((u) => col.count(u)).join(',');
      stable = now === last ? stable + 1 : 0;
      last = now;
    }
    for (const u of urls) seqs.get(u).push(...(col.byLog.get(u) || []));
    col.close();
    const stopInfo = await d.stop('SIGTERM');
    assert.strictEqual(stopInfo.code, 0, 'daemon stops cleanly');
    const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    for (const u of urls) {
      assert.strictEqual(saved[u].next, seqs.get(u).length, `state file resume point of ${u}`);
    }

    // Phase 2: a new daemon resumes from the state file.
    d = await startDaemon({ conf, t, env: { CERTSTREAM_CT_LOG_STATE_FILE: stateFile } });
    col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    writeList(listFile, fullList);
    await growTo(FINAL);
    await c.waitFor(() => urls.every((u) => seqs.get(u).length + col.count(u) >= FINAL), 60000,
      `all ${FINAL} entries of every log`);
    await sleep(1000);   // anything extra would show up now
    for (const u of urls) seqs.get(u).push(...(col.byLog.get(u) || []));
    col.close();

    for (let i = 0; i < names.length; i++) assertExactlyOnce(seqs.get(urls[i]), FINAL, names[i]);
    for (const u of urls) {
      const st = await logStatus(d, u);
      assert.ok(st, `${u} in /health/deep`);
      assert.strictEqual(st.state, 'ok');
      assert.strictEqual(st.tree_size, FINAL);
      assert.strictEqual(st.next_index, FINAL);
    }
  });

test('a bad signature: not one entry of that tree is streamed, the log is failing, the others go on',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'good', '--rfc6962', 'badsth', '--static', 'badcp',
      '--rfc6962', 'later', '--initial-size', '300', '--grow-per-sec', '0',
      '--fault', 'badsth:badsig:1000000', '--fault', 'badcp:badsig:1000000'], t);
    const { d, col } = await watchFakelog(fl, t);

    const good = fl.logUrl('good');
    const later = fl.logUrl('later');
    await c.waitFor(() => col.count(good) === 300 && col.count(later) === 300, 20000,
      'the good logs streamed');

    // 'later' verified so far; now its tree heads turn bad while it grows.
    await fl.fault('later', 'badsig', 1000000);
    await fl.grow('later', 200);
    await fl.grow('good', 200);
    await c.waitFor(() => col.count(good) === 500, 20000, 'good log keeps streaming');
    for (const name of ['badsth', 'badcp', 'later']) {
      const u = fl.logUrl(name);
      let st;
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline) {
        st = await logStatus(d, u);
        if (st && st.state === 'failing') break;
        await sleep(100);
      }
      assert.ok(st, `${name} in /health/deep`);
      assert.strictEqual(st.state, 'failing', `${name} state`);
      assert.match(st.last_error || '', /signature/, `${name} last_error`);
    }
    await sleep(1000);
    assert.strictEqual(col.count(fl.logUrl('badsth')), 0, 'no entry of the bad STH log');
    assert.strictEqual(col.count(fl.logUrl('badcp')), 0, 'no entry of the bad checkpoint log');
    const seq = col.byLog.get(later);
    assertExactlyOnce(seq, 300, 'later (only its verified tree)');
    const met = await request('GET', d.url('/metrics'));
    assert.strictEqual(met.status, 200);
    col.close();
  });

test('faults: each log recovers with nothing skipped, or fails with its reason (a log stuck behind included); the others never stall',
  { timeout: 90000 }, async (t) => {
    // name -> [kind, count, extra query]; every fault fires after the
    // client is connected (the logs are listed only then).
    const recover = {
      f429: ['429', 3, '&param=1'], f500: ['500', 3, ''], ftimeout: ['timeout', 1, ''],
      ftrunc: ['truncate', 2, '&on=entries'], fb64: ['badbase64', 2, ''], fshort: ['short', 6, ''],
      fgzip: ['gzip', 3, ''], fbigcl: ['bigcl', 1, '&on=entries'], fendless: ['endless', 1, '&on=entries'],
      fbomb: ['gzipbomb', 1, ''], fredir: ['redirect', 8, ''],
      // static logs: data tiles are "entries", issuers "other"
      st500: ['500', 3, '&on=entries'], sttrunc: ['truncate', 1, '&on=entries'],
      stgzip: ['gzip', 4, '&on=entries'], stissuer: ['500', 2, '&on=other'],
    };
    // fstuck: its tree heads verify but every get-entries fails: behind and
    // taking nothing, it must show failing, not ok
    const fail = {
      storigin: ['origin', 1000, '', /origin/],
      fstuck: ['500', 1000000, '&on=entries', /get-entries .*HTTP 500/],
    };
    const statics = new Set(['st500', 'sttrunc', 'stgzip', 'stissuer', 'storigin', 'sclean']);
    const all = ['clean', 'sclean', 'fshrink', ...Object.keys(recover), ...Object.keys(fail)];
    const args = ['--initial-size', '400', '--grow-per-sec', '0', '--hold-secs', '30'];
    for (const n of all) args.push(statics.has(n) ? '--static' : '--rfc6962', n);
    const fl = await startFakelog(args, t);
    const dir = testDir(t, 'ct-ingest-');
    const listFile = path.join(dir, 'loglist.json');
    writeList(listFile, EMPTY_LIST);
    const d = await startDaemon({
      conf: baseConf(listFile, path.join(dir, 'state.json'), { timeout: 2, maxBytes: 4194304 }), t,
    });
    const col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    for (const [n, [kind, count, extra]] of Object.entries({ ...recover, ...fail })) {
      const r = await fl.fault(n, kind, count, extra);
      assert.strictEqual(r.status, 200, `fault ${kind} on ${n}: ${r.body}`);
    }
    writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);

    // The clean logs keep growing and streaming while the others misbehave.
    for (let i = 0; i < 5; i++) {
      await fl.grow('clean', 100);
      await fl.grow('sclean', 100);
      await sleep(300);
    }
    const size = (n) => (n === 'clean' || n === 'sclean' ? 900 : 400);
    const want = ['clean', 'sclean', 'fshrink', ...Object.keys(recover)];
    await c.waitFor(() => want.every((n) => col.count(fl.logUrl(n)) >= size(n)), 45000,
      'every recovering log fully streamed').catch((e) => {
      e.message += `\n${want.map((n) => `${n}=${col.count(fl.logUrl(n))}`).join(' ')}` +
        `\n--- daemon ---\n${d.logs().slice(-3000)}`;
      throw e;
    });
    // The stuck log: failing once it has taken nothing for two request
    // timeouts (2 x 2 s here), while its tree heads keep verifying.
    let stuck;
    const until = Date.now() + 15000;
    while (!stuck || stuck.state !== 'failing') {
      if (Date.now() > until) assert.fail(`fstuck never shown failing: ${JSON.stringify(stuck)}`);
      await sleep(200);
      stuck = await logStatus(d, fl.logUrl('fstuck'));
    }
    assert.strictEqual(stuck.next_index, 0, 'fstuck streamed nothing');
    assert.ok(stuck.last_success > 0, 'its tree heads still verify');
    // A tree that shrinks after it was streamed: refused, the log stops.
    await fl.fault('fshrink', 'shrink', 1000, '&param=50');
    fail.fshrink = ['shrink', 1000, '', /shrank from 400 to 350/];
    await sleep(1000);
    for (const n of want) assertExactlyOnce(col.byLog.get(fl.logUrl(n)), size(n), n);

    const h = await getJson(d.url('/health/deep'));
    assert.strictEqual(h.ingest.parse_failures, 0);

    for (const [n, [, , , why]] of Object.entries(fail)) {
      const st = h.logs.find((l) => l.url === fl.logUrl(n));
      assert.ok(st, `${n} in /health/deep`);
      assert.strictEqual(st.state, 'failing', `${n}: ${JSON.stringify(st)}`);
      assert.match(st.last_error || '', why);
    }
    for (const n of want.filter((x) => !fail[x])) {
      const st = h.logs.find((l) => l.url === fl.logUrl(n));
      assert.notStrictEqual(st.state, 'failing', `${n}: ${JSON.stringify(st)}`);
      assert.strictEqual(st.next_index, size(n), n);
      if (!['clean', 'sclean', 'fshrink', 'fgzip', 'stgzip', 'fshort'].includes(n)) {
        assert.ok(st.errors > 0, `${n}: its fault is counted: ${JSON.stringify(st)}`);
      }
    }
    col.close();
  });

test('entries are checked against the signed tree: a log whose get-entries serves an entry not in its tree fails',
  { timeout: 60000 }, async (t) => {
    // swap0: from entry 0 the frontier is the empty tree; its first
    // get-entries serves a neighbour in place of entry 0. swapgrow: bound
    // later, from the consistency proof once everything up to its head was
    // streamed; the swap comes with the next growth. clean: never faulted.
    // swapshort: the swap, then every answer about half of what was asked
    // (the rest of each is asked for apart). All swaps are within HOLD_MAX
    // of a verified head, so the entries are checked before any is
    // published: none of the faulty range streams.
    const fl = await startFakelog(['--rfc6962', 'swap0', '--rfc6962', 'swapgrow', '--rfc6962', 'clean',
      '--rfc6962', 'swapshort', '--initial-size', '300', '--grow-per-sec', '0'], t);
    const { d, col, conf, env } = await watchFakelog(fl, t, {
      beforeList: async () => {
        assert.strictEqual((await fl.fault('swap0', 'swap', 1)).status, 200);
        assert.strictEqual((await fl.fault('swapshort', 'swap', 1)).status, 200);
        assert.strictEqual((await fl.fault('swapshort', 'short', 0)).status, 200);
      },
    });

    const failing = async (n, what) => {
      let st;
      for (const until = Date.now() + 20000; Date.now() < until; await sleep(200)) {
        st = await logStatus(d, fl.logUrl(n));
        if (st && st.state === 'failing') return st;
      }
      assert.fail(`${what}: ${n} not failing: ${JSON.stringify(st)}\n${d.logs().slice(-3000)}`);
      return st;
    };
    const why = /entries below 300 do not hash to the signed tree head/;
    const s0 = await failing('swap0', 'a swapped entry from 0');
    assert.match(s0.last_error, why);
    assert.match(s0.last_error, /none of them was streamed/);
    const ss = await failing('swapshort', 'a swapped entry among short answers');
    assert.match(ss.last_error, why);
    assert.match(ss.last_error, /none of them was streamed/);

    // swapgrow: all 300 streamed; after a restart it resumes at 300, where
    // only the consistency proof 300 -> 350 can bind it. The swap comes
    // with the growth after that.
    await c.waitFor(() => col.count(fl.logUrl('swapgrow')) >= 300 && col.count(fl.logUrl('clean')) >= 300,
      20000, 'swapgrow and clean streamed');
    assert.strictEqual(col.count(fl.logUrl('swap0')), 0, 'entries of swap0 streamed before their check');
    assert.strictEqual(col.count(fl.logUrl('swapshort')), 0, 'entries of swapshort streamed before their check');
    col.close();
    await d.stop('SIGTERM');
    const d2 = await startDaemon({ conf, t, env });
    const col2 = openCollector(d2);
    await c.waitFor(() => col2.ws.readyState === 1, 5000, 'client open again');
    await fl.grow('swapgrow', 50);
    await fl.grow('clean', 50);
    await c.waitFor(() => /swapgrow\S*: entries from 300 on are checked/.test(d2.logs()), 20000,
      'swapgrow bound by the consistency proof 300 -> 350').catch((e) => {
      e.message += `\n${d2.logs().slice(-3000)}`;
      throw e;
    });
    await c.waitFor(() => col2.count(fl.logUrl('swapgrow')) >= 50, 20000, 'swapgrow at 350');
    assert.strictEqual((await fl.fault('swapgrow', 'swap', 1)).status, 200);
    await fl.grow('swapgrow', 50);
    await fl.grow('clean', 50);
    let st;
    for (const until = Date.now() + 20000; Date.now() < until; await sleep(200)) {
      st = await logStatus(d2, fl.logUrl('swapgrow'));
      if (st && st.state === 'failing') break;
    }
    assert.strictEqual(st.state, 'failing', `swapgrow after the binding: ${JSON.stringify(st)}\n${d2.logs().slice(-3000)}`);
    assert.match(st.last_error, /entries below 400 do not hash to the signed tree head/);

    await c.waitFor(() => col2.count(fl.logUrl('clean')) >= 100, 20000, 'clean keeps streaming');
    assert.strictEqual(col2.count(fl.logUrl('swapgrow')), 50, 'entries 350-399 of swapgrow streamed before their check');
    const c1 = await logStatus(d2, fl.logUrl('clean'));
    assert.notStrictEqual(c1.state, 'failing', JSON.stringify(c1));
    assert.strictEqual(c1.next_index, 400);
    col2.close();
  });

test('dedup: a certificate logged in two logs is streamed once and counted', { timeout: 60000 }, async (t) => {
  // Both logs start with the same real entries (--real all).
  const fl = await startFakelog(['--rfc6962', 'd1', '--rfc6962', 'd2', '--real', 'all',
    '--initial-size', '300', '--grow-per-sec', '0'], t);
  const dir = testDir(t, 'ct-ingest-');
  const listFile = path.join(dir, 'loglist.json');
  writeList(listFile, EMPTY_LIST);
  const d = await startDaemon({ conf: baseConf(listFile, path.join(dir, 'state.json'), { dedup: true }), t });
  const col = openCollector(d);
  await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
  writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
  const u1 = fl.logUrl('d1');
  const u2 = fl.logUrl('d2');
  let h;
  for (const deadline = Date.now() + 20000; Date.now() < deadline; await sleep(200)) {
    h = await getJson(d.url('/health/deep'));
    const st = h.logs.filter((l) => l.url === u1 || l.url === u2);
    if (st.length === 2 && st.every((l) => l.next_index === 300)) break;
  }
  await sleep(500);
  h = await getJson(d.url('/health/deep'));
  const streamed = col.count(u1) + col.count(u2);
  assert.ok(h.ingest.duplicates > 0, 'the shared real entries are duplicates');
  assert.strictEqual(streamed + h.ingest.duplicates, 600, 'every entry streamed or counted as a duplicate');
  assert.strictEqual(new Set(col.fps).size, col.fps.length, 'no certificate streamed twice');
  for (const u of [u1, u2]) {
    const seq = col.byLog.get(u) || [];
    for (let i = 1; i < seq.length; i++) assert.ok(seq[i] > seq[i - 1], `${u} in index order`);
  }
  const met = (await request('GET', d.url('/metrics'))).body;
  assert.match(met, /duplicates/);
  col.close();
});

test('SIGHUP: a custom log starts, restarts when its key changes; a state filter change stops a listed log',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'ha', '--rfc6962', 'hb', '--initial-size', '200',
      '--grow-per-sec', '0'], t);
    const dir = testDir(t, 'ct-ingest-');
    const listFile = path.join(dir, 'loglist.json');
    const full = JSON.parse((await request('GET', fl.url('/loglist.json'))).body);
    const hb = full.operators[0].logs.find((l) => l.url === fl.logUrl('hb'));
    full.operators[0].logs = full.operators[0].logs.filter((l) => l !== hb);
    writeList(listFile, EMPTY_LIST);
    const confFile = path.join(dir, 'certstream.conf');
    const conf = baseConf(listFile, path.join(dir, 'state.json'));
    fs.writeFileSync(confFile, conf);
    const d = await startDaemon({ conf: confFile, t });
    const col = openCollector(d);
    await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
    writeList(listFile, JSON.stringify(full));
    await c.waitFor(() => col.count(fl.logUrl('ha')) === 200, 15000, 'listed log streamed');
    assert.strictEqual(col.count(fl.logUrl('hb')), 0);

    // First with the wrong key (ha's): its tree heads do not verify.
    const ha = full.operators[0].logs[0];
    fs.writeFileSync(confFile, `${conf}custom_logs:\n  - name: "extra hb"\n` +
      `    url: ${JSON.stringify(hb.url)}\n    key: ${JSON.stringify(ha.key)}\n`);
    process.kill(d.pid, 'SIGHUP');
    let st;
    for (const deadline = Date.now() + 10000; Date.now() < deadline; await sleep(100)) {
      st = await logStatus(d, fl.logUrl('hb'));
      if (st && st.state === 'failing') break;
    }
    assert.strictEqual(st && st.state, 'failing');
    assert.match(st.last_error, /signature/);
    assert.strictEqual(col.count(fl.logUrl('hb')), 0);

    // The right key: the log starts again and streams everything.
    fs.writeFileSync(confFile, `${conf}custom_logs:\n  - name: "extra hb"\n` +
      `    url: ${JSON.stringify(hb.url)}\n    key: ${JSON.stringify(hb.key)}\n`);
    process.kill(d.pid, 'SIGHUP');
    await c.waitFor(() => col.count(fl.logUrl('hb')) === 200, 15000, 'custom log streamed after SIGHUP')
      .catch((e) => { e.message += `\n${d.logs().slice(-2000)}`; throw e; });
    assertExactlyOnce(col.byLog.get(fl.logUrl('hb')), 200, 'hb');
    st = await logStatus(d, fl.logUrl('hb'));
    assert.strictEqual(st.name, 'extra hb');
    assert.strictEqual(st.state, 'ok');

    // Only retired logs now: the usable 'ha' stops, the custom log stays.
    fs.writeFileSync(confFile, `${conf.replace('ct_log:\n', 'ct_log:\n  states: [retired]\n')}` +
      `custom_logs:\n  - name: "extra hb"\n    url: ${JSON.stringify(hb.url)}\n    key: ${JSON.stringify(hb.key)}\n`);
    process.kill(d.pid, 'SIGHUP');
    for (const deadline = Date.now() + 10000; Date.now() < deadline; await sleep(100)) {
      st = await logStatus(d, fl.logUrl('ha'));
      if (!st) break;
    }
    assert.strictEqual(st, undefined, 'ha no longer watched');
    assert.ok(await logStatus(d, fl.logUrl('hb')), 'hb still watched');
    col.close();
  });

test('an unreachable log list URL falls back to the shipped copy', { timeout: 30000 }, async (t) => {
  const dir = testDir(t, 'ct-ingest-');
  // Port 1 on loopback refuses; the state filter matches no shipped log, so
  // nothing is polled and no name is ever resolved.
  const conf = baseConf('http://127.0.0.1:1/log_list.json', path.join(dir, 'state.json'))
    .replace('ct_log:\n', 'ct_log:\n  states: [no-such-state]\n');
  const d = await startDaemon({ conf, t });
  await c.waitFor(() => /using the shipped copy \S*ingest\/data\/log_list\.json/.test(d.logs()), 10000,
    'fallback to the shipped list').catch((e) => { e.message += `\n${d.logs()}`; throw e; });
  await sleep(300);
  assert.doesNotMatch(d.logs(), /only configured logs are watched/, 'the shipped copy parsed');
  const h = await getJson(d.url('/health/deep'));
  assert.deepStrictEqual(h.logs, []);
  assert.strictEqual(h.ingest.alive, true);
});

test('429 with Retry-After: the log waits that long, then streams everything', { timeout: 30000 }, async (t) => {
  const fl = await startFakelog(['--rfc6962', 'ra', '--initial-size', '100', '--grow-per-sec', '0',
    '--fault', 'ra:429:1:3'], t);
  const { d, col } = await watchFakelog(fl, t);
  let s;
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(50)) {
    s = await fl.state('ra');
    if (s.faults_fired > 0) break;
  }
  const firedAt = Date.now();
  assert.strictEqual(s.faults_fired, 1, 'the 429 was served');
  await sleep(2300);
  s = await fl.state('ra');
  assert.strictEqual(s.requests, 1, 'no request during Retry-After: 3');
  await c.waitFor(() => col.count(fl.logUrl('ra')) === 100, 10000, 'entries after the wait');
  assert.ok(Date.now() - firedAt >= 2900, 'streamed only after Retry-After');
  assertExactlyOnce(col.byLog.get(fl.logUrl('ra')), 100, 'ra');
  const st = await logStatus(d, fl.logUrl('ra'));
  assert.match(st.last_error, /429/);
  col.close();
});

// Operators rate-limit a client across all their logs: a 429 on one log
// pauses every log of its operator (here oa and ob, of "Fakelog") for the
// Retry-After, while a log of another operator (oc, moved to "Other")
// goes on streaming. Afterwards every entry arrives exactly once.
test('429 on one log pauses every log of its operator, not the logs of others', { timeout: 40000 }, async (t) => {
  const fl = await startFakelog(['--rfc6962', 'oa', '--rfc6962', 'ob', '--rfc6962', 'oc',
    '--initial-size', '100', '--grow-per-sec', '0'], t);
  const moveOc = (text) => {
    const list = JSON.parse(text);
    const op = list.operators[0];
    const oc = op.logs.filter((l) => l.url === fl.logUrl('oc'));
    assert.strictEqual(oc.length, 1, 'oc is in the fake log\'s list');
    op.logs = op.logs.filter((l) => l.url !== fl.logUrl('oc'));
    list.operators.push({ name: 'Other', email: ['other@example.test'], logs: oc, tiled_logs: [] });
    return JSON.stringify(list);
  };
  const { d, col } = await watchFakelog(fl, t, { editList: moveOc });
  const names = ['oa', 'ob', 'oc'];
  for (const n of names) await c.waitFor(() => col.count(fl.logUrl(n)) === 100, 15000, `${n}: first 100`);

  // oa's next get-sth is a 429 with Retry-After: 4; then every log grows.
  await fl.fault('oa', '429', 1, '&on=sth&param=4');
  let s;
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(20)) {
    s = await fl.state('oa');
    if (s.faults_fired > 0) break;
  }
  assert.strictEqual(s.faults_fired, 1, 'the 429 was served');
  const r429 = (await fl.requests('oa')).filter((r) => r.status === 429);
  assert.strictEqual(r429.length, 1);
  const firedAt = r429[0].ms;
  for (const n of names) await fl.grow(n, 100);

  // The other operator's log streams its new entries during the pause.
  await c.waitFor(() => col.count(fl.logUrl('oc')) === 200, 3000, 'oc streams during the pause');
  assert.ok(Date.now() < firedAt + 3500, 'oc streamed well within the pause');
  await c.waitFor(() => Date.now() >= firedAt + 3700, 5000, 'the pause nearly over');

  // Neither log of the first operator asked anything meanwhile (a request
  // already on its way when the 429 came may land just after it).
  for (const n of ['oa', 'ob']) {
    const during = (await fl.requests(n)).filter((r) => r.ms > firedAt + 150 && r.ms < firedAt + 3700);
    assert.deepStrictEqual(during.map((r) => r.path), [], `${n}: no request during the operator's pause`);
    assert.strictEqual(col.count(fl.logUrl(n)), 100, `${n}: nothing new during the pause`);
  }
  const oc = (await fl.requests('oc')).filter((r) => r.ms > firedAt + 150 && r.ms < firedAt + 3700);
  assert.ok(oc.length >= 5, `oc: ${oc.length} requests during the pause`);

  // Then both resume, and everything streams exactly once.
  for (const n of names) await c.waitFor(() => col.count(fl.logUrl(n)) === 200, 15000, `${n}: all 200`);
  await sleep(500);
  for (const n of names) assertExactlyOnce(col.byLog.get(fl.logUrl(n)), 200, n);
  assert.match((await logStatus(d, fl.logUrl('oa'))).last_error, /429/);
  col.close();
});

test('a grown tree is streamed only once proven to extend the last one (get-sth-consistency)',
  { timeout: 30000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'cp', '--initial-size', '100', '--grow-per-sec', '0'], t);
    const { d, col } = await watchFakelog(fl, t);
    const u = fl.logUrl('cp');
    await c.waitFor(() => col.count(u) === 100, 10000, 'first tree streamed');

    // Proofs fail (500) while the tree grows: nothing past 100 is streamed.
    await fl.fault('cp', '500', 1000000, '&on=other');
    await fl.grow('cp', 50);
    await sleep(1500);
    assert.strictEqual(col.count(u), 100, 'no entry of an unproven tree');
    const st = await logStatus(d, u);
    assert.strictEqual(st.tree_size, 100);
    assert.match(st.last_error, /get-sth-consistency: HTTP 500/);

    // Proofs served again: the grown tree is proven and streamed.
    await request('DELETE', fl.url('/control/cp/fault'));
    await c.waitFor(() => col.count(u) === 150, 15000, 'grown tree streamed once proven');
    assertExactlyOnce(col.byLog.get(u), 150, 'cp');
    col.close();
  });

test('a static log streams a data tile only once its hash tiles prove it is in the checkpoint tree',
  { timeout: 30000 }, async (t) => {
    const fl = await startFakelog(['--static', 'hs', '--initial-size', '300', '--grow-per-sec', '0'], t);
    const { d, col } = await watchFakelog(fl, t);
    const u = fl.logUrl('hs');
    await c.waitFor(() => col.count(u) === 300, 10000, 'first tree streamed');

    // Hash tiles fail (500) while the tree grows: nothing new is streamed.
    await fl.fault('hs', '500', 1000000, '&on=tiles');
    await fl.grow('hs', 100);
    await sleep(1500);
    assert.strictEqual(col.count(u), 300, 'no entry of an unproven data tile');
    const st = await logStatus(d, u);
    // The grown checkpoint is not taken until its tiles prove it extends
    // the streamed tree (its signed size shows, as the lag behind it).
    assert.strictEqual(st.verified_size, 300);
    assert.strictEqual(st.tree_size, 400);
    assert.match(st.last_error, /hash tile .*HTTP 500/);

    await request('DELETE', fl.url('/control/hs/fault'));
    await c.waitFor(() => col.count(u) === 400, 15000, 'streamed once proven');
    assertExactlyOnce(col.byLog.get(u), 400, 'hs');
    col.close();
  });
