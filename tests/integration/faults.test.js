'use strict';
// Fault tests (issue 7): kill -9 of each role under load, again and again;
// the ingest killed at a high publish rate; the master killed with -9 (its
// children go, its segment is replaced at the next start). Clients never
// receive a torn, duplicated or reordered record, and a client whose
// worker died resumes over SSE without losing one.
//
// The feed is our own (real certificates, lib/mkfeed.js): record i has
// cert_index i and domain m<i>.example,
// so every message says which record it is and whether its bytes belong
// together; the replay loops, so the index after N-1 is 0.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('../node/node_modules/ws');
const { startDaemon, childrenOf, sleep } = require('./lib/daemon');
const { writeFeed } = require('./lib/mkfeed');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certstream-faults-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const N = 5000;
const feedFile = path.join(dir, 'feed.ndjson');
const feedRecs = writeFeed(feedFile, { count: N, url: 'https://log.example/', name: 'faults test' });

function conf(rate, extra = '') {
  return `source: replay\nreplay:\n  file: ${JSON.stringify(feedFile)}\n  rate: ${rate}\n  loop: true\n${extra}`;
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

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (b) => { body += b; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

async function metric(d, name) {
  const { body } = await get(d.url('/metrics'));
  const m = body.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

// Which worker process holds the server end of each client connection:
// the socket inodes in /proc/<pid>/fd, matched with /proc/net/tcp{,6}
// entries whose local port is the daemon's. Returns Map(client port -> pid).
function connOwners(port, pids) {
  const inodeToPeer = new Map();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = fs.readFileSync(f, 'utf8'); } catch (_) { continue; }
    for (const line of text.split('\n').slice(1)) {
      const col = line.trim().split(/\s+/);
      if (col.length < 10) continue;
      const lport = parseInt(col[1].split(':')[1], 16);
      const rport = parseInt(col[2].split(':')[1], 16);
      if (lport === port && rport !== 0) inodeToPeer.set(col[9], rport);
    }
  }
  const out = new Map();
  for (const pid of pids) {
    let fds = [];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch (_) { continue; }
    for (const fd of fds) {
      let link = '';
      try { link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch (_) { continue; }
      const m = link.match(/^socket:\[(\d+)\]$/);
      if (m && inodeToPeer.has(m[1])) out.set(inodeToPeer.get(m[1]), pid);
    }
  }
  return out;
}

// A message is a whole certificate_update of our feed: the right keys,
// and a domain that matches its index (bytes of two records mixed would
// not). Returns a reason, or null.
function badShape(m, form) {
  if (m === null || typeof m !== 'object') return 'not an object';
  if (m.message_type !== 'certificate_update') return `message_type ${m.message_type}`;
  const dt = m.data;
  if (!dt || typeof dt !== 'object') return 'no data';
  if (!Number.isInteger(dt.cert_index) || dt.cert_index < 0 || dt.cert_index >= N) return `cert_index ${dt.cert_index}`;
  if (!dt.leaf_cert || !Array.isArray(dt.leaf_cert.all_domains)) return 'no leaf_cert.all_domains';
  if (dt.leaf_cert.all_domains[0] !== `m${dt.cert_index}.example`) return `domain ${dt.leaf_cert.all_domains[0]} for index ${dt.cert_index}`;
  if (dt.cert_link !== `https://log.example/ct/v1/get-entries?start=${dt.cert_index}&end=${dt.cert_index}`) return 'cert_link';
  if (!dt.source || dt.source.url !== 'https://log.example/') return 'source';
  if (typeof dt.seen !== 'number') return 'seen';
  if (form === 'lite' && ('as_der' in dt.leaf_cert || 'chain' in dt)) return 'lite carries as_der or chain';
  if (form === 'full' && (!dt.leaf_cert.as_der || dt.leaf_cert.as_der !== feedRecs[dt.cert_index].data.leaf_cert.as_der ||
    !Array.isArray(dt.chain))) return 'full lacks its as_der or chain';
  return null;
}

// Consecutive cert_index values (the loop seam N-1 -> 0 allowed).
function indexGaps(idx) {
  const out = [];
  for (let i = 1; i < idx.length; i++) {
    if (idx[i] !== (idx[i - 1] + 1) % N) out.push(`${idx[i - 1]} -> ${idx[i]}`);
  }
  return out;
}

// A WebSocket client that never throws in its handlers: what it got, and
// every frame that was not a well-formed record.
function wsClient(url, form) {
  const c = { kind: 'ws', form, idx: [], bad: [], closeCode: null, port: 0, ws: new WebSocket(url, { perMessageDeflate: false }) };
  c.opened = new Promise((resolve, reject) => {
    c.ws.once('open', () => { c.port = c.ws._socket.localPort; resolve(); });
    c.ws.once('error', reject);
  });
  c.opened.catch(() => {});
  c.closed = new Promise((resolve) => {
    c.ws.on('close', (code) => { c.closeCode = code; resolve(code); });
  });
  c.ws.on('error', () => {});
  c.ws.on('message', (buf, binary) => {
    let m;
    try { m = JSON.parse(buf.toString('utf8')); } catch (e) {
      c.bad.push(`unparsable frame (${buf.length} bytes): ${e.message}`);
      return;
    }
    if (binary) c.bad.push('binary frame');
    if (m && m.message_type === 'heartbeat') return;
    const why = badShape(m, form);
    if (why) c.bad.push(why);
    else c.idx.push(m.data.cert_index);
  });
  c.close = () => c.ws.terminate();
  return c;
}

// One SSE connection, parsed by hand: events with ids; an event cut off
// by the connection's end is not an event (no blank line ended it).
function sseConn(url, lastId) {
  const c = { ids: [], idx: [], bad: [], comments: [], status: 0, ended: false, port: 0, req: null };
  let buf = '';
  let ev = { id: null, data: [] };
  const headers = { Accept: 'text/event-stream' };
  if (lastId !== undefined) headers['Last-Event-ID'] = String(lastId);
  c.done = new Promise((resolveDone) => {
    const finish = () => { c.ended = true; resolveDone(); };
    c.ready = new Promise((resolve, reject) => {
      c.req = http.get(url, { headers }, (res) => {
        c.status = res.statusCode;
        resolve();
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          buf += chunk;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line === '') {
              if (ev.data.length) onEvent(ev);
              ev = { id: null, data: [] };
            } else if (line.startsWith(':')) {
              c.comments.push(line.slice(1).trim());
            } else if (line.startsWith('id: ')) {
              ev.id = line.slice(4);
            } else if (line.startsWith('data: ')) {
              ev.data.push(line.slice(6));
            } else {
              c.bad.push(`unexpected line ${JSON.stringify(line.slice(0, 80))}`);
            }
          }
        });
        res.on('end', finish);
        res.on('error', finish);
        res.on('close', finish);
      });
      c.req.on('socket', (s) => s.on('connect', () => { c.port = s.localPort; }));
      c.req.on('error', (e) => { reject(e); finish(); });
    });
    c.ready.catch(() => {});
  });
  function onEvent(e) {
    if (!/^\d+$/.test(e.id || '')) {
      c.bad.push(`event id ${e.id}`);
      return;
    }
    let m;
    try { m = JSON.parse(e.data.join('\n')); } catch (err) {
      c.bad.push(`unparsable event ${e.id}: ${err.message}`);
      return;
    }
    const why = badShape(m, 'lite');
    if (why) {
      c.bad.push(`event ${e.id}: ${why}`);
      return;
    }
    c.ids.push(BigInt(e.id));
    c.idx.push(m.data.cert_index);
  }
  c.close = () => { if (c.req) c.req.destroy(); };
  return c;
}

