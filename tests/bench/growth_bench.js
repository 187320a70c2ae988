#!/usr/bin/env node
'use strict';
// Following growing logs, this daemon beside the previous commit's: what
// each costs the log operator and how late each entry reaches a client.
//
// For each daemon in turn (never both at once), 4 build/fakelog processes,
// one per rate (1, 10, 100, 1,000 entries a second), each serving one
// static-ct-api log (published every second, as Sunlight does) and one RFC
// 6962 log (published at once). Every log starts at 256 entries and holds
// there until the daemon's first head is 256 (a tile boundary; backfill
// 0), then grows for BENCH_GROWTH_SECS (default 60) seconds, is frozen,
// and the daemon gets up to 20 s to stream the rest. The daemon runs with
// the default ct_log settings (poll_interval_ms 1000, and this daemon's
// partial_tile_wait_ms 5000), one worker, dedup off (every entry is its
// own certificate anyway); a /full-stream WebSocket client stamps each
// certificate with Date.now() on receipt.
//
// Per log:
//   - entries streamed: [256, end) once each, in order; duplicates and
//     missing ones are counted;
//   - body bytes: the fake log's bytes_served (response bodies of every
//     request to that log) from the release of growth to the end, divided
//     by the entries' own bytes: for a static log the data tiles covering
//     [256, end) (full tiles and the final partial; 256 is a tile
//     boundary, so the sum is exact), for an RFC 6962 log the decoded
//     leaf_input + extra_data of get-entries over [256, end). Both are read
//     from the fake log after its bytes_served;
//   - requests per minute while the log grows (release to freeze);
//   - latency: receipt − the entry's appearance (the ms of the first
//     /growth pair whose size exceeds its index: a static log's publish,
//     an RFC 6962 log's growth step), p50 and p99 over the streamed ones.
//
// The previous commit's daemon (BENCH_GROWTH_BASE, default 7269ce9) is
// built from git into build/bench-base/COMMIT/ (git archive + make
// certstreamd), once: the binary is reused while it exists. It gets the
// same configuration, which names none of the keys it does not know.
//
// stdout: one "row<TAB>figure<TAB>ours<TAB>base<TAB>ratio<TAB>target<TAB>met"
// line per row (run.sh adds them to its table); progress on stderr.
// Exit 0 once the rows are printed, 1 if this daemon could not be measured.

const { spawn, execFileSync, execSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const { startFakelog, request } = require(path.join(ROOT, 'tests/integration/lib/fakelog'));
const WebSocket = require(path.join(ROOT, 'tests/node/node_modules/ws'));

const SECS = Number(process.env.BENCH_GROWTH_SECS || 60);
const RATES = (process.env.BENCH_GROWTH_RATES || '1,10,100,1000').split(',').map(Number);
const BASE = process.env.BENCH_GROWTH_BASE || '7269ce9';
const DRAIN_MS = 20000;
const START = 256;     // the first head: one full data tile
const TILE = 256;
const BATCH_CAP = 1000; // the fake log's --batch-cap default

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const say = (s) => process.stderr.write(`growth [${Math.round((Date.now() - t0) / 1000)}s] ${s}\n`);

// ---- processes we start, always stopped --------------------------------
const daemons = new Set();
function childrenOf(pid) {
  const out = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(e));
    } catch (_) { /* raced with its exit */ }
  }
  return out;
}
process.on('exit', () => {
  for (const d of daemons) {
    for (const p of [d.pid, ...d.kids]) {
      try { process.kill(p, 'SIGKILL'); } catch (_) { /* gone */ }
    }
  }
});
// fakelog.js kills its processes in an exit handler: make signals exit
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, () => process.exit(130));

// CPU ticks (user + system) of these processes, from /proc
const TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
function cpuTicks(pids) {
  let t = 0;
  for (const p of pids) {
    try {
      const st = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      t += Number(f[11]) + Number(f[12]);
    } catch (_) { /* gone */ }
  }
  return t;
}

