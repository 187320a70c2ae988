'use strict';
// Which logs are watched: excluded_logs and excluded_operators (from the
// file, the environment and a SIGHUP), and logs known by their log id
// across refreshes of the log list: a log that leaves the list stops with
// its resume point kept and resumes there when it comes back; a log whose
// URL changes (same log id) goes on from where it was.

const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { startDaemon, testDir } = require('./lib/daemon');
const c = require('./lib/clients');
const { request, getJson, startFakelog } = require('./lib/fakelog');
const { EMPTY_LIST, ctConf, writeList, openCollector, assertRange } = require('./lib/ctwatch');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ct_logchoice's configuration: batches and concurrency at the daemon's defaults.
function baseConf(listFile, stateFile) {
  return ctConf(listFile, stateFile, { ctLog: { batch_size: null, fetch_concurrency: null } });
}

async function until(pred, ms, what) {
  for (const end = Date.now() + ms; !(await pred()); await sleep(100)) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
  }
}

async function watched(d) {
  const h = await getJson(d.url('/health/deep'));
  return new Map((h.logs || []).map((l) => [l.url, l]));
}


// The fake log's list, its logs split between operators: {op: [names]}.
async function listOf(fl, ops) {
  const full = JSON.parse((await request('GET', fl.url('/loglist.json'))).body);
  const op0 = full.operators[0];
  const pick = (arr, names) => (arr || []).filter((l) =>
    names.some((n) => (l.url || l.monitoring_url) === fl.logUrl(n)));
  return {
    ...full,
    operators: Object.entries(ops).map(([name, names]) => ({
      ...op0, name, logs: pick(op0.logs, names), tiled_logs: pick(op0.tiled_logs, names),
    })),
  };
}

// A daemon whose client is connected before any log is listed.
async function start(t, { extraConf = '', env = {} } = {}) {
  const dir = testDir(t, 'ct-choice-');
  const listFile = path.join(dir, 'loglist.json');
  const stateFile = path.join(dir, 'state.json');
  const confFile = path.join(dir, 'certstream.conf');
  const conf = baseConf(listFile, stateFile);
  writeList(listFile, EMPTY_LIST);
  fs.writeFileSync(confFile, conf + extraConf);
  // the helper names a state file of its own unless told
  const d = await startDaemon({ conf: confFile, t, env: { CERTSTREAM_CT_LOG_STATE_FILE: stateFile, ...env } });
  const col = openCollector(d);
  await c.waitFor(() => col.ws.readyState === 1, 5000, 'client open');
  return { d, col, listFile, stateFile, confFile, conf };
}

test('excluded_logs (a URL, from the environment) and excluded_operators (any case): those logs are never read',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'ea', '--rfc6962', 'eb', '--rfc6962', 'ec',
      '--static', 'es', '--initial-size', '300', '--grow-per-sec', '0'], t);
    const { d, col, listFile } = await start(t, {
      extraConf: 'excluded_operators: ["other OPERATOR"]\n',
      // no trailing '/': still the same URL
      env: { CERTSTREAM_EXCLUDED_LOGS: `Nothing Matches This,${fl.logUrl('eb').replace(/\/$/, '')}` },
    });
    writeList(listFile, await listOf(fl, { 'Fake Logs': ['ea', 'eb', 'es'], 'Other Operator': ['ec'] }));
    await c.waitFor(() => col.count(fl.logUrl('ea')) === 300 && col.count(fl.logUrl('es')) === 300,
      20000, 'the logs not excluded streamed').catch((e) => { e.message += `\n${d.logs().slice(-2000)}`; throw e; });
    await sleep(1500);  // a refresh or two of the list
    const w = await watched(d);
    assert.ok(w.has(fl.logUrl('ea')) && w.has(fl.logUrl('es')));
    assert.ok(!w.has(fl.logUrl('eb')), 'eb (excluded by URL) not watched');
    assert.ok(!w.has(fl.logUrl('ec')), 'ec (excluded operator) not watched');
    assert.strictEqual(col.count(fl.logUrl('eb')), 0);
    assert.strictEqual(col.count(fl.logUrl('ec')), 0);
    for (const n of ['eb', 'ec']) {
      const r = (await fl.requests(n)).filter((q) => !q.path.startsWith('/control/'));
      assert.strictEqual(r.length, 0, `${n} never asked: ${JSON.stringify(r.slice(0, 3))}`);
    }
    col.ws.terminate();
  });