// An SSE client that reconnects with Last-Event-ID whenever the server
// ends its connection: its sessions, and the ids across all of them.
function sseClient(url) {
  const s = { kind: 'sse', url, sessions: [], resumes: 0, stopped: false, port: 0 };
  const connect = (lastId) => {
    const c = sseConn(url, lastId);
    s.sessions.push({ conn: c, lastId });
    s.cur = c;
    c.ready.then(() => { s.port = c.port; }, () => {});
    c.done.then(() => {
      if (s.stopped) return;
      // Bounded: a daemon that stays away ends the test, not a loop.
      if (++s.resumes > 50) return;
      setTimeout(() => { if (!s.stopped) connect(s.lastId()); }, 20);
    });
    return c;
  };
  s.lastId = () => {
    for (let i = s.sessions.length - 1; i >= 0; i--) {
      const ids = s.sessions[i].conn.ids;
      if (ids.length) return ids[ids.length - 1];
    }
    return undefined;
  };
  s.ids = () => s.sessions.flatMap((x) => x.conn.ids);
  s.idx = () => s.sessions.flatMap((x) => x.conn.idx);
  s.bad = () => s.sessions.flatMap((x) => x.conn.bad);
  s.close = () => { s.stopped = true; s.cur.close(); };
  s.opened = connect(undefined).ready;
  return s;
}

function idGaps(ids) {
  const out = [];
  for (let i = 1; i < ids.length; i++) {
    if (ids[i] !== ids[i - 1] + 1n) out.push(`${ids[i - 1]} -> ${ids[i]}`);
  }
  return out;
}