// ---- HTTP ---------------------------------------------------------------
// The whole body as bytes (tiles are binary).
function getBuf(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 10000 }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout ${url}`)));
    req.on('error', reject);
  });
}
async function getJson(url) {
  const r = await getBuf(url);
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  return JSON.parse(r.body.toString());
}
const post = async (url) => JSON.parse((await request('POST', url)).body);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// tlog-tiles index: 3-digit groups, all but the last prefixed with x
function tileIndex(n) {
  const g = [];
  do { g.unshift(String(n % 1000).padStart(3, '0')); n = Math.floor(n / 1000); } while (n > 0);
  return g.map((x, i) => (i < g.length - 1 ? `x${x}` : x)).join('/');
}

// ---- the previous commit's daemon ---------------------------------------
// Its binary, or { skip: why }.
function baseBinary() {
  let sha;
  try {
    sha = execFileSync('git', ['-C', ROOT, 'rev-parse', '--verify', '--quiet', `${BASE}^{commit}`],
      { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch (_) {
    return { skip: `git history unavailable (no commit ${BASE})` };
  }
  const dir = path.join(ROOT, 'build', 'bench-base', sha.slice(0, 12));
  const bin = path.join(dir, 'certstreamd');
  if (fs.existsSync(bin)) return { bin, sha };
  say(`building ${BASE}'s certstreamd in ${path.relative(ROOT, dir)}`);
  try {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    execSync(`git -C "${ROOT}" archive ${sha} | tar -x -C "${dir}"`, { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('nice', ['make', '-j2', 'certstreamd'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    fs.rmSync(bin, { force: true });
    return { skip: `build of ${BASE} failed: ${String(e.stderr || e.message).trim().split('\n').pop()}` };
  }
  return { bin, sha };
}

// ---- one daemon against 4 growing fake logs -----------------------------
async function startDaemon(bin, tag, listFile, dir) {
  const port = await freePort();
  const conf = path.join(dir, 'certstream.conf');
  // only keys both commits know; ct_log as shipped but for the state file
  fs.writeFileSync(conf, [
    'source: ct',
    'host: 127.0.0.1',
    `port: ${port}`,
    'workers: 1',
    'log_level: warn',
    'user: root',  // its files are in the bench's own 0700 directory
    `shm_name: "/csgrowth-${process.pid}-${tag}"`,
    `ct_logs_url: ${JSON.stringify(listFile)}`,
    'ct_log:',
    `  state_file: ${JSON.stringify(path.join(dir, 'state.json'))}`,
    '  backfill: 0',
    'dedup:',
    '  enabled: false',
    '',
  ].join('\n'));
  const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'daemon.log'), 'w')] });
  const d = { pid: proc.pid, kids: [], port, url: (p, s = 'http') => `${s}://127.0.0.1:${port}${p}` };
  daemons.add(d);
  const exited = new Promise((r) => proc.on('exit', r));
  let gone = false;
  exited.then(() => { gone = true; });
  d.stop = async () => {
    if (!gone) {
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(10000)]);
    }
    for (const p of [proc.pid, ...d.kids]) {
      try { process.kill(p, 'SIGKILL'); } catch (_) { /* gone */ }
    }
    daemons.delete(d);
  };
  // any HTTP answer means a worker serves (/health may say 503 by policy)
  for (let i = 0; i < 150; i++) {
    if (gone) break;
    try {
      await getBuf(d.url('/health'));
      d.kids = childrenOf(proc.pid);
      return d;
    } catch (_) { await sleep(100); }
  }
  await d.stop();
  throw new Error(`certstreamd did not start: ${fs.readFileSync(path.join(dir, 'daemon.log'), 'utf8').slice(-500)}`);
}

// A /full-stream client: per log URL, receipt ms by cert_index.
function collector(d) {
  const ws = new WebSocket(d.url('/full-stream', 'ws'));
  const logs = new Map();
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const now = Date.now();
    let m;
    try { m = JSON.parse(data.toString()); } catch (_) { return; }
    if (m.message_type !== 'certificate_update') return;
    const u = m.data.source.url;
    let l = logs.get(u);
    if (!l) logs.set(u, (l = { at: new Map(), dup: 0, order: 0, last: -1 }));
    const i = m.data.cert_index;
    if (l.at.has(i)) l.dup++;
    else l.at.set(i, now);
    if (i < l.last) l.order++;
    l.last = i;
  });
  const open = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, logs, open, close: () => ws.terminate() };
}

