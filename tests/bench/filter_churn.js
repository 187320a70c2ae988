'use strict';
// Churn for the filter benchmark: RATE filtered WebSocket clients a second
// connect (one of the paths in PATHS_FILE each), stay HOLD_MS, and leave,
// for SECS seconds; 127.0.0.1 only. Every tenth is a probe with a filter
// of its own that matches every record (keyword "." or a unique term): the
// time from its 101 to its first record is how soon a new filtered client
// starts receiving. Prints "key value" lines.
//   node filter_churn.js PORT RATE SECS PATHS_FILE [HOLD_MS]
const fs = require('node:fs');
const net = require('node:net');

const [port, rate, secs] = process.argv.slice(2, 5).map(Number);
const paths = fs.readFileSync(process.argv[5], 'utf8').split('\n').filter(Boolean);
const hold = Number(process.argv[6] || 500);
let firstRefusal = '-';
const firsts = [];
let probes = 0, probesEmpty = 0;
let started = 0, upgraded = 0, refused = 0, errors = 0, open = 0, i = 0;
const t0 = Date.now();

function one() {
  const s = net.connect(port, '127.0.0.1');
  const probe = started % 10 === 9;
  started++;
  open++;
  let seen = false;
  let t101 = 0;
  let buf = Buffer.alloc(0);
  s.setNoDelay(true);
  s.on('connect', () => {
    const key = require('node:crypto').randomBytes(16).toString('base64');
    const path = probe ? `/?keyword=.,zq${started}probe` : paths[i++ % paths.length];
    s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
  s.on('data', (b) => {
    if (seen && !probe) return;
    if (!seen) {
      seen = true;
      if (!/^HTTP\/1\.1 101/.test(b.toString('latin1', 0, 12))) {
        refused++;
        if (firstRefusal === '-') firstRefusal = JSON.stringify(b.toString('latin1').split('\r\n')[0]);
        s.destroy();
        return;
      }
      upgraded++;
      t101 = process.hrtime.bigint();
      if (!probe) {
        setTimeout(() => s.destroy(), hold);
        return;
      }
      probes++;
      setTimeout(() => { if (!s.destroyed) { probesEmpty++; s.destroy(); } }, 2000);
      b = b.subarray(b.indexOf('\r\n\r\n') + 4);
    }
    // a probe: the first text frame that is not a heartbeat
    buf = Buffer.concat([buf, b]);
    if (buf.length >= 2 && buf.includes('certificate_update')) {
      firsts.push(Number(process.hrtime.bigint() - t101) / 1e6);
      s.destroy();
    }
  });
  s.on('error', () => { errors++; });
  s.on('close', () => { open--; });
}

const per = Math.max(1, Math.round(rate / 100));
const timer = setInterval(() => {
  const due = Math.floor(((Date.now() - t0) / 1000) * rate);
  for (let k = 0; k < per * 10 && started < due; k++) one();
  if (Date.now() - t0 >= secs * 1000) {
    clearInterval(timer);
    setTimeout(() => {
      firsts.sort((a, b) => a - b);
      const qn = (x) => (firsts.length ? firsts[Math.min(firsts.length - 1, Math.floor(x * firsts.length))].toFixed(1) : '-');
      console.log(`probes ${probes}\nprobes_without_record ${probesEmpty}\n` +
        `first_record_p50_ms ${qn(0.5)}\nfirst_record_p99_ms ${qn(0.99)}\nfirst_record_max_ms ${qn(1)}`);
      const el = (Date.now() - t0) / 1000;
      // the generator's own CPU, % of a core: it shares the box's cores
      // with the daemon and the measured clients
      const cpu = process.cpuUsage();
      console.log(`churn_cpu_pct ${((cpu.user + cpu.system) / 1e4 / el).toFixed(1)}`);
      console.log(`churn_started ${started}\nchurn_upgraded ${upgraded}\nchurn_refused ${refused}\n` +
        `churn_errors ${errors}\nchurn_first_refusal ${firstRefusal}\nchurn_per_s ${(upgraded / secs).toFixed(0)}\nchurn_secs ${el.toFixed(1)}`);
      process.exit(0);
    }, 2200);
  }
}, 10);