test('kill -9 of a worker or the ingest, five rounds under WebSocket and SSE load: replaced every time, no torn, duplicated or reordered record, SSE resumes without loss', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: conf(300) });
  await waitFor(() => {
    const x = titles(d.pid);
    return x['certstreamd: ingest'] && x['certstreamd: worker 1'] && x['certstreamd: worker 2'];
  }, 3000, 'three children with their titles');

  const ws = [];
  for (let i = 0; i < 12; i++) ws.push(wsClient(d.url(i % 3 === 2 ? '/full-stream' : '/', 'ws'), i % 3 === 2 ? 'full' : 'lite'));
  const sse = Array.from({ length: 12 }, () => sseClient(d.url('/sse?stream=lite')));
  t.after(() => { ws.forEach((c) => c.close()); sse.forEach((s) => s.close()); });
  await Promise.all(ws.map((c) => c.opened).concat(sse.map((s) => s.opened)));
  await waitFor(() => ws.every((c) => c.idx.length >= 10) && sse.every((s) => s.ids().length >= 10),
    10000, 'every client streaming');

  // SO_REUSEPORT spreads connections at random: after reconnects every
  // WebSocket client may sit on one worker. Add clients until both have some,
  // so that each kill has survivors to watch.
  async function spreadWs(workers) {
    for (let k = 0; k < 40; k++) {
      const owners = connOwners(d.port, workers);
      const live = ws.filter((c) => c.closeCode === null);
      if (workers.every((pid) => live.some((c) => owners.get(c.port) === pid))) return;
      const c = wsClient(d.url('/', 'ws'), 'lite');
      ws.push(c);
      await c.opened;
      await waitFor(() => c.idx.length >= 5, 5000, 'an added client streaming');
    }
  }

  const plan = ['worker', 'ingest', 'worker', 'ingest', 'worker'];
  const kills = { worker: 0, ingest: 0 };
  const deadWs = [];
  let sseResumesWanted = 0;
  for (const [round, role] of plan.entries()) {
    const now = titles(d.pid);
    const workers = ['certstreamd: worker 1', 'certstreamd: worker 2'].map((tt) => now[tt]);
    assert.ok(workers.every(Boolean) && now['certstreamd: ingest'], `round ${round}: all children up: ${JSON.stringify(now)}`);
    if (role === 'worker') await spreadWs(workers);
    const owners = connOwners(d.port, workers);
    const live = ws.filter((c) => c.closeCode === null);
    let victim;
    let title;
    if (role === 'worker') {
      // A worker chosen at random among those serving both kinds.
      const both = workers.filter((pid) => live.some((c) => owners.get(c.port) === pid) &&
        sse.some((s) => owners.get(s.port) === pid));
      const pool = both.length ? both : workers;
      victim = pool[Math.floor(Math.random() * pool.length)];
      title = cmdline(victim);
    } else {
      victim = now['certstreamd: ingest'];
      title = 'certstreamd: ingest';
    }
    const onVictim = live.filter((c) => owners.get(c.port) === victim);
    const survivors = live.filter((c) => owners.get(c.port) !== undefined && owners.get(c.port) !== victim);
    const sseOnVictim = sse.filter((s) => owners.get(s.port) === victim);
    const marks = survivors.map((c) => c.idx.length);
    if (role === 'worker') {
      assert.ok(survivors.length > 0 && onVictim.length + sseOnVictim.length > 0,
        `round ${round}: clients on both workers (${onVictim.length} ws + ${sseOnVictim.length} sse on the victim, ${survivors.length} ws elsewhere)`);
      sseResumesWanted += sseOnVictim.length;
    }
    const resumesBefore = sseOnVictim.map((s) => s.resumes);

    process.kill(victim, 'SIGKILL');
    kills[role]++;
    const t0 = Date.now();
    const repl = await waitFor(() => {
      const p = titles(d.pid)[title];
      return p && p !== victim ? p : null;
    }, 3000, `round ${round}: a new ${title}`);
    t.diagnostic(`round ${round}: ${title} (pid ${victim}) replaced by ${repl} in ${Date.now() - t0} ms`);

    if (role === 'worker') {
      // Its WebSocket clients were dropped; new ones take their place.
      await waitFor(() => onVictim.every((c) => c.closeCode !== null), 3000, 'the victim\'s clients dropped');
      for (const c of onVictim) {
        deadWs.push(c);
        ws.splice(ws.indexOf(c), 1);
        ws.push(wsClient(d.url(c.form === 'full' ? '/full-stream' : '/', 'ws'), c.form));
      }
      // Its SSE clients came back and resumed.
      await waitFor(() => sseOnVictim.every((s, i) => s.resumes > resumesBefore[i]), 5000,
        'the victim\'s SSE clients reconnecting');
    }
    // The rest streamed on across the kill, without a break: a second
    // at least, and until each has 50 records more.
    await sleep(1000);
    await waitFor(() => survivors.every((c, i) => c.closeCode !== null || c.idx.length > marks[i] + 50), 5000,
      `round ${round}: the survivors streaming on`);
    survivors.forEach((c, i) => {
      assert.strictEqual(c.closeCode, null, `round ${round}: a client of another worker was closed`);
      assert.ok(c.idx.length > marks[i] + 50, `round ${round}: a survivor stalled (${c.idx.length - marks[i]} new)`);
    });
  }
  await waitFor(() => ws.every((c) => c.idx.length >= 20), 5000, 'the replacement clients streaming');

  // What every client received, dropped ones included.
  for (const c of ws.concat(deadWs)) {
    assert.deepStrictEqual(c.bad, [], `a ${c.form} WebSocket client received bad frames`);
    assert.deepStrictEqual(indexGaps(c.idx), [], `a ${c.form} WebSocket client saw records out of order`);
  }
  let resumed = 0;
  for (const s of sse) {
    assert.deepStrictEqual(s.bad(), [], 'an SSE client received bad events');
    // Across every reconnect: ring positions one after another (nothing
    // lost, nothing twice), and so are the records they hold.
    assert.deepStrictEqual(idGaps(s.ids()), [], 'SSE ids not consecutive across reconnects');
    assert.deepStrictEqual(indexGaps(s.idx()), [], 'SSE records not consecutive across reconnects');
    for (const ses of s.sessions.slice(1)) {
      if (ses.conn.ids.length === 0) continue;
      assert.strictEqual(ses.conn.ids[0], ses.lastId + 1n, 'a resumed stream did not start after Last-Event-ID');
      assert.ok(!ses.conn.comments.some((x) => /skip/i.test(x)), 'a resume skipped records');
      resumed++;
    }
  }
  assert.ok(sseResumesWanted > 0, 'no SSE client was on a killed worker');
  assert.ok(resumed >= sseResumesWanted, `${resumed} SSE resumes seen, ${sseResumesWanted} expected`);
  assert.strictEqual(await metric(d, 'certstream_worker_restarts_total'), kills.worker);
  assert.strictEqual(await metric(d, 'certstream_ingest_restarts_total'), kills.ingest);
  ws.forEach((c) => c.close());
  sse.forEach((s) => s.close());
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

