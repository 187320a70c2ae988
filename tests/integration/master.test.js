'use strict';
// The master process: titles, supervision (a killed worker or ingest is
// replaced and streaming goes on), the pidfile lock, and a graceful stop
// with 1,000 WebSocket clients.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const WebSocket = require('../node/node_modules/ws');
const { startDaemon, runBin, childrenOf, freePort, sleep } = require('./lib/daemon');
const { writeFeed } = require('./lib/mkfeed');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certstream-master-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

// A feed of its own: N records (real certificates, lib/mkfeed.js) whose
// cert_index counts 0..N-1, so a client can tell a gap from the loop seam.
// At the highest rate here (200/s) a loop takes 10 s, longer than any
// window a test watches, so no gap can be a whole loop; each daemon start
// renders the feed, so it is no longer than that.
const N = 2000;
const feedFile = path.join(dir, 'feed.ndjson');
writeFeed(feedFile, { count: N, url: 'https://log.example/', name: 'master test' });

function conf(rate) {
  return `source: replay\nreplay:\n  file: ${JSON.stringify(feedFile)}\n  rate: ${rate}\n  loop: true\n`;
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch (_) {
    return null;
  }
}

// { title: pid } of the daemon's children.
function titles(masterPid) {
  const out = {};
  for (const pid of childrenOf(masterPid)) {
    const t = cmdline(pid);
    if (t) out[t] = pid;
  }
  return out;
}

