'use strict';
// Start the real certstreamd for an integration test, on 127.0.0.1 and a
// port picked at runtime; stop it (and anything it left) when the test ends.
//
//   const { startDaemon } = require('./lib/daemon');
//   const d = await startDaemon({ workers: 2, conf: 'source: replay\n...', t });
//   d.port, d.pid, d.proc, d.dir, d.url('/health'), d.url('/', 'ws')
//   const info = await d.stop('SIGTERM');   // { code, signal, ms }
//   d.logs()                                 // stderr + stdout so far
//
// Options:
//   workers  number of workers (CERTSTREAM_WORKERS), default 1
//   env      extra environment variables (override everything else)
//   args     extra command-line arguments
//   conf     YAML text, or a path to an existing file; default: replay of
//            tests/data/sample-feed.ndjson at 10 records/s, looping
//   bin      daemon binary; default $CERTSTREAM_BIN or ./certstreamd
//   t        a node:test context: the daemon is stopped in t.after()
//   timeoutMs  how long to wait for /health (default 15000)
//   waitHealth false to skip waiting for /health (e.g. for failing starts)
//
// Unless the configuration has a user: line (or env sets CERTSTREAM_USER),
// the ingest and workers run as root: see startOnce.

const { spawn } = require('node:child_process');
const { after } = require('node:test');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const live = new Set();

function defaultBin() {
  return process.env.CERTSTREAM_BIN || path.join(ROOT, 'certstreamd');
}

function defaultConf() {
  return [
    'source: replay',
    'replay:',
    `  file: ${JSON.stringify(path.join(ROOT, 'tests/data/sample-feed.ndjson'))}`,
    '  rate: 10',
    '  loop: true',
    '',
  ].join('\n');
}

// A free TCP port on 127.0.0.1 (bind port 0, read it, release it).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function httpStatus(url, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.on('error', () => resolve(0));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function killGroup(proc, signal) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  try { process.kill(proc.pid, signal); } catch (_) { /* gone */ }
}

// When every test of the file is done: a daemon still up (a failed hook
// kept its test's own stop from running) would hold the file's process
// open for ever through its pipes.
after(() => Promise.all([...live].map((d) => d.stop('SIGKILL'))));

// Last resort: the test runner exits with daemons still up.
process.on('exit', () => {
  for (const d of live) {
    try { process.kill(d.pid, 'SIGKILL'); } catch (_) { /* gone */ }
    for (const pid of d.childPids()) {
      try { process.kill(pid, 'SIGKILL'); } catch (_) { /* gone */ }
    }
  }
});

// Children of pid, read from /proc (the daemon's ingest and workers).
function childrenOf(pid) {
  const out = [];
  let entries = [];
  try { entries = fs.readdirSync('/proc'); } catch (_) { return out; }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === pid) out.push(Number(e));
    } catch (_) { /* raced with exit */ }
  }
  return out;
}

// CERTSTREAM_USER=root unless the file at confPath has a user: line (see
// startOnce for why).
function rootUnlessNamed(confPath) {
  let text = '';
  try { text = fs.readFileSync(confPath, 'utf8'); } catch (_) { /* none */ }
  return /^user:/m.test(text) ? {} : { CERTSTREAM_USER: 'root' };
}