test('kill -9 of the ingest five times at 10,000 records/s: ring positions stay contiguous, no record is published twice or lost, records after each restart are whole', async (t) => {
  const d = await startDaemon({ t, workers: 1, conf: conf(10000, 'buffer_size: 262144\n') });
  const s = sseConn(d.url('/sse?stream=lite'));
  const dom = { idx: [], bad: [], ws: new WebSocket(d.url('/domains-only', 'ws'), { perMessageDeflate: false }) };
  t.after(() => { s.close(); dom.ws.terminate(); });
  dom.ws.on('error', () => {});
  dom.ws.on('message', (buf) => {
    let m;
    try { m = JSON.parse(buf.toString('utf8')); } catch (e) {
      dom.bad.push(`unparsable frame: ${e.message}`);
      return;
    }
    if (m.message_type === 'heartbeat') return;
    if (m.message_type !== 'dns_entries' || !Number.isInteger(m.cert_index) || !Array.isArray(m.data) ||
      m.data[0] !== `m${m.cert_index}.example` || !m.source || m.source.url !== 'https://log.example/') {
      dom.bad.push(`bad dns_entries ${buf.toString('utf8').slice(0, 120)}`);
      return;
    }
    dom.idx.push(m.cert_index);
  });
  await Promise.all([s.ready, new Promise((r, j) => { dom.ws.once('open', r); dom.ws.once('error', j); })]);
  await waitFor(() => s.ids.length >= 1000 && dom.idx.length >= 1000, 10000, 'streaming');

  const KILLS = 5;
  for (let k = 0; k < KILLS; k++) {
    const victim = await waitFor(() => titles(d.pid)['certstreamd: ingest'], 15000, 'an ingest');
    process.kill(victim, 'SIGKILL');
    // The replacement comes after the master's growing back-off.
    const repl = await waitFor(() => {
      const p = titles(d.pid)['certstreamd: ingest'];
      return p && p !== victim ? p : null;
    }, 6000, `replacement ${k + 1}`);
    const mark = s.ids.length;
    await waitFor(() => s.ids.length >= mark + 1000, 10000, `records after restart ${k + 1} (pid ${repl})`);
    await sleep(Math.floor(Math.random() * 400));
  }
  const resumed = d.logs().match(/replay: resuming after record \d+ of the feed/g) || [];
  assert.strictEqual(resumed.length, KILLS, 'each replacement resumed after the ring\'s newest record');
  assert.strictEqual(await metric(d, 'certstream_ingest_restarts_total'), KILLS);

  // The ring is sound: the newest records are whole and in order.
  const latest = JSON.parse((await get(d.url('/latest.json'))).body).messages;
  assert.strictEqual(latest.length, 25);
  latest.forEach((m) => assert.strictEqual(badShape(m, 'lite'), null));
  assert.deepStrictEqual(indexGaps(latest.map((m) => m.data.cert_index).reverse()), []);

  await sleep(300);
  s.close();
  dom.ws.terminate();
  t.diagnostic(`${s.ids.length} SSE events, ${dom.idx.length} domains messages across ${KILLS} ingest kills`);
  assert.deepStrictEqual(s.bad, []);
  assert.deepStrictEqual(idGaps(s.ids), [], 'ring positions not contiguous');
  assert.deepStrictEqual(indexGaps(s.idx), [], 'a record published twice or lost');
  assert.ok(!s.comments.some((x) => /skip/i.test(x)), 'the SSE client was lapped');
  assert.deepStrictEqual(dom.bad, []);
  assert.deepStrictEqual(indexGaps(dom.idx), [], 'domains stream: a record published twice or lost');
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

// A process that is gone or a zombie (an orphan reaped late) is not running.
function running(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (_) {
    return false;
  }
}

// The segment's header (shm/layout.h): magic at byte 0, master_pid at
// byte 108 (shm_header_master_pid_at in check_ring.c). Reads only the header: the segment is hundreds of MiB, sparse.
function segHeaderOf(port) {
  const fd = fs.openSync(`/dev/shm/certstream-${port}`, 'r');
  try {
    const b = Buffer.alloc(192);
    fs.readSync(fd, b, 0, 192, 0);
    return { magic: b.readBigUInt64LE(0), masterPid: b.readUInt32LE(108) };
  } finally {
    fs.closeSync(fd);
  }
}

test('kill -9 of the master: its children stop within 5 s, and the segment it left is replaced by the next start on the same port, which streams, even when its pid now runs something else', async (t) => {
  const d = await startDaemon({ t, workers: 2, conf: conf(200) });
  const kids = await waitFor(() => {
    const x = titles(d.pid);
    return x['certstreamd: ingest'] && x['certstreamd: worker 1'] && x['certstreamd: worker 2'] ? x : null;
  }, 3000, 'three children with their titles');
  // Known to the helper, which kills them when the test ends: orphans
  // that outlive a failing test would hold its output pipes open.
  assert.strictEqual(d.childPids().length, 3);
  const shm = `/dev/shm/certstream-${d.port}`;
  assert.strictEqual(segHeaderOf(d.port).masterPid, d.pid);
  const ws = Array.from({ length: 8 }, () => wsClient(d.url('/', 'ws'), 'lite'));
  const sse = Array.from({ length: 4 }, () => sseConn(d.url('/sse?stream=lite')));
  t.after(() => { ws.forEach((c) => c.close()); sse.forEach((c) => c.close()); });
  await Promise.all(ws.map((c) => c.opened).concat(sse.map((c) => c.ready)));
  await waitFor(() => ws.every((c) => c.idx.length >= 10) && sse.every((c) => c.ids.length >= 10), 10000, 'streaming');

  process.kill(d.pid, 'SIGKILL');
  const t0 = Date.now();
  await d.exited;
  await waitFor(() => Object.values(kids).every((pid) => !running(pid)), 5000,
    `the orphaned children stopping (${Object.entries(kids).filter(([, p]) => running(p)).map(([k]) => k)})`);
  t.diagnostic(`children gone ${Date.now() - t0} ms after the master`);
  // Their clients were let go, not left hanging on a socket nobody serves.
  await waitFor(() => ws.every((c) => c.closeCode !== null) && sse.every((c) => c.ended), 3000, 'every client closed');
  for (const c of ws) {
    assert.deepStrictEqual(c.bad, []);
    assert.deepStrictEqual(indexGaps(c.idx), []);
  }
  for (const c of sse) {
    assert.deepStrictEqual(c.bad, []);
    assert.deepStrictEqual(idGaps(c.ids), []);
  }
  // What a dead master leaves: its segment, naming it.
  assert.ok(fs.existsSync(shm), 'the segment is left behind');
  assert.strictEqual(segHeaderOf(d.port).masterPid, d.pid);

  // The next start on the same port replaces it and streams.
  const d2 = await startDaemon({ t, workers: 2, conf: conf(200), port: d.port });
  assert.strictEqual(segHeaderOf(d2.port).masterPid, d2.pid, 'a new segment');
  assert.doesNotMatch(d2.logs(), /in use|refus/i);
  const c2 = wsClient(d2.url('/', 'ws'), 'lite');
  const s2 = sseConn(d2.url('/sse?stream=lite'));
  t.after(() => { c2.close(); s2.close(); });
  await Promise.all([c2.opened, s2.ready]);
  await waitFor(() => c2.idx.length >= 20 && s2.ids.length >= 20, 10000, 'streaming from the new daemon');
  assert.deepStrictEqual(c2.bad, []);
  assert.deepStrictEqual(indexGaps(c2.idx), []);
  assert.deepStrictEqual(idGaps(s2.ids), []);

  // Master and children killed at once (an OOM kill, kill -9 of the
  // group): nothing runs, the segment stays; the next start goes at once.
  const kids2 = await waitFor(() => {
    const x = d2.childPids();
    return x.length === 3 ? x : null;
  }, 3000, 'three children');
  c2.close();
  s2.close();
  for (const pid of [d2.pid, ...kids2]) process.kill(pid, 'SIGKILL');
  await d2.exited;
  await waitFor(() => kids2.every((pid) => !running(pid)), 3000, 'everything dead');
  assert.strictEqual(segHeaderOf(d2.port).masterPid, d2.pid, 'the segment is left behind');
  // And by now its pid runs something else (pids are reused; in a fresh
  // pid namespace the next master may even get the same one): that must
  // not keep the next start out.
  const fd = fs.openSync(shm, 'r+');
  const pidBuf = Buffer.alloc(4);
  pidBuf.writeUInt32LE(process.pid);
  fs.writeSync(fd, pidBuf, 0, 4, 108);
  fs.closeSync(fd);
  assert.strictEqual(segHeaderOf(d2.port).masterPid, process.pid);
  const d3 = await startDaemon({ t, workers: 1, conf: conf(200), port: d.port });
  assert.strictEqual(segHeaderOf(d3.port).masterPid, d3.pid, 'a new segment');
  const c3 = wsClient(d3.url('/', 'ws'), 'lite');
  t.after(() => c3.close());
  await c3.opened;
  await waitFor(() => c3.idx.length >= 20, 10000, 'streaming from the third daemon');
  assert.deepStrictEqual(c3.bad, []);
  assert.deepStrictEqual(indexGaps(c3.idx), []);
  c3.close();
  const info = await d3.stop();
  assert.strictEqual(info.code, 0);
  assert.ok(!fs.existsSync(shm), 'a clean stop removes the segment');
});

test('kill -9 of the master when its children run as another user: they stop all the same', { skip: process.getuid() !== 0 && 'needs root' }, async (t) => {
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(feedFile, 0o644);
  const d = await startDaemon({ t, workers: 2, conf: conf(100) + 'user: nobody\n' });
  const kids = await waitFor(() => {
    const x = titles(d.pid);
    return x['certstreamd: ingest'] && x['certstreamd: worker 1'] && x['certstreamd: worker 2'] ? x : null;
  }, 3000, 'three children with their titles');
  assert.strictEqual(d.childPids().length, 3); // killed at the end if they outlive the test
  const uidOf = (pid) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)[1]);
  for (const pid of Object.values(kids)) assert.notStrictEqual(uidOf(pid), 0, 'children dropped root');
  const c = wsClient(d.url('/', 'ws'), 'lite');
  t.after(() => c.close());
  await c.opened;
  await waitFor(() => c.idx.length >= 5, 5000, 'streaming');
  process.kill(d.pid, 'SIGKILL');
  await d.exited;
  await waitFor(() => Object.values(kids).every((pid) => !running(pid)), 5000,
    `the orphaned children stopping (${Object.entries(kids).filter(([, p]) => running(p)).map(([k]) => k)})`);
  await waitFor(() => c.closeCode !== null, 3000, 'the client let go');
  const d2 = await startDaemon({ t, workers: 1, conf: conf(100), port: d.port });
  assert.strictEqual(segHeaderOf(d2.port).masterPid, d2.pid, 'a new segment');
  const info = await d2.stop();
  assert.strictEqual(info.code, 0);
});