test('a log dropped from the refreshed list stops, its resume point kept in the state file; listed again it resumes: nothing skipped or repeated',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'da', '--rfc6962', 'db', '--initial-size', '300',
      '--grow-per-sec', '0'], t);
    const { d, col, listFile, stateFile } = await start(t);
    const both = await listOf(fl, { 'Fake Logs': ['da', 'db'] });
    const onlyA = await listOf(fl, { 'Fake Logs': ['da'] });
    const db = fl.logUrl('db');
    writeList(listFile, both);
    await c.waitFor(() => col.count(db) === 300 && col.count(fl.logUrl('da')) === 300, 20000, 'both read');

    writeList(listFile, onlyA);
    await until(async () => !(await watched(d)).has(db), 10000, 'db no longer in /health/deep');
    await fl.grow('db', 200);
    await sleep(2500);  // refreshes and state saves
    assert.strictEqual(col.count(db), 300, 'nothing read from db while unlisted');
    const st = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    assert.strictEqual(st[db] && st[db].next, 300, `db's resume point kept: ${JSON.stringify(st[db])}`);
    assert.strictEqual(st[db].log_id, fl.logs.db.logId);

    writeList(listFile, both);
    await c.waitFor(() => col.count(db) >= 500, 20000, 'db read again')
      .catch((e) => { e.message += `\n${d.logs().slice(-2000)}`; throw e; });
    await sleep(500);
    assertRange(col.seq(db), 0, 500, 'db');
    assert.match(d.logs(), /log http:\/\/127\.0\.0\.1:\d+\/db\/: resuming at entry 300 \(state file\)/);
    col.ws.terminate();
  });

test('a log whose URL changes but not its log id goes on from where it was, at the new URL',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'ma', '--initial-size', '300', '--grow-per-sec', '0'], t);
    const { d, col, listFile } = await start(t);
    const list = await listOf(fl, { 'Fake Logs': ['ma'] });
    const oldUrl = fl.logUrl('ma');
    const newUrl = oldUrl.replace('127.0.0.1', 'localhost');
    writeList(listFile, list);
    await c.waitFor(() => col.count(oldUrl) === 300, 20000, 'ma read');

    list.operators[0].logs[0].url = newUrl;
    writeList(listFile, list);
    await until(async () => (await watched(d)).has(newUrl), 10000, 'ma watched at its new URL');
    await fl.grow('ma', 200);
    await c.waitFor(() => col.count(newUrl) >= 200, 20000, 'ma read at its new URL')
      .catch((e) => { e.message += `\n${d.logs().slice(-2000)}`; throw e; });
    await sleep(500);
    assertRange(col.seq(oldUrl), 0, 300, 'ma at its old URL');
    assertRange(col.seq(newUrl), 300, 500, 'ma at its new URL');
    assert.ok(!(await watched(d)).has(oldUrl));
    assert.ok(d.logs().includes(`log ${newUrl}: log id ${fl.logs.ma.logId}, was at ${oldUrl}`));
    col.ws.terminate();
  });

test('SIGHUP: a log excluded by its log id stops; the exclusion lifted, it resumes where it stopped',
  { timeout: 60000 }, async (t) => {
    const fl = await startFakelog(['--rfc6962', 'ha', '--rfc6962', 'hb', '--initial-size', '200',
      '--grow-per-sec', '0'], t);
    const { d, col, listFile, confFile, conf } = await start(t);
    const hb = fl.logUrl('hb');
    writeList(listFile, await listOf(fl, { 'Fake Logs': ['ha', 'hb'] }));
    await c.waitFor(() => col.count(hb) === 200 && col.count(fl.logUrl('ha')) === 200, 20000, 'both read');

    fs.writeFileSync(confFile, `${conf}excluded_logs: [${JSON.stringify(fl.logs.hb.logId)}]\n`);
    process.kill(d.pid, 'SIGHUP');
    await until(async () => !(await watched(d)).has(hb), 10000, 'hb stopped');
    assert.match(d.logs(), /log http:\/\/127\.0\.0\.1:\d+\/hb\/: no longer listed, or excluded; stopped/);
    await fl.grow('hb', 100);
    await fl.grow('ha', 100);
    await c.waitFor(() => col.count(fl.logUrl('ha')) === 300, 20000, 'ha goes on');
    await sleep(1500);
    assert.strictEqual(col.count(hb), 200, 'nothing read from hb while excluded');

    fs.writeFileSync(confFile, conf);
    process.kill(d.pid, 'SIGHUP');
    await c.waitFor(() => col.count(hb) >= 300, 20000, 'hb read again')
      .catch((e) => { e.message += `\n${d.logs().slice(-2000)}`; throw e; });
    await sleep(500);
    assertRange(col.seq(hb), 0, 300, 'hb');
    col.ws.terminate();
  });
