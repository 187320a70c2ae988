'use strict';
// TLS (tls.cert, tls.key): the workers serve https:// and wss:// through
// OpenSSL. A throwaway CA and server certificate are made with the openssl
// CLI; curl --cacert and node's ws with that CA stream every record in
// order; plain HTTP on the TLS port is refused with a plain 400; a client
// that never sends its ClientHello is dropped by the header timeout; a bad
// certificate is refused at start (naming the file) and, on SIGHUP, the
// running one is kept; a renewed certificate is served after SIGHUP.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const { startDaemon, runBin, sleep } = require('./lib/daemon');
const c = require('./lib/clients');

const feed = c.loadFeed(c.feedPath());

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// CA, and a server certificate for 127.0.0.1 signed by it (serial given).
function makePki(dir) {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=certstream test CA'], dir);
  fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const leaf = (name, serial) => {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=127.0.0.1'], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key',
      '-set_serial', serial, '-out', `${name}.pem`, '-days', '2', '-extfile', 'ext'], dir);
  };
  leaf('srv', '4097');
  leaf('renewed', '8193');
  return {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'live.pem'),
    key: path.join(dir, 'live.key'),
    install(name) {
      fs.copyFileSync(path.join(dir, `${name}.pem`), this.cert);
      fs.copyFileSync(path.join(dir, `${name}.key`), this.key);
    },
  };
}

// curl, resolving { code, stdout, stderr }; killed after ms (streams).
function curl(args, ms) {
  return new Promise((resolve) => {
    const p = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b) => { stdout += b.toString(); });
    p.stderr.on('data', (b) => { stderr += b.toString(); });
    const timer = setTimeout(() => p.kill('SIGTERM'), ms);
    p.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

// The serial of the certificate the server presents now.
function peerSerial(port, ca) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(parseInt(serial, 16));
    });
    s.on('error', reject);
  });
}

function sseEvents(text) {
  return text.split('\n\n').map((blk) => blk.split('\n').filter((l) => l.startsWith('data: '))
    .map((l) => l.slice(6)).join('\n')).filter((d) => d.length > 0);
}

// A daemon serving TLS with a fresh PKI in a temporary folder, started once
// https /health answers; serverExtra is YAML appended after tls: and its
// server: key. Returns { d, pki, dir, caPem }.
async function startTls(prefix, { workers, rate, serverExtra }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const pki = makePki(dir);
  pki.install('srv');
  const caPem = fs.readFileSync(pki.ca);
  const conf = c.confFor(feed.file, {
    rate,
    extra: ['tls:', `  cert: ${JSON.stringify(pki.cert)}`, `  key: ${JSON.stringify(pki.key)}`,
      'server:', ...serverExtra, ''].join('\n'),
  });
  const d = await startDaemon({ workers, conf, waitHealth: false });
  const deadline = Date.now() + 15000;
  for (;;) {
    const r = await curl(['-sS', '--cacert', pki.ca, d.url('/health', 'https')], 2000);
    if (r.code === 0 && r.stdout.trim() === 'OK') break;
    assert.ok(Date.now() < deadline, `no https /health: ${r.stderr}\n${d.logs()}`);
    await sleep(100);
  }
  return { d, pki, dir, caPem };
}