async function startOnce(opts, port) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certstream-test-'));
  let confPath;
  const conf = opts.conf === undefined ? defaultConf() : opts.conf;
  if (!conf.includes('\n') && fs.existsSync(conf)) {
    confPath = conf;
  } else {
    confPath = path.join(dir, 'certstream.conf');
    fs.writeFileSync(confPath, conf);
  }
  // The daemon's default (user: auto) drops the ingest and workers to
  // certstream or nobody when started as root, as CI does; they could not
  // read or write the test's files in its mkdtemp directories (mode 0700).
  // A test that does not name a user runs them as root; the tests of the
  // default name it (user: auto) or pass CERTSTREAM_USER.
  const userEnv = rootUnlessNamed(confPath);
  const env = {
    ...process.env,
    ...userEnv,
    CERTSTREAM_HOST: '127.0.0.1',
    CERTSTREAM_PORT: String(port),
    CERTSTREAM_WORKERS: String(opts.workers || 1),
    CERTSTREAM_CT_LOG_STATE_FILE: path.join(dir, 'state.json'),
    ...(opts.env || {}),
  };
  // A port picked here was free, so nothing of ours runs at the default
  // segment name it gives (/certstream-PORT): a segment found there was
  // left by a daemon killed -9 outside this harness (another run, hours
  // ago), and the new daemon would carry its ring over as after a crash
  // (an edge then sees another stream's ids). A test that restarts on the
  // same port to carry a ring passes opts.port and keeps it.
  if (!opts.port && !(opts.env || {}).CERTSTREAM_SHM_NAME &&
      !/^shm_name:/m.test(fs.readFileSync(confPath, 'utf8'))) {
    for (const f of [`/dev/shm/certstream-${port}`, `/dev/shm/certstream-${port}-dedup`]) {
      try { fs.rmSync(f, { force: true }); } catch (_) { /* not ours */ }
    }
  }
  const args = ['-c', confPath, ...(opts.args || [])];
  const bin = opts.bin || defaultBin();
  const proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  proc.stdout.on('data', (b) => { logs += b.toString(); });
  proc.stderr.on('data', (b) => { logs += b.toString(); });
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  let exitInfo = null;
  exited.then((info) => { exitInfo = info; });
  proc.on('error', (e) => { logs += `spawn error: ${e.message}\n`; });

  let known = [];
  const d = {
    port,
    pid: proc.pid,
    proc,
    dir,
    confPath,
    exited,
    logs: () => logs,
    url: (p = '/', proto = 'http') => `${proto}://127.0.0.1:${port}${p}`,
    childPids: () => {
      const now = proc.exitCode === null && proc.signalCode === null ? childrenOf(proc.pid) : [];
      if (now.length) known = now;
      return known;
    },
    async stop(signal = 'SIGTERM', waitMs = 10000) {
      const t0 = Date.now();
      const kids = d.childPids();
      if (!exitInfo) {
        killGroup(proc, signal);
        let timer;
        const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), waitMs); });
        const r = await Promise.race([exited, timeout]);
        clearTimeout(timer);
        if (!r) {
          killGroup(proc, 'SIGKILL');
          await exited;
        }
      }
      // A child that outlived its master would hold the port: end it.
      for (const pid of kids) {
        try { process.kill(pid, 'SIGKILL'); } catch (_) { /* gone */ }
      }
      // Killed with -9, the daemon leaves its segment (and dedup set)
      // behind: a later test whose random port matches would find it.
      if (signal === 'SIGKILL' && !(opts.env || {}).CERTSTREAM_SHM_NAME) {
        for (const f of [`/dev/shm/certstream-${port}`, `/dev/shm/certstream-${port}-dedup`]) {
          try { fs.rmSync(f, { force: true }); } catch (_) { /* not ours */ }
        }
      }
      live.delete(d);
      fs.rmSync(dir, { recursive: true, force: true });
      return { ...exitInfo, ms: Date.now() - t0 };
    },
  };
  live.add(d);
  if (opts.t && typeof opts.t.after === 'function') opts.t.after(() => d.stop('SIGKILL'));

  if (opts.waitHealth === false) return d;
  const deadline = Date.now() + (opts.timeoutMs || 15000);
  while (Date.now() < deadline) {
    if (exitInfo) break;
    if ((await httpStatus(d.url('/health'), 1000)) === 200) return d;
    await sleep(50);
  }
  const out = logs;
  await d.stop('SIGKILL');
  const err = new Error(`certstreamd did not answer /health on port ${port}` +
    (exitInfo ? ` (exited ${JSON.stringify(exitInfo)})` : '') + `\n--- logs ---\n${out}`);
  err.logs = out;
  err.exit = exitInfo;
  throw err;
}

// A temporary directory for test t's files (a config, a log list, a state
// file). Removed when the test ends, but only after every daemon still
// running is killed: after hooks run in the order they were added, and a
// daemon stopped later could still be writing its state file into it.
function testDir(t, prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(async () => {
    await Promise.all([...live].map((d) => d.stop('SIGKILL')));
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    } catch (e) {
      // a directory left in /tmp must not keep later hooks from running
      console.log(`# could not remove ${dir}: ${e.message}`);
    }
  });
  return dir;
}

async function startDaemon(opts = {}) {
  let last;
  // A port taken between picking and binding: try again with another one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = opts.port || (await freePort());
    try {
      return await startOnce(opts, port);
    } catch (e) {
      last = e;
      if (opts.port || !/Address already in use/.test(e.logs || '')) throw e;
    }
  }
  throw last;
}

// Run the binary to completion (for -n, -V, -h): { code, signal, stdout, stderr }.
function runBin(args, { env, bin, timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    const c = args.indexOf('-c');
    const userEnv = c >= 0 && c + 1 < args.length ? rootUnlessNamed(args[c + 1]) : {};
    const proc = spawn(bin || defaultBin(), args, {
      env: { ...process.env, ...userEnv, ...(env || {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (b) => { stdout += b.toString(); });
    proc.stderr.on('data', (b) => { stderr += b.toString(); });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

module.exports = { startDaemon, runBin, freePort, childrenOf, testDir, ROOT, sleep };