// ---- the CT source: build/fakelog on 127.0.0.1 ----

const { request: httpReq, startFakelog } = require('./lib/fakelog');

test('kill -9 of the CT ingest four times while two logs grow: every log index arrives exactly once, in order', { timeout: 60000 }, async (t) => {
  const FINAL = 2400;
  const fl = await startFakelog(['--rfc6962', 'fa', '--static', 'fs', '--initial-size', '400',
    '--max-size', String(FINAL), '--grow-per-sec', '0'], t);
  const names = ['fa', 'fs'];
  const urls = names.map((n) => fl.logUrl(n));
  const listFile = path.join(dir, 'loglist.json');
  const write = (text) => { fs.writeFileSync(`${listFile}.tmp`, text); fs.renameSync(`${listFile}.tmp`, listFile); };
  write('{"operators":[]}\n');
  const stateFile = path.join(dir, 'ct-state.json');
  const d = await startDaemon({
    t,
    workers: 1,
    env: { CERTSTREAM_CT_LOG_STATE_FILE: stateFile },
    conf: ['source: ct', `ct_logs_url: ${JSON.stringify(listFile)}`, 'ct_log:',
      '  poll_interval_ms: 100', '  partial_tile_wait_ms: 300', '  batch_size: 128', '  backfill: 1000000000',
      '  loglist_refresh_secs: 1', '  state_save_interval_secs: 1', '  request_timeout_secs: 5',
      '  connect_timeout_secs: 2', 'dedup:', '  enabled: false', ''].join('\n'),
  });
  // Every entry by log, as a lite client sees it; the client is there
  // before any log is listed, so it sees them all.
  const byLog = new Map(urls.map((u) => [u, []]));
  const bad = [];
  const ws = new WebSocket(d.url('/', 'ws'));
  t.after(() => ws.terminate());
  ws.on('error', () => {});
  ws.on('message', (buf) => {
    let m;
    try { m = JSON.parse(buf.toString('utf8')); } catch (e) {
      bad.push(`unparsable frame: ${e.message}`);
      return;
    }
    if (m.message_type === 'heartbeat') return;
    if (m.message_type !== 'certificate_update' || !m.data || !Number.isInteger(m.data.cert_index) ||
      !m.data.leaf_cert || !m.data.source || !byLog.has(m.data.source.url)) {
      bad.push(`unexpected message ${buf.toString('utf8').slice(0, 160)}`);
      return;
    }
    byLog.get(m.data.source.url).push(m.data.cert_index);
  });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  write((await httpReq('GET', fl.url('/loglist.json'))).body);
  const count = () => Math.min(...urls.map((u) => byLog.get(u).length));

  let target = 400;
  for (let k = 0; k < 4; k++) {
    await waitFor(() => count() >= target - 250, 20000, `entries before kill ${k + 1} (${urls.map((u) => byLog.get(u).length)})`);
    const victim = await waitFor(() => titles(d.pid)['certstreamd: ingest'], 5000, 'an ingest');
    process.kill(victim, 'SIGKILL');
    target += 500;
    for (const n of names) await fl.grow(n, 500);
    await waitFor(() => {
      const p = titles(d.pid)['certstreamd: ingest'];
      return p && p !== victim ? p : null;
    }, 5000, `replacement ${k + 1}`);
  }
  await waitFor(() => count() >= FINAL, 30000, `all ${FINAL} entries of both logs (${urls.map((u) => byLog.get(u).length)})`);
  await sleep(1000); // anything repeated would show up now
  ws.terminate();
  assert.deepStrictEqual(bad, []);
  for (const [i, u] of urls.entries()) {
    const seq = byLog.get(u);
    const wrong = seq.findIndex((x, j) => x !== j);
    assert.strictEqual(wrong, -1, `${names[i]}: position ${wrong} holds entry ${seq[wrong]} (repeated or out of order)`);
    assert.strictEqual(seq.length, FINAL, `${names[i]}: ${seq.length} entries streamed, the log holds ${FINAL}`);
  }
  assert.strictEqual(await metric(d, 'certstream_ingest_restarts_total'), 4);
  const info = await d.stop();
  assert.strictEqual(info.code, 0);
});