describe('TLS', () => {
  let d;
  let pki;
  let dir;
  let caPem;

  before(async () => {
    ({ d, pki, dir, caPem } = await startTls('certstream-tls-',
      { workers: 2, rate: 200, serverExtra: ['  header_timeout_secs: 2'] }));
  });
  after(async () => {
    if (d) await d.stop('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // A /full-stream wss client of daemon dd once it streams (dd starts
  // without waiting for its health: its TLS port refuses plain HTTP).
  async function streamingWss(dd) {
    let w;
    for (let i = 0; ; i++) {
      w = c.openWs(dd.url('/full-stream', 'wss'), { ca: caPem });
      try { await w.opened; break; } catch (e) {
        assert.ok(i < 100, `no wss: ${e.message}`);
        await sleep(100);
      }
    }
    await c.waitFor(() => w.messages.length >= 200, 10000, 'streaming');
    return w;
  }

  it('curl --cacert streams /sse over https, every record in order, full form too', async () => {
    for (const stream of ['lite', 'full']) {
      const r = await curl(['-sS', '-N', '--cacert', pki.ca, d.url(`/sse?stream=${stream}`, 'https')], 2500);
      const msgs = sseEvents(r.stdout).map((x) => JSON.parse(x));
      assert.ok(msgs.length >= 100, `${stream}: ${msgs.length} events in 2.5 s (${r.stderr})`);
      c.checkInOrder(feed, msgs, `https sse ${stream}`);
      for (const m of msgs.slice(0, 5)) c.checkForm(feed, m, stream);
    }
  });

  it('node ws with the test CA streams over wss://, every record in order', async () => {
    const lite = c.openWs(d.url('/', 'wss'), { ca: caPem });
    const full = c.openWs(d.url('/full-stream', 'wss'), { ca: caPem });
    try {
      await Promise.all([lite.opened, full.opened]);
      await c.waitFor(() => lite.messages.length >= 200 && full.messages.length >= 200, 15000,
        '200 messages on each wss stream');
      c.checkInOrder(feed, lite.messages, 'wss lite');
      c.checkInOrder(feed, full.messages, 'wss full');
      c.checkForm(feed, full.messages[0], 'full');
      assert.strictEqual(lite.error, null);
    } finally {
      lite.close();
      full.close();
    }
  });

  it('a wss client that stops reading for 3 s at 2,000 records/s (OpenSSL holds a record) resumes with every record in order', async () => {
    const conf = c.confFor(feed.file, {
      rate: 2000,
      extra: ['tls:', `  cert: ${JSON.stringify(pki.cert)}`, `  key: ${JSON.stringify(pki.key)}`, ''].join('\n'),
    });
    const fast = await startDaemon({ workers: 1, conf, waitHealth: false });
    try {
      const w = await streamingWss(fast);
      w.ws._socket.pause();
      await sleep(3000);
      const atResume = w.messages.length;
      w.ws._socket.resume();
      await c.waitFor(() => w.messages.length >= atResume + 4000, 20000, '4,000 records after the pause');
      w.close();
      assert.strictEqual(w.error, null);
      c.checkInOrder(feed, w.messages, 'wss after a stall');
      const { body } = await curl(['-sS', '--cacert', pki.ca, fast.url('/metrics', 'https')], 3000)
        .then((r) => ({ body: r.stdout }));
      assert.match(body, /^certstream_clients_lapped_total 0$/m);
      const sent = Number(body.match(/^certstream_stream_bytes_sent_total\{stream="full",protocol="websocket"\} (\d+)$/m)[1]);
      assert.ok(sent > 8 << 20, `only ${sent} bytes sent: the stall did not fill the socket`);
    } finally {
      await fast.stop('SIGKILL');
    }
  });

  it('a wss client lapped while a TLS chunk had ended inside a frame gets the end of that frame, skips ahead and stays connected', async () => {
    // A small ring and a long stall: the client is lapped. TLS writes go out
    // in 16 KiB chunks, so its last write stopped inside a record; the rest
    // of that record was kept aside and still arrives whole.
    const conf = c.confFor(feed.file, {
      rate: 2000,
      extra: ['buffer_size: 1024', 'tls:', `  cert: ${JSON.stringify(pki.cert)}`,
        `  key: ${JSON.stringify(pki.key)}`, ''].join('\n'),
    });
    const fast = await startDaemon({ workers: 1, conf, waitHealth: false });
    try {
      const w = await streamingWss(fast);
      w.ws._socket.pause();
      await sleep(5000); // 10,000 records: the 1,024-slot ring laps it
      const atResume = w.messages.length;
      w.ws._socket.resume();
      await c.waitFor(() => w.messages.length >= atResume + 4000 || w.closed !== null, 30000,
        '4,000 records after the stall');
      assert.strictEqual(w.closed, null, `closed: ${JSON.stringify(w.closed)}`);
      assert.strictEqual(w.error, null); // every frame was whole JSON (openWs parses each)
      w.close();
      const metrics = (await curl(['-sS', '--cacert', pki.ca, fast.url('/metrics', 'https')], 3000)).stdout;
      const m = (name) => Number((metrics.match(new RegExp(`^${name} (\\d+)$`, 'm')) || [])[1]);
      assert.ok(m('certstream_clients_lapped_total') >= 1, 'lapped');
      assert.ok(m('certstream_messages_skipped_total') > 0, 'skipped');
      assert.strictEqual(m('certstream_torn_closed_total'), 0);
      // in feed order apart from the one jump the lap made
      let jumps = 0;
      for (let i = 1; i < w.messages.length; i++) {
        const a = feed.pos.get(c.keyOf(w.messages[i - 1]));
        const b = feed.pos.get(c.keyOf(w.messages[i]));
        assert.notStrictEqual(b, undefined, `message ${i} is not a feed record`);
        if (b !== (a + 1) % feed.records.length) jumps++;
      }
      assert.ok(jumps <= 2, `${jumps} jumps in the order`);
    } finally {
      await fast.stop('SIGKILL');
    }
  });

  it('the same client without the CA is refused (the certificate is checked)', async () => {
    const w = c.openWs(d.url('/', 'wss'));
    await assert.rejects(w.opened, /self[- ]signed|unable to (get|verify)/i);
    w.close();
  });

  it('plain HTTP on the TLS port gets a plain 400 and a clean close', async () => {
    const r = await new Promise((resolve, reject) => {
      http.get(d.url('/health'), (res) => {
        let body = '';
        res.on('data', (x) => { body += x; });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      }).on('error', reject);
    });
    assert.strictEqual(r.status, 400);
    assert.match(r.body, /speaks TLS/);
  });

  it('a client that never finishes its handshake is closed by the header timeout', async () => {
    const t0 = Date.now();
    const ended = await new Promise((resolve) => {
      const s = net.connect(d.port, '127.0.0.1');
      s.on('connect', () => s.write(Buffer.from([0x16, 0x03, 0x01])));  // a ClientHello begun
      s.on('close', () => resolve(Date.now() - t0));
      s.on('error', () => {});
      s.setTimeout(8000, () => { s.destroy(); resolve(-1); });
    });
    assert.ok(ended > 0, 'the stalled handshake was never closed');
    // Counted in ms from the accept (after t0), checked every quarter
    // second: never early; the upper bound leaves room for a busy machine.
    assert.ok(ended >= 1990 && ended < 4500, `closed after ${ended} ms (header timeout 2 s)`);
  });

  it('on SIGHUP a bad certificate is refused and the running one kept; a renewed one is served', async () => {
    assert.strictEqual(await peerSerial(d.port, caPem), 4097);
    fs.writeFileSync(pki.cert, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
    process.kill(d.pid, 'SIGHUP');
    await c.waitFor(() => /keeping the running TLS certificate/.test(d.logs()), 5000, 'the refusal logged');
    assert.match(d.logs(), new RegExp(`tls\\.cert ${pki.cert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.strictEqual(await peerSerial(d.port, caPem), 4097, 'the old certificate is still served');
    const r = await curl(['-sS', '--cacert', pki.ca, d.url('/health', 'https')], 3000);
    assert.strictEqual(r.stdout.trim(), 'OK');

    pki.install('renewed');
    process.kill(d.pid, 'SIGHUP');
    const deadline = Date.now() + 5000;
    let serial;
    // Both workers must serve the renewed one (connections spread over them).
    for (let ok = 0; ok < 6;) {
      serial = await peerSerial(d.port, caPem);
      ok = serial === 8193 ? ok + 1 : 0;
      assert.ok(Date.now() < deadline, `still serial ${serial} after SIGHUP`);
      if (serial !== 8193) await sleep(50);
    }
  });

  it('a certificate or key that cannot be used is refused at start, the file named', async () => {
    const bad = path.join(dir, 'bad.conf');
    const missing = path.join(dir, 'nope.pem');
    fs.writeFileSync(bad, c.confFor(feed.file, {
      extra: `tls:\n  cert: ${JSON.stringify(missing)}\n  key: ${JSON.stringify(pki.key)}\n`,
    }));
    let r = await runBin(['-n', '-c', bad]);
    assert.strictEqual(r.code, 1, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`tls.cert ${missing}`), r.stderr);
    r = await runBin(['-c', bad], { env: { CERTSTREAM_PORT: '1', CERTSTREAM_HOST: '127.0.0.1' } });
    assert.strictEqual(r.code, 1, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`tls.cert ${missing}`), r.stderr);

    // A key that is not the certificate's.
    fs.writeFileSync(bad, c.confFor(feed.file, {
      extra: `tls:\n  cert: ${JSON.stringify(path.join(dir, 'srv.pem'))}\n  key: ${JSON.stringify(path.join(dir, 'renewed.key'))}\n`,
    }));
    r = await runBin(['-n', '-c', bad]);
    assert.strictEqual(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /tls\.key.*renewed\.key.*(mismatch|does not match)/);
  });
});

// A TLS client refused by the connection limits gets the answer a plain one
// gets (429 or 503 as JSON, with Retry-After), over TLS, not a bare close in
// the middle of its handshake.
describe('TLS with connection limits', () => {
  let d;
  let pki;
  let dir;
  let caPem;

  before(async () => {
    ({ d, pki, dir, caPem } = await startTls('certstream-tls-limits-', {
      workers: 1, rate: 50, serverExtra: ['  header_timeout_secs: 20',
        'connection_limit:', '  enabled: true', '  max_connections: 100', '  per_ip_limit: 2', '  exempt_loopback: false'],
    }));
  });
  after(async () => {
    if (d) await d.stop('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // A finished handshake that sends nothing: it holds its place.
  function holdTls() {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: d.port, ca: caPem, servername: 'localhost' },
        () => resolve(s));
      s.on('error', reject);
    });
  }

  it('a TLS client over the per-address limit gets HTTP 429 over TLS, then a clean close', async () => {
    const held = [await holdTls(), await holdTls()];
    try {
      const r = await curl(['-sS', '-i', '--cacert', pki.ca, d.url('/health', 'https')], 5000);
      assert.strictEqual(r.code, 0, `curl failed (a bare close?): ${r.stderr}`);
      assert.match(r.stdout, /^HTTP\/1\.1 429 /, r.stdout);
      assert.match(r.stdout, /\r\nRetry-After: 1\r\n/i);
      const body = r.stdout.slice(r.stdout.indexOf('\r\n\r\n') + 4);
      assert.match(JSON.parse(body).error, /too many connections from this address/);
    } finally {
      held.forEach((s) => s.destroy());
    }
    // Their places are given back: the address is served again.
    const deadline = Date.now() + 5000;
    for (;;) {
      const r = await curl(['-sS', '--cacert', pki.ca, d.url('/health', 'https')], 2000);
      if (r.code === 0 && r.stdout.trim() === 'OK') break;
      assert.ok(Date.now() < deadline, `not served again once the held connections closed: ${r.stdout}${r.stderr}`);
      await sleep(100);
    }
  });
});