function streamedIn(col, url, end) {
  const l = col.logs.get(url);
  if (!l) return 0;
  let n = 0;
  for (const i of l.at.keys()) if (i >= START && i < end) n++;
  return n;
}

// The entries' own bytes of [START, end).
async function ownBytes(fl, name, type, end) {
  let sum = 0;
  if (type === 'static') {
    for (let k = START / TILE; k * TILE < end; k++) {
      const w = Math.min(TILE, end - k * TILE);
      const p = `/${name}/tile/data/${tileIndex(k)}${w < TILE ? `.p/${w}` : ''}`;
      const r = await getBuf(fl.url(p));
      if (r.status !== 200) throw new Error(`${p}: ${r.status}`);
      sum += r.body.length;
    }
    return sum;
  }
  for (let s = START; s < end;) {
    const e = Math.min(end, s + BATCH_CAP) - 1;
    const j = await getJson(fl.url(`/${name}/ct/v1/get-entries?start=${s}&end=${e}`));
    if (!j.entries || !j.entries.length) throw new Error(`${name}: get-entries ${s}: nothing`);
    for (const x of j.entries) {
      sum += Buffer.from(x.leaf_input, 'base64').length + Buffer.from(x.extra_data, 'base64').length;
    }
    s += j.entries.length;
  }
  return sum;
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

// One daemon's run: per log { type, rate, end, streamed, dup, missing,
// order, outside, bytes, own, reqMin, perSec, kinds, p50, p99 }, the
// daemon's CPU while the logs grow, and notes.
async function measure(bin, tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `growth-bench-${tag}-`));
  const fls = [];
  const out = { logs: [], notes: [] };
  let d;
  let col;
  try {
    for (const rate of RATES) {
      fls.push({
        rate,
        fl: await startFakelog(['--static', `s${rate}`, '--rfc6962', `r${rate}`,
          '--initial-size', String(START), '--max-size', String(START), '--real', 'none',
          '--grow-per-sec', String(rate), '--publish-ms', '1000']),
      });
    }
    const logs = [];
    const list = { version: '1.0', operators: [{ name: 'Fakelog', email: [], logs: [], tiled_logs: [] }] };
    for (const { rate, fl } of fls) {
      const l = await getJson(fl.url('/loglist.json'));
      for (const op of l.operators) {
        list.operators[0].logs.push(...(op.logs || []));
        list.operators[0].tiled_logs.push(...(op.tiled_logs || []));
      }
      for (const [name, type] of [[`s${rate}`, 'static'], [`r${rate}`, 'rfc6962']]) {
        logs.push({ fl, name, type, rate, url: fl.logUrl(name) });
      }
    }
    const listFile = path.join(dir, 'loglist.json');
    fs.writeFileSync(listFile, JSON.stringify(list));

    d = await startDaemon(bin, tag, listFile, dir);
    col = collector(d);
    await col.open;
    // every log's first head, 256, taken
    const deadline = Date.now() + 30000;
    let deep;
    for (;;) {
      deep = await getJson(d.url('/health/deep')).catch(() => ({ logs: [] }));
      const at = (deep.logs || []).filter((x) => x.next_index === START).length;
      if (at === logs.length) break;
      if (Date.now() > deadline) {
        out.notes.push(`only ${at} of ${logs.length} logs at ${START} after 30 s`);
        break;
      }
      await sleep(200);
    }

    say(`${tag}: ${1 + d.kids.length} daemon processes; growth released for ${SECS} s`);
    const tRel = Date.now();
    const cpu0 = cpuTicks([d.pid, ...d.kids]);
    for (const l of logs) {
      l.st0 = await post(l.fl.url(`/control/${l.name}/grow?n=0&max=100000000`));
    }
    await sleep(SECS * 1000);
    out.cpuPct = (100 * (cpuTicks([d.pid, ...d.kids]) - cpu0)) / TCK / ((Date.now() - tRel) / 1000);
    // the cap moved to the size just read; the log may have grown since,
    // and then stops where it is: the answer's size is the end
    for (const l of logs) {
      const st = await l.fl.state(l.name);
      l.st1 = await post(l.fl.url(`/control/${l.name}/grow?n=0&max=${st.size}`));
      l.tFreeze = Date.now();
      l.end = l.st1.size;
    }
    // a static log publishes what it holds within a second
    for (let i = 0; i < 30; i++) {
      let all = true;
      for (const l of logs) if ((await l.fl.state(l.name)).published_size !== l.end) all = false;
      if (all) break;
      await sleep(100);
    }
    say(`${tag}: frozen; draining (at most ${DRAIN_MS / 1000} s)`);
    const tDrain = Date.now();
    while (Date.now() - tDrain < DRAIN_MS &&
      !logs.every((l) => streamedIn(col, l.url, l.end) === l.end - START)) await sleep(200);
    say(`${tag}: drained in ${((Date.now() - tDrain) / 1000).toFixed(1)} s`);
    for (const l of logs) l.st2 = await l.fl.state(l.name);
    col.close();
    await d.stop();
    d = null;

    for (const l of logs) {
      const c = col.logs.get(l.url) || { at: new Map(), dup: 0, order: 0 };
      const growth = await l.fl.growth(l.name);
      const appear = (i) => {
        let lo = 0;
        let hi = growth.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (growth[mid][0] > i) hi = mid; else lo = mid + 1;
        }
        return growth[lo][0] > i ? growth[lo][1] : null;
      };
      const lat = [];
      let streamed = 0;
      for (const [i, ms] of c.at) {
        if (i < START || i >= l.end) continue;
        streamed++;
        const a = appear(i);
        if (a !== null) lat.push(ms - a);
      }
      lat.sort((a, b) => a - b);
      const own = await ownBytes(l.fl, l.name, l.type, l.end);
      const growMin = (l.tFreeze - tRel) / 60000;
      out.logs.push({
        type: l.type,
        rate: l.rate,
        end: l.end,
        streamed,
        dup: c.dup,
        order: c.order,
        outside: c.at.size - streamed,
        missing: l.end - START - streamed,
        bytes: l.st2.bytes_served - l.st0.bytes_served,
        own,
        reqMin: (l.st1.requests - l.st0.requests) / growMin,
        perSec: (l.st1.size - l.st0.size) / (growMin * 60),
        kinds: l.st2.requests_by_kind,
        p50: pct(lat, 50),
        p99: pct(lat, 99),
      });
    }
  } finally {
    if (col) col.close();
    if (d) await d.stop();
    for (const { fl } of fls) await fl.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// ---- rows ---------------------------------------------------------------
const f2 = (x) => x.toFixed(2);
const fint = (x) => Math.round(x).toLocaleString('en-US');

function streamedNote(r) {
  const bad = [];
  if (r.missing) bad.push(`${r.missing} missing`);
  if (r.dup) bad.push(`${r.dup} duplicate${r.dup > 1 ? 's' : ''}`);
  if (r.order) bad.push(`${r.order} out of order`);
  if (r.outside) bad.push(`${r.outside} outside [256, end)`);
  const n = fint(r.streamed);
  return bad.length ? `${n} of ${fint(r.end - START)} streamed: ${bad.join(', ')}` : `${n} streamed`;
}

function row(figure, ours, base, ratio, target, met) {
  process.stdout.write(['row', figure, ours, base, ratio, target, met].join('\t') + '\n');
}

function rel(a, b) {
  return a !== null && b !== null && b > 0 ? f2(a / b) : '-';
}

async function main() {
  const ours = path.join(ROOT, 'certstreamd');
  if (!fs.existsSync(ours)) throw new Error(`missing ${ours}`);
  const load0 = execFileSync('uptime').toString().trim();
  say(`load: ${load0}`);
  const base = baseBinary();
  if (base.skip) say(`baseline skipped: ${base.skip}`);

  say('this daemon');
  const mine = await measure(ours, 'new');
  let prev = null;
  if (!base.skip) {
    say(`${BASE}'s daemon`);
    try {
      prev = await measure(base.bin, 'old');
    } catch (e) {
      base.skip = `${BASE} could not be measured: ${e.message.split('\n')[0]}`;
      say(base.skip);
    }
  }
  const load1 = execFileSync('uptime').toString().trim();
  say(`load: ${load1}`);
  for (const n of [...mine.notes, ...(prev ? prev.notes.map((x) => `${BASE}: ${x}`) : [])]) say(n);

  const loadavg = (s) => s.replace(/.*load average: /, '');
  const beside = base.skip ? `this daemon alone (no baseline: ${base.skip})`
    : `this daemon beside the previous commit ${BASE}`;
  row(`log growth: static (published every second) and RFC 6962 fake logs growing at ${RATES.map((r) => r.toLocaleString('en-US')).join(', ')} entries/s for ${SECS} s each, ` +
    `default ct_log settings (poll every 1 s; partial tiles after 5 s), ${beside}: load average`,
    `before ${loadavg(load0)}; after ${loadavg(load1)}`, '-', '-', 'context', '-');
  row('log growth: CPU of all the daemon\'s processes while the logs grow, % of one core',
    f2(mine.cpuPct), prev ? f2(prev.cpuPct) : '-', prev ? rel(mine.cpuPct, prev.cpuPct) : '-', 'context', '-');
  for (const type of ['static', 'rfc6962']) {
    const tname = type === 'static' ? 'static log' : 'RFC 6962 log';
    for (const rate of RATES) {
      const a = mine.logs.find((x) => x.type === type && x.rate === rate);
      const b = prev ? prev.logs.find((x) => x.type === type && x.rate === rate) : null;
      const what = `${tname} growing at ${rate.toLocaleString('en-US')}/s`;
      const ra = a.streamed ? a.bytes / a.own : null;
      const rb = b && b.streamed ? b.bytes / b.own : null;
      // a CPU-starved fake log grows slower than asked: say how fast it did
      const grew = (x) => (rate >= 100 ? `; grew ${fint(x.perSec)}/s` : '');
      const cell = (r, x) => (!x ? '-' : x.streamed ? `${f2(r)} (${streamedNote(x)}${grew(x)})`
        : `0 streamed${grew(x)}`);
      let met = '-';
      let target = '-';
      if (type === 'static') {
        target = '<= 1.3';
        if (ra === null) met = 'NOT MET (0 streamed)';
        else if (ra > 1.3) met = 'NOT MET';
        else met = a.missing || a.dup || a.order ? `NOT MET (${streamedNote(a)})` : 'yes';
      }
      row(`${what}: body bytes downloaded ÷ the streamed entries' own bytes (${type === 'static'
        ? 'data tiles' : 'decoded leaf_input + extra_data'} of [256, end))`,
      cell(ra, a), b ? cell(rb, b) : '-', rel(ra, rb), target, met);
      row(`${what}: requests per minute to the log while it grows`,
        fint(a.reqMin), b ? fint(b.reqMin) : '-', rel(a.reqMin, b ? b.reqMin : null), '-', '-');
      const lat = (x) => (!x ? '-' : x.streamed ? `${fint(x.p50)} / ${fint(x.p99)}` : '0 streamed');
      row(`${what}: latency from an entry's appearance in the log to its receipt by a client, ms, p50 / p99`,
        lat(a), lat(b), b && b.streamed && a.streamed ? `${rel(a.p50, b.p50)} / ${rel(a.p99, b.p99)}` : '-', '-', '-');
    }
  }
  // what each log was asked, for whoever reads the output
  for (const [who, m] of [['ours', mine], [BASE, prev]]) {
    if (!m) continue;
    for (const x of m.logs) {
      const k = Object.entries(x.kinds).filter(([, v]) => v).map(([n, v]) => `${n}=${v}`).join(' ');
      say(`${who} ${x.type} ${x.rate}/s: end ${x.end}, ${streamedNote(x)}, body ${x.bytes} / own ${x.own}, ${k}`);
    }
  }
}

main().then(() => process.exit(0), (e) => {
  say(`failed: ${e.stack || e}`);
  process.exit(1);
});