// A daemon streaming two fake CT logs is stopped with `signal` (its master
// only) while it fetches; the next start on the same port goes on, and a
// client connected to one then the other sees every index exactly once.
async function ctRestart(t, signal) {
  const FINAL = 1600;
  const fl = await startFakelog(['--rfc6962', 'ma', '--static', 'ms', '--initial-size', '800',
    '--max-size', String(FINAL), '--grow-per-sec', '0'], t);
  const names = ['ma', 'ms'];
  const urls = names.map((n) => fl.logUrl(n));
  const listFile = path.join(dir, 'loglist-m.json');
  const write = (text) => { fs.writeFileSync(`${listFile}.tmp`, text); fs.renameSync(`${listFile}.tmp`, listFile); };
  write('{"operators":[]}\n');
  // one state file per run: the fake logs' ids repeat (same seed), and a
  // log id found in a state file resumes there whatever its URL
  const stateFile = path.join(dir, `ct-state-m-${signal}.json`);
  const conf = ['source: ct', `ct_logs_url: ${JSON.stringify(listFile)}`, 'ct_log:',
    '  poll_interval_ms: 100', '  partial_tile_wait_ms: 300', '  batch_size: 64', '  backfill: 1000000000',
    '  loglist_refresh_secs: 1', '  state_save_interval_secs: 5', '  request_timeout_secs: 5',
    '  connect_timeout_secs: 2', 'dedup:', '  enabled: false', ''].join('\n');
  const byLog = new Map(urls.map((u) => [u, []]));
  const bad = [];
  const collect = (d) => {
    const ws = new WebSocket(d.url('/', 'ws'));
    t.after(() => ws.terminate());
    ws.on('error', () => {});
    ws.on('message', (buf) => {
      let m;
      try { m = JSON.parse(buf.toString('utf8')); } catch (e) {
        bad.push(`unparsable frame: ${e.message}`);
        return;
      }
      if (m.message_type === 'heartbeat') return;
      if (m.message_type !== 'certificate_update' || !byLog.has(m.data.source.url)) {
        bad.push(`unexpected message ${buf.toString('utf8').slice(0, 160)}`);
        return;
      }
      byLog.get(m.data.source.url).push(m.data.cert_index);
    });
    return new Promise((r, j) => { ws.once('open', () => r(ws)); ws.once('error', j); });
  };
  const env = { CERTSTREAM_CT_LOG_STATE_FILE: stateFile };
  const d = await startDaemon({ t, workers: 1, env, conf });
  assert.strictEqual(d.childPids().length, 2);
  const ws1 = await collect(d);
  write((await httpReq('GET', fl.url('/loglist.json'))).body);
  const count = () => Math.min(...urls.map((u) => byLog.get(u).length));
  await waitFor(() => count() >= 300, 20000, 'entries before the kill');
  process.kill(d.pid, signal);
  await d.exited;
  await waitFor(() => ws1.readyState === WebSocket.CLOSED, 5000, 'the client let go');
  const before = urls.map((u) => byLog.get(u).length);

  // The client is back before the logs are listed again: it sees all
  // the second daemon publishes.
  write('{"operators":[]}\n');
  const d2 = await startDaemon({ t, workers: 1, env, conf, port: d.port });
  await collect(d2);
  write((await httpReq('GET', fl.url('/loglist.json'))).body);
  for (const n of names) await fl.grow(n, FINAL - 800);
  // Until the second daemon has published every entry of both logs.
  const end = Date.now() + 30000;
  for (;;) {
    const h = JSON.parse((await httpReq('GET', d2.url('/health/deep'))).body);
    const next = urls.map((u) => ((h.logs || []).find((l) => l.url === u) || {}).next_index);
    if (next.every((n) => n >= FINAL)) break;
    if (Date.now() > end) assert.fail(`the second daemon stalled at ${next}\n${d2.logs().slice(-3000)}`);
    await sleep(200);
  }
  await sleep(500);
  assert.deepStrictEqual(bad, []);
  for (const [i, u] of urls.entries()) {
    const seq = byLog.get(u);
    const wrong = seq.findIndex((x, j) => x !== j);
    const uniq = new Set(seq).size;
    assert.strictEqual(wrong, -1, `${names[i]}: position ${wrong} holds entry ${seq[wrong]} after ${seq[wrong - 1]} ` +
      `(the first daemon streamed ${before[i]}; ${FINAL - uniq} never streamed, ${seq.length - uniq} streamed twice)`);
    assert.strictEqual(seq.length, FINAL);
  }
  const info = await d2.stop();
  assert.strictEqual(info.code, 0);
}

test('SIGTERM of the master while it fetches CT logs, then a start on the same port: every log index exactly once (the ingest stops before the workers)',
  { timeout: 60000 }, (t) => ctRestart(t, 'SIGTERM'));

test('kill -9 of the master while it fetches CT logs, then a start on the same port: every log index exactly once',
  { timeout: 60000 },
  (t) => ctRestart(t, 'SIGKILL'));
