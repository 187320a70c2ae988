'use strict';
// build/fakelog, the project's fake CT log, started for a test on a free
// port of 127.0.0.1, and the small HTTP client its control endpoints need.

const { spawn } = require('node:child_process');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FAKELOG = process.env.FAKELOG_BIN || path.join(ROOT, 'build', 'fakelog');

// One request; the body as a string. No redirects followed.
function request(method, url, opts = {}) {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, timeout: 5000, ...opts }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

const getJson = async (url) => JSON.parse((await request('GET', url)).body);

// Every fakelog still running is killed when the runner exits.
const running = new Set();
process.on('exit', () => {
  for (const p of running) { try { p.kill('SIGKILL'); } catch (_) { /* gone */ } }
});

// Resolves once the fake log listens. With a test context `t` it is killed
// when that test ends, even on a timeout. logs: name -> { type, key, logId }
// as it printed them. stop() ends it with SIGTERM and resolves its exit
// code; kill() is SIGKILL, at once.
function startFakelog(args, t) {
  const proc = spawn(FAKELOG, ['--port', '0', ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  const kill = () => {
    try { proc.kill('SIGKILL'); } catch (_) { /* gone */ }
    running.delete(proc);
  };
  const stop = () => new Promise((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return r(proc.exitCode);
    proc.once('exit', (code) => { running.delete(proc); r(code); });
    proc.kill('SIGTERM');
  });
  if (t) t.after(kill);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const logs = {};
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`fakelog did not start in 60 s: ${err}`));
    }, 60000);
    proc.stderr.on('data', (b) => { err += b.toString(); });
    proc.stdout.on('data', (b) => {
      out += b.toString();
      const m = /listening 127\.0\.0\.1:(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      for (const line of out.split('\n')) {
        const f = line.split(' ');
        if (f[0] === 'log') logs[f[1]] = { type: f[2], key: f[3], logId: f[4] };
      }
      const port = Number(m[1]);
      const base = `http://127.0.0.1:${port}`;
      resolve({
        proc,
        port,
        logs,
        base,
        url: (p) => `${base}${p}`,
        logUrl: (name) => `${base}/${name}/`,
        state: (name) => getJson(`${base}/control/${name}/state`),
        // The last requests to a log ({path, status, bytes, range, ms}) and
        // its published tree sizes as [size, ms] pairs.
        requests: (name) => getJson(`${base}/control/${name}/requests`),
        growth: (name) => getJson(`${base}/control/${name}/growth`),
        grow: (name, n) => request('POST', `${base}/control/${name}/grow?n=${n}`),
        fault: (name, kind, count, extra = '') => request('POST',
          `${base}/control/${name}/fault?kind=${kind}&count=${count}${extra}`),
        stderr: () => err,
        stop,
        kill,
      });
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      running.delete(proc);
      reject(new Error(`fakelog exited ${code}: ${err}`));
    });
  });
}

module.exports = { FAKELOG, request, getJson, startFakelog };