async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(20);
  }
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (b) => { body += b; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

// The value of an unlabelled Prometheus metric.
async function metric(d, name) {
  const { body } = await get(d.url('/metrics'));
  const m = body.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

// A WebSocket client that records cert_index of each certificate_update.
function client(url) {
  const c = { idx: [], closeCode: null, error: null, ws: new WebSocket(url, { perMessageDeflate: false }) };
  c.opened = new Promise((resolve, reject) => {
    c.ws.once('open', resolve);
    c.ws.once('error', reject);
  });
  c.closed = new Promise((resolve) => {
    c.ws.on('close', (code) => { c.closeCode = code; resolve(code); });
  });
  c.ws.on('error', (e) => { c.error = e; });
  c.ws.on('message', (buf) => {
    const m = JSON.parse(buf.toString());
    if (m.message_type === 'certificate_update') c.idx.push(m.data.cert_index);
  });
  return c;
}

// Consecutive cert_index values (the loop seam N-1 -> 0 allowed).
function gaps(idx) {
  const out = [];
  for (let i = 1; i < idx.length; i++) {
    const want = (idx[i - 1] + 1) % N;
    if (idx[i] !== want) out.push(`${idx[i - 1]} -> ${idx[i]}`);
  }
  return out;
}

test('process titles name each role', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: conf(10) });
  assert.strictEqual(cmdline(d.pid), 'certstreamd: master');
  const ti = await waitFor(() => {
    const x = titles(d.pid);
    // every child has set its title (a child just forked still shows another)
    return x['certstreamd: ingest'] && x['certstreamd: worker 1'] && x['certstreamd: worker 2'] ? x : null;
  }, 5000, 'three children with their titles');
  assert.deepStrictEqual(Object.keys(ti).sort(),
    ['certstreamd: ingest', 'certstreamd: worker 1', 'certstreamd: worker 2']);
  assert.strictEqual(fs.readFileSync(`/proc/${ti['certstreamd: worker 2']}/comm`, 'utf8').trim(), 'cs-worker-2');
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('kill -9 of a worker: replaced within 2 s, new connections work, the other worker\'s clients see no gap', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: conf(200) });
  const before = await waitFor(() => {
    const x = titles(d.pid);
    // every child has set its title (a child just forked still shows another)
    return x['certstreamd: ingest'] && x['certstreamd: worker 1'] && x['certstreamd: worker 2'] ? x : null;
  }, 5000, 'three children with their titles');
  const victim = before['certstreamd: worker 1'];

  // Enough clients that SO_REUSEPORT puts some on each worker.
  const clients = Array.from({ length: 24 }, () => client(d.url('/', 'ws')));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  await Promise.all(clients.map((c) => c.opened));
  await waitFor(() => clients.every((c) => c.idx.length >= 20), 10000, 'every client streaming');

  const t0 = Date.now();
  process.kill(victim, 'SIGKILL');
  const replacement = await waitFor(() => {
    const p = titles(d.pid)['certstreamd: worker 1'];
    return p && p !== victim ? p : null;
  }, 2000, 'a new worker 1');
  const took = Date.now() - t0;
  assert.ok(took <= 2000, `replaced in ${took} ms`);
  t.diagnostic(`worker replaced in ${took} ms`);
  assert.notStrictEqual(replacement, victim);

  // Let the survivors stream on across the kill: 100 records each.
  const marks = clients.map((c) => c.idx.length);
  await waitFor(() => clients.every((c, i) => c.closeCode !== null || c.idx.length > marks[i] + 100), 5000,
    'the survivors streaming on');
  const survivors = clients.filter((c) => c.closeCode === null);
  const dropped = clients.filter((c) => c.closeCode !== null);
  assert.ok(survivors.length > 0, 'some clients were on worker 2');
  assert.ok(dropped.length > 0, 'some clients were on worker 1');
  for (const c of survivors) {
    assert.ok(c.idx.length > marks[clients.indexOf(c)] + 100, 'survivor kept streaming');
    assert.deepStrictEqual(gaps(c.idx), [], 'a survivor saw a gap');
  }

  // New connections succeed and stream, wherever the kernel puts them.
  const fresh = Array.from({ length: 16 }, () => client(d.url('/', 'ws')));
  t.after(() => fresh.forEach((c) => c.ws.terminate()));
  await Promise.all(fresh.map((c) => c.opened));
  await waitFor(() => fresh.every((c) => c.idx.length >= 5), 5000, 'new clients streaming');
  assert.match(d.logs(), new RegExp(`worker 1 \\(pid ${victim}\\) was killed by signal 9`));
  assert.strictEqual(await metric(d, 'certstream_worker_restarts_total'), 1);
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('connections made while a worker is dead wait in its kept listener and are served', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: conf(100) });
  const before = await waitFor(() => {
    const x = titles(d.pid);
    // every child has set its title (a child just forked still shows another)
    return x['certstreamd: ingest'] && x['certstreamd: worker 1'] && x['certstreamd: worker 2'] ? x : null;
  }, 5000, 'three children with their titles');
  // Hold the master still so nothing replaces the workers for a while.
  process.kill(d.pid, 'SIGSTOP');
  t.after(() => { try { process.kill(d.pid, 'SIGCONT'); } catch (_) { /* gone */ } });
  process.kill(before['certstreamd: worker 1'], 'SIGKILL');
  process.kill(before['certstreamd: worker 2'], 'SIGKILL');
  await waitFor(() => childrenOf(d.pid).length === 3 &&
    !titles(d.pid)['certstreamd: worker 1'] && !titles(d.pid)['certstreamd: worker 2'], 2000, 'workers dead');
  // No worker exists: only the master's listeners can hold these.
  const clients = Array.from({ length: 40 }, () => client(d.url('/', 'ws')));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  let opened = 0;
  clients.forEach((c) => c.opened.then(() => { opened++; }, () => {}));
  await sleep(700);
  assert.strictEqual(opened, 0, 'nobody can accept yet');
  assert.ok(clients.every((c) => c.error === null), 'no connection refused or reset');
  process.kill(d.pid, 'SIGCONT');
  await Promise.all(clients.map((c) => c.opened));
  await waitFor(() => clients.every((c) => c.idx.length >= 3), 5000, 'every queued client streaming');
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('a child that keeps failing is restarted with growing back-off', async (t) => {
  // The feed passes the start-up check, then disappears: every ingest
  // started after the first one fails to read it and exits 1.
  const feed = path.join(dir, 'vanishing.ndjson');
  fs.copyFileSync(path.join(__dirname, '..', 'data', 'sample-feed.ndjson'), feed);
  const d = await startDaemon({
    t,
    workers: 1,
    conf: `source: replay\nreplay:\n  file: ${JSON.stringify(feed)}\n`,
  });
  const first = await waitFor(() => titles(d.pid)['certstreamd: ingest'], 3000, 'ingest');
  fs.unlinkSync(feed);
  process.kill(first, 'SIGKILL');
  await sleep(2500);
  const delays = [...d.logs().matchAll(/ingest \(pid \d+\) (?:exited with code 1|was killed by signal 9 \([A-Za-z ]+\)) after [\d.]+ s; restarting (?:now|in (\d+) ms)/g)]
    .map((m) => Number(m[1] || 0));
  // 0, 250, 500, 1000 ms: four or five restarts in 2.5 s, not hundreds.
  assert.ok(delays.length >= 3 && delays.length <= 6, `restarts: ${delays}`);
  assert.deepStrictEqual(delays.slice(0, 4), [0, 250, 500, 1000].slice(0, Math.min(4, delays.length)));
  assert.strictEqual(cmdline(d.pid), 'certstreamd: master', 'the master carries on');
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('kill -9 of the ingest: replaced, streaming continues', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: conf(200) });
  const before = await waitFor(() => titles(d.pid)['certstreamd: ingest'], 3000, 'ingest');
  const c = client(d.url('/', 'ws'));
  t.after(() => c.ws.terminate());
  await c.opened;
  await waitFor(() => c.idx.length >= 20, 5000, 'streaming');
  process.kill(before, 'SIGKILL');
  const after = await waitFor(() => {
    const p = titles(d.pid)['certstreamd: ingest'];
    return p && p !== before ? p : null;
  }, 2000, 'a new ingest');
  assert.notStrictEqual(after, before);
  const mark = c.idx.length;
  await waitFor(() => c.idx.length >= mark + 100, 5000, 'records after the restart');
  assert.strictEqual(c.closeCode, null, 'the client stayed connected');
  assert.match(d.logs(), new RegExp(`ingest \\(pid ${before}\\) was killed by signal 9`));
  assert.strictEqual(await metric(d, 'certstream_ingest_restarts_total'), 1);
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('a second instance with the same pidfile refuses to start', async (t) => {
  const pidfile = path.join(dir, 'certstreamd.pid');
  const d = await startDaemon({ t, workers: 1, conf: conf(10), args: ['-p', pidfile] });
  assert.strictEqual(fs.readFileSync(pidfile, 'utf8').trim(), String(d.pid));
  const r = await runBin(['-c', d.confPath, '-p', pidfile], {
    env: { CERTSTREAM_PORT: String(d.port + 1 > 65535 ? d.port - 1 : d.port + 1), CERTSTREAM_HOST: '127.0.0.1' },
  });
  assert.strictEqual(r.code, 1);
  assert.match(r.stderr, new RegExp(`already running \\(pid ${d.pid}`));
  assert.strictEqual(fs.readFileSync(pidfile, 'utf8').trim(), String(d.pid), 'pidfile untouched');
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
  assert.ok(!fs.existsSync(pidfile), 'pidfile removed at exit');
});

test('a pidfile path that is a symbolic link is refused, its target untouched', async () => {
  const outside = path.join(dir, 'outside.txt');
  const pidfile = path.join(dir, 'link.pid');
  fs.writeFileSync(outside, 'precious\n');
  fs.symlinkSync(outside, pidfile);
  const confPath = path.join(dir, 'link.conf');
  fs.writeFileSync(confPath, conf(10));
  // the old code followed the link and ran: killed at the timeout
  const r = await runBin(['-c', confPath, '-p', pidfile], {
    env: { CERTSTREAM_HOST: '127.0.0.1', CERTSTREAM_PORT: String(await freePort()) },
    timeoutMs: 5000,
  });
  assert.strictEqual(fs.readFileSync(outside, 'utf8'), 'precious\n', 'the link was followed');
  assert.strictEqual(r.code, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /pidfile .*link\.pid.*symbolic link/);
  assert.ok(fs.lstatSync(pidfile).isSymbolicLink(), 'the link itself is left as it was');
  fs.unlinkSync(pidfile);
});

test('a second instance on the same port refuses to start (segment taken, port taken)', async (t) => {
  const d = await startDaemon({ t, workers: 1, conf: conf(10) });
  const r = await runBin(['-c', d.confPath], {
    env: { CERTSTREAM_PORT: String(d.port), CERTSTREAM_HOST: '127.0.0.1', CERTSTREAM_WORKERS: '1' },
  });
  assert.strictEqual(r.code, 1);
  assert.match(r.stderr, /shared memory \/certstream-\d+/);
  // With a segment name of its own it gets as far as the port, which
  // SO_REUSEPORT alone would have let it share.
  const r2 = await runBin(['-c', d.confPath], {
    env: { CERTSTREAM_PORT: String(d.port), CERTSTREAM_HOST: '127.0.0.1', CERTSTREAM_WORKERS: '1',
      CERTSTREAM_SHM_NAME: `/certstream-other-${d.port}` },
  });
  assert.strictEqual(r2.code, 1);
  assert.match(r2.stderr, new RegExp(`listen: bind 127\\.0\\.0\\.1:${d.port}: Address already in use`));
  assert.ok(!fs.existsSync(`/dev/shm/certstream-other-${d.port}`), 'its segment removed');
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('SIGHUP with a valid file reloads without dropping clients; a bad file is refused', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: conf(100) });
  const clients = Array.from({ length: 10 }, () => client(d.url('/', 'ws')));
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  await Promise.all(clients.map((c) => c.opened));
  const kids = childrenOf(d.pid).sort();
  fs.appendFileSync(d.confPath, 'log_level: debug\n');
  process.kill(d.pid, 'SIGHUP');
  await waitFor(() => /reload: configuration .* applied/.test(d.logs()), 3000, 'reload applied');
  fs.appendFileSync(d.confPath, 'no_such_key: 1\n');
  process.kill(d.pid, 'SIGHUP');
  await waitFor(() => /reload refused, running configuration kept: .*:\d+: no_such_key: unknown key/.test(d.logs()),
    3000, 'reload refused');
  const marks = clients.map((c) => c.idx.length);
  await waitFor(() => clients.every((c, i) => c.idx.length > marks[i] + 5), 5000, 'every client still streaming');
  clients.forEach((c) => assert.strictEqual(c.closeCode, null));
  assert.deepStrictEqual(childrenOf(d.pid).sort(), kids, 'no child restarted');
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('user: the master binds as root, ingest and workers run as the user', { skip: process.getuid() !== 0 && 'needs root' }, async (t) => {
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(feedFile, 0o644);
  const d = await startDaemon({ t, workers: 2, conf: conf(50) + 'user: nobody\n' });
  const uidOf = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)[1]);
  const nobody = Number((await runShell('id -u nobody')).trim());
  assert.strictEqual(uidOf(d.pid), 0, 'master keeps root');
  const kids = await waitFor(() => {
    const k = d.childPids();
    return k.length === 3 ? k : null;
  }, 3000, 'three children');
  for (const pid of kids) assert.strictEqual(uidOf(pid), nobody, `${cmdline(pid)} runs as nobody`);
  const c = client(d.url('/', 'ws'));
  t.after(() => c.ws.terminate());
  await c.opened;
  await waitFor(() => c.idx.length >= 5, 5000, 'streaming as nobody');
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('user: unset (auto) started as root: ingest and workers run as certstream, else nobody, and the log says which', { skip: process.getuid() !== 0 && 'needs root' }, async (t) => {
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(feedFile, 0o644);
  // No user: line and no CERTSTREAM_USER: the daemon's own default.
  const d = await startDaemon({ t, workers: 1, conf: conf(50), env: { CERTSTREAM_USER: undefined } });
  const uidOf = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)[1]);
  const hasCertstream = (await runShell('id -u certstream 2>/dev/null || true')).trim() !== '';
  const name = hasCertstream ? 'certstream' : 'nobody';
  const uid = Number((await runShell(`id -u ${name}`)).trim());
  assert.strictEqual(uidOf(d.pid), 0, 'master keeps root');
  const kids = await waitFor(() => {
    const k = d.childPids();
    return k.length === 2 ? k : null;
  }, 3000, 'two children');
  for (const pid of kids) assert.strictEqual(uidOf(pid), uid, `${cmdline(pid)} runs as ${name}`);
  await waitFor(() => d.logs().includes(`children run as ${name}`), 3000, 'the start line naming the user');
  if (!hasCertstream) assert.match(d.logs(), /user: auto: no user "certstream" on this system: the ingest and workers run as "nobody"/);
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('user: auto refuses to start when the dropped user cannot write the state file\'s directory, and says what to do', { skip: process.getuid() !== 0 && 'needs root' }, async (t) => {
  // The helper's state file lives in its mkdtemp directory (mode 0700,
  // root's): the children, dropped, could never save there.
  const list = path.join(__dirname, '..', '..', 'ingest', 'data', 'log_list.json');
  const d = await startDaemon({
    t, waitHealth: false, conf: `source: ct\nct_logs_url: ${JSON.stringify(list)}\nuser: auto\n`,
  });
  const info = await d.exited;
  assert.strictEqual(info.code, 1, d.logs());
  assert.match(d.logs(), /ct_log\.state_file: .*state\.json: its directory .* is not writable: Permission denied \(as user "(certstream|nobody)"/);
  assert.doesNotMatch(d.logs(), /workers on/, 'nothing was started');
});

test('user: root keeps the children as root (an explicit choice)', { skip: process.getuid() !== 0 && 'needs root' }, async (t) => {
  const d = await startDaemon({ t, workers: 1, conf: conf(50) + 'user: root\n' });
  const uidOf = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)[1]);
  const kids = await waitFor(() => {
    const k = d.childPids();
    return k.length === 2 ? k : null;
  }, 3000, 'two children');
  for (const pid of kids) assert.strictEqual(uidOf(pid), 0, `${cmdline(pid)} runs as root`);
  assert.match(d.logs(), /children run as the master's user/);
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('hot_reload: a changed file is reloaded without a signal; a bad one is refused', async (t) => {
  const d = await startDaemon({ t, workers: 1, conf: conf(20) + 'hot_reload:\n  enabled: true\n' });
  const c = client(d.url('/', 'ws'));
  t.after(() => c.ws.terminate());
  await c.opened;
  await sleep(1100); // the first look records the file as it is
  fs.appendFileSync(d.confPath, 'connection_limit:\n  per_ip_limit: 7\n');
  await waitFor(() => /hot reload: .* changed/.test(d.logs()) && /reload: configuration .* applied/.test(d.logs()),
    4000, 'hot reload applied');
  fs.appendFileSync(d.confPath, 'per_ip_limit: 8\n');
  await waitFor(() => /reload refused, running configuration kept: .*:\d+: per_ip_limit: unknown key/.test(d.logs()),
    4000, 'bad file refused');
  const mark = c.idx.length;
  await waitFor(() => c.idx.length > mark + 5, 3000, 'still streaming');
  assert.strictEqual(c.closeCode, null);
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

function runShell(cmd) {
  return new Promise((resolve, reject) => {
    require('node:child_process').exec(cmd, (e, out) => (e ? reject(e) : resolve(out)));
  });
}

test('host: an IPv6 address is listened on by every worker', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: conf(20), env: { CERTSTREAM_HOST: '::1' }, waitHealth: false });
  const url = `http://[::1]:${d.port}/health`;
  let status = 0;
  const end = Date.now() + 10000;
  while (Date.now() < end && status !== 200) {
    status = await get(url).then((r) => r.status, () => 0);
    if (status !== 200) await sleep(50);
  }
  assert.strictEqual(status, 200, d.logs());
  // Both workers' listeners are bound to [::1]:port.
  const ws = Array.from({ length: 8 }, () => client(`ws://[::1]:${d.port}/`));
  t.after(() => ws.forEach((c) => c.ws.terminate()));
  await Promise.all(ws.map((c) => c.opened));
  const lines = fs.readFileSync('/proc/net/tcp6', 'utf8').split('\n');
  const hexPort = d.port.toString(16).toUpperCase().padStart(4, '0');
  const listening = lines.filter((l) => l.includes(`00000000000000000000000001000000:${hexPort} `) && / 0A /.test(l));
  assert.strictEqual(listening.length, 2, 'one listener per worker');
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('-d reports a start-up failure: exit 1 with the reason, nothing left behind', async () => {
  const net = require('node:net');
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  const pidfile = path.join(dir, 'd-fail.pid');
  const confFile = path.join(dir, 'd-fail.conf');
  fs.writeFileSync(confFile, conf(10));
  try {
    const r = await runBin(['-d', '-c', confFile, '-p', pidfile], {
      env: { CERTSTREAM_PORT: String(port), CERTSTREAM_HOST: '127.0.0.1', CERTSTREAM_WORKERS: '1' },
    });
    assert.strictEqual(r.code, 1);
    assert.match(r.stderr, new RegExp(`listen: bind 127\\.0\\.0\\.1:${port}: Address already in use`));
    assert.ok(!fs.existsSync(pidfile), 'no pidfile left');
    assert.ok(!fs.existsSync(`/dev/shm/certstream-${port}`), 'no segment left');
  } finally {
    srv.close();
  }
});

test('workers: auto starts one worker per core; SIGINT stops like SIGTERM', async (t) => {
  const d = await startDaemon({ t, conf: conf(10), env: { CERTSTREAM_WORKERS: 'auto' } });
  const ncpu = Math.min(os.availableParallelism(), 64); // the cores this process may use
  const ti = await waitFor(() => {
    const x = titles(d.pid);
    // every child has set its title (a child just forked still shows another)
    const all = x['certstreamd: ingest'] && x[`certstreamd: worker ${ncpu}`];
    return all && Object.keys(x).length === ncpu + 1 ? x : null;
  }, 5000, `${ncpu} workers and the ingest`);
  assert.ok(ti[`certstreamd: worker ${ncpu}`]);
  const info = await d.stop('SIGINT');
  assert.strictEqual(info.code, 0);
  assert.ok(!fs.existsSync(`/dev/shm/certstream-${d.port}`));
  for (const pid of Object.values(ti)) assert.strictEqual(cmdline(pid), null, 'children gone');
});

test('SIGTERM with 1,000 WebSocket clients: every one gets 1001, exit 0 within 5 s, segment removed', async (t) => {
  // 10 records/s: 1,000 clients of this one test process parse ~12 MB/s of
  // real certificates' JSON already (more would measure the test process).
  const d = await startDaemon({ t, workers: 2, conf: conf(10) });
  const shm = `/dev/shm/certstream-${d.port}`;
  assert.ok(fs.existsSync(shm), 'segment exists while running');
  const clients = [];
  t.after(() => clients.forEach((c) => c.ws.terminate()));
  for (let b = 0; b < 10; b++) {
    const batch = Array.from({ length: 100 }, () => client(d.url('/', 'ws')));
    clients.push(...batch);
    await Promise.all(batch.map((c) => c.opened));
  }
  await waitFor(() => clients.every((c) => c.idx.length > 0), 10000, 'every client got a record');
  const t0 = Date.now();
  const info = await d.stop('SIGTERM');
  const ms = Date.now() - t0;
  assert.strictEqual(info.code, 0, d.logs());
  assert.ok(ms < 5000, `exit took ${ms} ms`);
  t.diagnostic(`1,000 clients: stopped in ${ms} ms`);
  await Promise.race([Promise.all(clients.map((c) => c.closed)), sleep(2000)]);
  const codes = {};
  for (const c of clients) codes[c.closeCode] = (codes[c.closeCode] || 0) + 1;
  assert.deepStrictEqual(codes, { 1001: 1000 });
  assert.ok(!fs.existsSync(shm), 'segment removed');
});
