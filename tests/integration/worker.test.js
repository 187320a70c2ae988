'use strict';
// The worker process on its own: build/worker_harness forks one real worker
// (worker_main) on an anonymous segment and publishes synthetic records into
// the ring on command, so these tests pin the worker's behaviour without the
// master or the ingest. Clients are real: `ws`, raw sockets for what `ws`
// refuses to send, raw HTTP for SSE.
//
// WORKER_HARNESS_BIN overrides the binary (e.g. build/worker_harness-asan).

const test = require('node:test');
const assert = require('node:assert');
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const WebSocket = require(path.join(ROOT, 'tests', 'node', 'node_modules', 'ws'));
// The sanitizer harness goes with the sanitizer daemon (INTEGRATION_BIN).
const BIN = process.env.WORKER_HARNESS_BIN || path.join(ROOT, 'build',
  /-asan$/.test(process.env.CERTSTREAM_BIN || '') ? 'worker_harness-asan' : 'worker_harness');

const ASAN = /-asan$/.test(BIN);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

// ---- the harness process --------------------------------------------------

class Harness {
  static async start(args = []) {
    const h = new Harness();
    h.proc = spawn(BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    h.lines = [];
    h.pos = 0;
    h.stderr = '';
    h.exited = null;
    let part = '';
    h.proc.stdout.on('data', (d) => {
      part += d.toString();
      const ls = part.split('\n');
      part = ls.pop();
      h.lines.push(...ls);
    });
    h.proc.stderr.on('data', (d) => { h.stderr += d.toString(); });
    h.proc.on('exit', (code, sig) => { h.exited = { code, sig }; });
    h.port = Number((await h.next('listening')).split(' ')[1]);
    h.workerPid = Number((await h.next('worker')).split(' ')[1]);
    return h;
  }

  async next(prefix, ms = 30000) {
    let found = -1;
    await waitFor(() => {
      for (let i = this.pos; i < this.lines.length; i++) {
        if (this.lines[i].startsWith(prefix)) { found = i; return true; }
      }
      if (this.exited) throw new Error(`harness exited (${JSON.stringify(this.exited)}): ${this.stderr}`);
      return false;
    }, ms, `harness line "${prefix}"`);
    this.pos = found + 1;
    return this.lines[found];
  }

  async cmd(line, prefix, ms) {
    this.proc.stdin.write(`${line}\n`);
    return this.next(prefix, ms);
  }

  // Publish n records (rate per second, 0 = as fast as the ring takes them).
  async publish(n, rate = 0, ms = 60000) {
    const l = await this.cmd(`publish ${n} ${rate}`, 'published', ms);
    return Number(l.split(' ')[3]); // head after
  }

  async term() {
    const l = await this.cmd('term', 'exit', 10000);
    const [, status, ms] = l.split(' ');
    return { status: Number(status), ms: Number(ms) };
  }

  async stop() {
    if (this.exited) return;
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await waitFor(() => this.exited !== null, 6000, 'harness exit');
    clearTimeout(t);
    // The sanitizer build reports memory errors and leaks on stderr.
    assert.doesNotMatch(this.stderr, /ERROR: (Address|Leak)Sanitizer|runtime error:/, this.stderr);
  }

  rss() {
    const s = fs.readFileSync(`/proc/${this.workerPid}/status`, 'utf8');
    const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) || [0, 0])[1]);
    return { vmrss: kb('VmRSS'), anon: kb('RssAnon') };
  }

  url(p, scheme = 'ws') { return `${scheme}://127.0.0.1:${this.port}${p}`; }
}

// ---- clients ---------------------------------------------------------------

const indexOf = (m) => (m.message_type === 'dns_entries' ? m.cert_index : m.data.cert_index);

function openWs(url) {
  const c = { messages: [], heartbeats: [], pings: 0, close: null, open: false };
  c.ws = new WebSocket(url, { perMessageDeflate: false });
  c.ws.on('open', () => { c.open = true; });
  c.ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.message_type === 'heartbeat') c.heartbeats.push(m);
    else c.messages.push(m);
  });
  c.ws.on('ping', () => { c.pings++; });
  c.ws.on('close', (code) => { c.close = code; });
  c.ws.on('error', (e) => { c.error = e; });
  return c;
}

// Records first..first+count-1, each exactly once, in order.
function checkSeq(msgs, first, count, what) {
  assert.equal(msgs.length, count, `${what}: ${msgs.length} records, want ${count}`);
  for (let i = 0; i < msgs.length; i++) {
    const idx = indexOf(msgs[i]);
    if (idx !== first + i) assert.fail(`${what}: record ${i} has cert_index ${idx}, want ${first + i}`);
  }
}

// Server frames (unmasked) out of a raw socket's bytes after the HTTP head.
function parseFrames(st) {
  if (st.head === null) {
    const i = st.buf.indexOf('\r\n\r\n');
    if (i < 0) return;
    st.head = st.buf.subarray(0, i).toString();
    st.buf = st.buf.subarray(i + 4);
  }
  for (;;) {
    if (st.buf.length < 2) return;
    let len = st.buf[1] & 0x7f;
    let off = 2;
    if (len === 126) {
      if (st.buf.length < 4) return;
      len = st.buf.readUInt16BE(2); off = 4;
    } else if (len === 127) {
      if (st.buf.length < 10) return;
      len = Number(st.buf.readBigUInt64BE(2)); off = 10;
    }
    if (st.buf.length < off + len) return;
    st.frames.push({ op: st.buf[0] & 0x0f, fin: (st.buf[0] & 0x80) !== 0, payload: Buffer.from(st.buf.subarray(off, off + len)) });
    st.buf = st.buf.subarray(off + len);
  }
}

// A raw TCP client: sends `request` (string or Buffer), collects bytes.
function rawClient(port, request, { frames = false, from = undefined } = {}) {
  const st = { buf: Buffer.alloc(0), all: [], head: null, frames: [], closed: false, bytes: 0 };
  st.sock = net.connect({ port, host: '127.0.0.1', localAddress: from });
  st.sock.on('data', (d) => {
    st.bytes += d.length;
    if (frames) {
      st.buf = Buffer.concat([st.buf, d]);
      parseFrames(st);
    } else {
      st.all.push(d);
    }
  });
  st.sock.on('close', () => { st.closed = true; });
  st.sock.on('error', () => {});
  if (request !== null) st.sock.write(request);
  st.text = () => Buffer.concat(st.all).toString();
  st.closeCode = () => {
    const f = st.frames.find((x) => x.op === 8);
    return f && f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
  };
  return st;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
function upgrade(p = '/', { version = '13', key = KEY, extra = '' } = {}) {
  return `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\n${extra}\r\n`;
}

// A client frame; masked unless told otherwise.
function frame(op, payload, { fin = true, mask = true, declaredLen = null } = {}) {
  const len = declaredLen === null ? payload.length : declaredLen;
  let head;
  if (len < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | op, (mask ? 0x80 : 0) | len]);
  } else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | op; head[1] = (mask ? 0x80 : 0) | 126; head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | op; head[1] = (mask ? 0x80 : 0) | 127; head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!mask) return Buffer.concat([head, payload]);
  const key = crypto.randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([head, key, body]);
}

async function httpGet(port, p, { method = 'GET', headers = '' } = {}) {
  const st = rawClient(port, `${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`);
  await waitFor(() => st.closed, 5000, `${method} ${p} answer`);
  const text = st.text();
  const i = text.indexOf('\r\n\r\n');
  const head = text.slice(0, i);
  return {
    status: Number(head.split(' ')[1]),
    head,
    header: (n) => { const m = head.match(new RegExp(`^${n}:\\s*(.*)$`, 'mi')); return m ? m[1].trim() : null; },
    body: text.slice(i + 4),
  };
}

// SSE over a raw socket: events {id, data} and comment lines.
function openSse(port, p, headers = '') {
  const st = rawClient(port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${headers}\r\n`);
  st.events = [];
  st.comments = [];
  st.gaps = []; // `event: gap` (as EventSource, apart from messages)
  let text = '';
  let headDone = false;
  st.sock.on('data', (d) => {
    text += d.toString();
    if (!headDone) {
      const i = text.indexOf('\r\n\r\n');
      if (i < 0) return;
      st.head = text.slice(0, i);
      text = text.slice(i + 4);
      headDone = true;
    }
    let j;
    while ((j = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, j);
      text = text.slice(j + 2);
      const ev = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) st.comments.push(line);
        else if (line.startsWith('id: ')) ev.id = Number(line.slice(4));
        else if (line.startsWith('data: ')) ev.data = JSON.parse(line.slice(6));
        else if (line.startsWith('retry:')) ev.retry = line;
        else if (line.startsWith('event: ')) ev.event = line.slice(7);
      }
      if (ev.data !== undefined && ev.event === 'gap') st.gaps.push(ev.data);
      else if (ev.data !== undefined) st.events.push(ev);
    }
  });
  return st;
}

async function metrics(port) {
  const r = await httpGet(port, '/metrics');
  assert.equal(r.status, 200);
  const get = (name) => {
    const m = r.body.match(new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm'));
    return m ? Number(m[1]) : null;
  };
  return { text: r.body, get };
}

// ---- tests -----------------------------------------------------------------

test('every stream path delivers every record in order, in its own form', async () => {
  const h = await Harness.start();
  try {
    const ws = {
      lite: openWs(h.url('/')),
      full: openWs(h.url('/full-stream')),
      fullSlash: openWs(h.url('/full-stream/')),
      domains: openWs(h.url('/domains-only')),
    };
    const sse = {
      lite: openSse(h.port, '/sse'),
      full: openSse(h.port, '/sse?stream=full'),
      domains: openSse(h.port, '/sse?stream=domains'),
    };
    await waitFor(() => Object.values(ws).every((c) => c.open), 5000, 'WebSocket opens');
    await waitFor(() => Object.values(sse).every((c) => c.head), 5000, 'SSE heads');
    await sleep(50);
    const N = 3000;
    await h.publish(N);
    await waitFor(() => Object.values(ws).every((c) => c.messages.length >= N) &&
      Object.values(sse).every((c) => c.events.length >= N), 20000, 'every record on every client');
    await sleep(100);
    for (const [k, c] of Object.entries(ws)) checkSeq(c.messages, 0, N, `ws ${k}`);
    for (const [k, c] of Object.entries(sse)) {
      checkSeq(c.events.map((e) => e.data), 0, N, `sse ${k}`);
      c.events.forEach((e, i) => { if (e.id !== i) assert.fail(`sse ${k}: event ${i} has id ${e.id}`); });
    }
    for (const m of [ws.lite.messages[7], sse.lite.events[7].data]) {
      assert.equal(m.message_type, 'certificate_update');
      assert.equal(m.data.leaf_cert.as_der, undefined, 'lite has no as_der');
      assert.equal(m.data.chain, undefined, 'lite has no chain');
    }
    for (const m of [ws.full.messages[7], ws.fullSlash.messages[7], sse.full.events[7].data]) {
      assert.equal(typeof m.data.leaf_cert.as_der, 'string');
      assert.ok(Array.isArray(m.data.chain));
    }
    for (const m of [ws.domains.messages[7], sse.domains.events[7].data]) {
      assert.equal(m.message_type, 'dns_entries');
      assert.deepEqual(m.data, ['h7.example.com', 'www.h7.example.com']);
    }
    assert.match(sse.lite.head, /^HTTP\/1\.1 200/);
    assert.match(sse.lite.head, /content-type: text\/event-stream/i);
    const m = await metrics(h.port);
    assert.ok(m.get('certstream_messages_sent_total') >= 7 * N, 'messages_sent counts every delivery');
    assert.equal(m.get('certstream_clients'), 7);
    // Every delivered record lands in the latency histogram, and quickly.
    assert.ok(m.get('certstream_delivery_latency_seconds_count') >= 7 * N);
    assert.ok(m.get('certstream_delivery_latency_seconds_sum') / m.get('certstream_delivery_latency_seconds_count') < 1,
      'mean seen-to-send latency under a second');
    assert.match(m.text, /^certstream_connections\{stream="full",protocol="websocket"\} 2$/m);
    assert.match(m.text, /^certstream_connections\{stream="domains",protocol="sse"\} 1$/m);
    for (const c of Object.values(ws)) c.ws.close();
    for (const c of Object.values(sse)) c.sock.destroy();
  } finally {
    await h.stop();
  }
});

test('malformed requests get their codes while a good client on the worker misses nothing', async () => {
  const h = await Harness.start(['--max-frame', '4096']);
  try {
    const good = openWs(h.url('/'));
    await waitFor(() => good.open, 5000, 'good client open');
    const N = 2000;
    const pub = h.publish(N, 4000);

    // Unmasked client frame -> close 1002.
    const unmasked = rawClient(h.port, upgrade('/'), { frames: true });
    // Frame over max_frame_bytes -> close 1009 (header alone is enough).
    const big = rawClient(h.port, upgrade('/domains-only'), { frames: true });
    // Fragmented message whose pieces add up past the limit -> 1009.
    const bigFrag = rawClient(h.port, upgrade('/'), { frames: true });
    // Fragmented message within the limit, a ping: connection stays, pong echoes.
    const frag = rawClient(h.port, upgrade('/'), { frames: true });
    // Continuation without a start -> 1002.
    const badCont = rawClient(h.port, upgrade('/'), { frames: true });
    // Text that is not UTF-8, or ends mid-character -> 1007.
    const badUtf8 = rawClient(h.port, upgrade('/'), { frames: true });
    const cutUtf8 = rawClient(h.port, upgrade('/'), { frames: true });
    const lateUtf8 = rawClient(h.port, upgrade('/'), { frames: true }); // bad byte past the first read
    const ws5 = [unmasked, big, bigFrag, frag, badCont, badUtf8, cutUtf8, lateUtf8];
    await waitFor(() => ws5.every((c) => c.head !== null), 5000, '101s');
    for (const c of ws5) assert.match(c.head, /^HTTP\/1\.1 101/);
    unmasked.sock.write(frame(1, Buffer.from('hello'), { mask: false }));
    big.sock.write(frame(2, Buffer.alloc(8), { declaredLen: 100000 }));
    bigFrag.sock.write(frame(1, Buffer.alloc(3000), { fin: false }));
    bigFrag.sock.write(frame(0, Buffer.alloc(3000), { fin: true }));
    frag.sock.write(Buffer.concat([
      frame(1, Buffer.from('one '), { fin: false }),
      frame(9, Buffer.from('are you there')),
      frame(0, Buffer.from('two '), { fin: false }),
      frame(0, Buffer.from('three'), { fin: true }),
      // A euro sign split across fragments is valid UTF-8.
      frame(1, Buffer.from([0x41, 0xe2, 0x82]), { fin: false }),
      frame(0, Buffer.from([0xac, 0x42]), { fin: true }),
    ]));
    badUtf8.sock.write(frame(1, Buffer.from([0x41, 0xc3, 0x28, 0x42])));
    cutUtf8.sock.write(frame(1, Buffer.from([0x41, 0xe2, 0x82])));
    lateUtf8.sock.write(frame(1, Buffer.concat([Buffer.alloc(3000, 0x41), Buffer.from([0xff])])));
    badCont.sock.write(frame(0, Buffer.from('orphan')));

    // HTTP-level refusals.
    const hugeHead = rawClient(h.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(65536)}\r\n\r\n`);
    const v12 = rawClient(h.port, upgrade('/', { version: '12' }));
    const badKey = rawClient(h.port, upgrade('/', { key: 'not-a-key' }));
    const post = rawClient(h.port, upgrade('/').replace('GET', 'POST'));
    const garbage = rawClient(h.port, Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n', 'latin1'));
    const http = [hugeHead, v12, badKey, post, garbage];
    await waitFor(() => http.every((c) => c.closed), 5000, 'HTTP refusals and closes');
    assert.match(hugeHead.text(), /^HTTP\/1\.1 431 /);
    assert.match(v12.text(), /^HTTP\/1\.1 426 /);
    assert.match(v12.text(), /\r\nSec-WebSocket-Version: 13\r\n/i);
    assert.match(badKey.text(), /^HTTP\/1\.1 400 /);
    assert.match(post.text(), /^HTTP\/1\.1 405 /);
    assert.match(garbage.text(), /^HTTP\/1\.1 400 /);
    for (const c of http) assert.match(c.text(), /\r\n\r\n\{"error":"[^"]+"\}\n$/, 'errors are JSON');

    await waitFor(() => [unmasked, big, bigFrag, badCont, badUtf8, cutUtf8, lateUtf8].every((c) => c.closeCode() !== null), 5000, 'close frames');
    assert.equal(badUtf8.closeCode(), 1007);
    assert.equal(lateUtf8.closeCode(), 1007);
    assert.equal(cutUtf8.closeCode(), 1007);
    assert.equal(unmasked.closeCode(), 1002);
    assert.equal(big.closeCode(), 1009);
    assert.equal(bigFrag.closeCode(), 1009);
    assert.equal(badCont.closeCode(), 1002);
    await waitFor(() => [unmasked, big, bigFrag, badCont].every((c) => c.closed), 5000, 'closed after close frame');

    await waitFor(() => frag.frames.some((f) => f.op === 0xA), 5000, 'pong');
    assert.equal(frag.frames.find((f) => f.op === 0xA).payload.toString(), 'are you there');

    await pub;
    await waitFor(() => good.messages.length >= N, 10000, 'good client records');
    checkSeq(good.messages, 0, N, 'good client');
    assert.equal(good.close, null, 'good client still open');
    assert.equal(frag.closed, false, 'fragmented sender still open');
    assert.equal(frag.closeCode(), null);
    // The fragmented sender kept streaming too (its frames are records).
    const fragRecords = frag.frames.filter((f) => f.op === 1).map((f) => JSON.parse(f.payload));
    checkSeq(fragRecords.filter((m) => m.message_type !== 'heartbeat'), indexOf(fragRecords[0]), fragRecords.length, 'fragment sender');

    // A client close gets its code echoed.
    frag.sock.write(frame(8, Buffer.from([0x0f, 0xa0, 0x62, 0x79, 0x65])));
    await waitFor(() => frag.closeCode() !== null && frag.closed, 5000, 'close echo');
    assert.equal(frag.closeCode(), 4000);

    const m = await metrics(h.port);
    assert.ok(m.get('certstream_http_errors_total') >= 5);
    good.ws.close();
  } finally {
    await h.stop();
  }
});

test('a client that never reads is lapped, counted, and costs no memory; a reader beside it misses nothing', async () => {
  const h = await Harness.start(['--slots', '16384', '--data', String(16 << 20)]);
  try {
    const reader = openWs(h.url('/'));
    const stuck = rawClient(h.port, upgrade('/full-stream'));
    await waitFor(() => reader.open && stuck.bytes > 0, 5000, 'clients open');
    stuck.sock.pause(); // never read again: the kernel buffers fill up
    // Warm up: the ring's pages are touched once (shared memory counts in
    // VmRSS); from here on only a leak could grow the worker.
    const WARM = 30000;
    await h.publish(WARM, 30000);
    await waitFor(() => reader.messages.length >= WARM, 20000, 'warm-up records');
    await sleep(200);
    const before = h.rss();
    const N = 100000;
    await h.publish(N, 25000);
    await waitFor(() => reader.messages.length >= WARM + N, 30000, 'all records at the reader');
    await sleep(200);
    const after = h.rss();
    checkSeq(reader.messages, 0, WARM + N, 'reading client');
    const m = await metrics(h.port);
    const skipped = m.get('certstream_messages_skipped_total');
    const lapped = m.get('certstream_clients_lapped_total');
    assert.ok(lapped >= 1, `lapped ${lapped}`);
    assert.ok(skipped > 0, `skipped ${skipped}`);
    // Without the cursor design the stuck client would hold ~100 MB.
    assert.ok(after.vmrss - before.vmrss < 2048,
      `worker VmRSS grew ${after.vmrss - before.vmrss} kB (${before.vmrss} -> ${after.vmrss})`);
    assert.ok(after.anon - before.anon < 1024, `worker RssAnon grew ${after.anon - before.anon} kB`);
    console.log(`# stuck client: lapped ${lapped}, skipped ${skipped}; worker VmRSS ${before.vmrss} -> ${after.vmrss} kB`);
    reader.ws.close();
    stuck.sock.destroy();
  } finally {
    await h.stop();
  }
});

test('clients that read slowly through a burst are lapped and skip ahead, never torn and closed', async () => {
  // A burst far faster than these clients read (as in a catch-up after
  // downtime). A lapped client that landed on the oldest record would be
  // overwritten by the very next publish, in the middle of its next writev:
  // torn and closed; so would one that writes records a few short of the
  // tail. Landing with headroom, and passed on before it gets that close,
  // it keeps streaming whole frames. The ring holds ~30,000 of these
  // records (0.6 s of the burst): the worker may stall for tens of ms on
  // this shared machine without a record it writes being reused.
  const h = await Harness.start(['--slots', '32768', '--data', String(128 << 20), '--pad', '2000']);
  const timers = [];
  try {
    const slow = [];
    for (let i = 0; i < 4; i++) {
      const st = rawClient(h.port, upgrade('/full-stream'), { frames: true });
      slow.push(st);
    }
    await waitFor(() => slow.every((st) => st.head !== null), 5000, 'slow clients upgraded');
    for (const st of slow) {
      // read now and then: far slower than the burst (~100 MB/s)
      st.sock.pause();
      timers.push(setInterval(() => {
        st.sock.resume();
        setImmediate(() => st.sock.pause());
      }, 50));
    }
    await h.publish(150000, 50000);
    for (const st of slow) st.sock.resume();
    await h.publish(50, 0);
    await sleep(300);
    const m = await metrics(h.port);
    const lapped = m.get('certstream_clients_lapped_total');
    assert.ok(lapped >= 4, `lapped ${lapped}`);
    assert.equal(m.get('certstream_torn_closed_total'), 0, 'clients closed for a torn write');
    for (const [i, st] of slow.entries()) {
      assert.ok(!st.closed, `slow client ${i} was closed`);
      const text = st.frames.filter((f) => f.op === 1);
      assert.ok(text.length > 0, `slow client ${i}: no records`);
      let last = -1;
      for (const f of text) {
        const idx = indexOf(JSON.parse(f.payload.toString())); // a torn frame is not JSON
        assert.ok(idx > last, `slow client ${i}: cert_index ${idx} after ${last}`);
        last = idx;
      }
      assert.ok(!st.frames.some((f) => f.op === 8), `slow client ${i} got a close frame`);
    }
    console.log(`# slow readers: lapped ${lapped}, skipped ${m.get('certstream_messages_skipped_total')}`);
  } finally {
    for (const t of timers) clearInterval(t);
    await h.stop();
  }
});

test('SSE resumes from Last-Event-ID without loss, and says what was skipped when it is gone', async () => {
  const h = await Harness.start(['--slots', '256', '--data', String(1 << 20)]);
  try {
    await h.publish(50);
    const a = openSse(h.port, '/sse?stream=domains');
    await waitFor(() => a.head, 5000, 'SSE head');
    await h.publish(30);
    await waitFor(() => a.events.length >= 30, 5000, 'first events');
    const last = a.events[a.events.length - 1].id;
    assert.equal(last, 79);
    a.sock.destroy();
    await h.publish(40); // missed while away: ids 80..119
    const b = openSse(h.port, '/sse?stream=domains', `Last-Event-ID: ${last}\r\n`);
    await waitFor(() => b.events.length >= 40, 5000, 'resumed backlog');
    await h.publish(10);
    await waitFor(() => b.events.length >= 50, 5000, 'live after resume');
    checkSeq(b.events.map((e) => e.data), 80, 50, 'resumed stream');
    assert.deepEqual(b.events.map((e) => e.id), Array.from({ length: 50 }, (_, i) => 80 + i));
    assert.deepEqual(b.comments, [], 'nothing skipped');

    // Same through ?lastEventId= (EventSource polyfills cannot set headers).
    const q = openSse(h.port, '/sse?stream=lite&lastEventId=125');
    await waitFor(() => q.events.length >= 4, 5000, 'query resume');
    assert.deepEqual(q.events.slice(0, 4).map((e) => e.id), [126, 127, 128, 129]);

    // Lapped away: 256 slots, so id 5 is long gone after 600 more.
    await h.publish(600);
    const c = openSse(h.port, '/sse', 'Last-Event-ID: 5\r\n');
    await waitFor(() => c.events.length >= 1, 5000, 'newest record');
    const head = 130 + 600;
    assert.equal(c.events[0].id, head - 1, 'starts at the newest record');
    assert.deepEqual(c.comments, [`: skipped ${head - 1 - 6} records`]);
    for (const s of [b, q, c]) s.sock.destroy();
  } finally {
    await h.stop();
  }
});

test('quiet streams carry heartbeats and pings; a silent client is closed 1001; slowloris heads are cut', async () => {
  const h = await Harness.start(['--heartbeat', '1', '--ping', '1', '--idle', '3', '--header-timeout', '1']);
  try {
    const ws = openWs(h.url('/'));
    const sse = openSse(h.port, '/sse?stream=full');
    const silent = rawClient(h.port, upgrade('/'), { frames: true }); // never answers pings
    const slow = rawClient(h.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await waitFor(() => ws.heartbeats.length >= 2 && sse.comments.length >= 2, 5000, 'two heartbeats each');
    const hb = ws.heartbeats[0];
    assert.deepEqual(Object.keys(hb).sort(), ['message_type', 'timestamp']);
    assert.equal(typeof hb.timestamp, 'number');
    assert.ok(Math.abs(hb.timestamp - Date.now() / 1000) < 5, 'timestamp is now');
    assert.ok(sse.comments.every((c) => c === ': heartbeat'));
    assert.ok(ws.pings >= 1, 'server pings');
    await waitFor(() => slow.closed, 4000, 'slowloris closed');
    await waitFor(() => silent.closeCode() !== null, 6000, 'idle close');
    assert.equal(silent.closeCode(), 1001);
    assert.ok(silent.frames.some((f) => f.op === 9), 'it was pinged first');
    assert.equal(ws.close, null, 'the ws client answers pings and stays');
    const m = await metrics(h.port);
    assert.ok(m.get('certstream_heartbeats_total') >= 4);
    ws.ws.close();
    sse.sock.destroy();
  } finally {
    await h.stop();
  }
});

test('HTTP endpoints: health, deep health, metrics, latest, example, index, errors', async () => {
  const h = await Harness.start();
  try {
    // Before any record: the bundled example, a real certificate.
    let r = await httpGet(h.port, '/example.json');
    assert.equal(r.status, 200);
    let ex = JSON.parse(r.body);
    assert.equal(ex.message_type, 'certificate_update');
    assert.ok(ex.data.leaf_cert.all_domains.length > 0);
    assert.equal(ex.data.leaf_cert.as_der, undefined);
    assert.match(r.body, /\n {2}"data"/, 'pretty-printed');
    r = await httpGet(h.port, '/latest.json');
    assert.deepEqual(JSON.parse(r.body), { messages: [] });

    await h.publish(40);
    r = await httpGet(h.port, '/example.json');
    ex = JSON.parse(r.body);
    assert.equal(ex.data.cert_index, 39, 'newest record');
    assert.equal(r.header('access-control-allow-origin'), '*');
    r = await httpGet(h.port, '/latest.json');
    const latest = JSON.parse(r.body).messages;
    assert.deepEqual(latest.map((m) => m.data.cert_index), Array.from({ length: 25 }, (_, i) => 39 - i));
    assert.ok(latest.every((m) => m.data.leaf_cert.as_der === undefined), 'lite form');

    r = await httpGet(h.port, '/health');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'OK');
    r = await httpGet(h.port, '/health/deep');
    assert.equal(r.status, 200);
    const d = JSON.parse(r.body);
    assert.equal(d.status, 'healthy');
    assert.equal(typeof d.uptime_secs, 'number');
    assert.deepEqual(d.workers.map((w) => [w.id, w.pid, w.alive]), [[0, h.workerPid, true]]);
    assert.equal(d.ingest.alive, true);
    assert.equal(typeof d.ingest.certificates_per_second, 'number');
    assert.equal(d.ring.head, 40);
    assert.equal(d.ring.oldest, 0);
    assert.equal(d.ring.capacity, 4096);
    assert.equal(d.connections.total, 0);
    assert.deepEqual(Object.keys(d.connections.websocket).sort(), ['domains', 'full', 'lite']);
    assert.ok(Array.isArray(d.logs));

    await h.cmd('ingest 0', 'ingest');
    r = await httpGet(h.port, '/health');
    assert.equal(r.status, 503);
    r = await httpGet(h.port, '/health/deep');
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).status, 'unhealthy');
    await h.cmd('ingest 1', 'ingest');

    r = await httpGet(h.port, '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.header('content-type'), /^text\/plain; version=0\.0\.4/);
    assert.match(r.body, /^# TYPE certstream_messages_sent_total counter$/m);
    assert.match(r.body, /^# TYPE certstream_delivery_latency_seconds histogram$/m);
    // promtool comes with scripts/install-deps.sh test: required, not optional.
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: r.body });
    assert.ifError(promtool.error);
    assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
    assert.equal(`${promtool.stdout}${promtool.stderr}`, '', 'promtool has nothing to say');

    r = await httpGet(h.port, '/');
    assert.equal(r.status, 200);
    assert.match(r.header('content-type'), /^text\/html/);
    assert.match(r.header('content-security-policy'), /default-src 'none'/);
    assert.match(r.header('content-security-policy'), /script-src 'self'/);
    assert.match(r.body, /<script src="\/app.js"/);
    r = await httpGet(h.port, '/app.js');
    assert.match(r.header('content-type'), /^text\/javascript/);
    assert.match(r.body, /new WebSocket/);

    r = await httpGet(h.port, '/nope');
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.body), { error: 'not found' });
    r = await httpGet(h.port, '/metrics', { method: 'DELETE' });
    assert.equal(r.status, 405);
    assert.match(r.header('allow'), /GET/);
    r = await httpGet(h.port, '/full-stream');
    assert.equal(r.status, 426);
    r = await httpGet(h.port, '/health', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
  } finally {
    await h.stop();
  }
});

test('SIGHUP applies a valid config live and keeps the running one when the new file is bad', async () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'worker-hup-'));
  const conf = path.join(dir, 'certstream.conf');
  fs.writeFileSync(conf, 'server:\n  heartbeat_interval_secs: 60\n');
  const h = await Harness.start(['--config', conf]);
  try {
    const ws = openWs(h.url('/'));
    await waitFor(() => ws.open, 5000, 'open');
    await sleep(1500);
    assert.equal(ws.heartbeats.length, 0, 'no heartbeat at 60 s');
    assert.equal((await httpGet(h.port, '/metrics')).status, 200);

    fs.writeFileSync(conf, 'server:\n  heartbeat_interval_secs: 1\nprotocols:\n  metrics: false\n');
    await h.cmd('reload', 'reload', 5000);
    await waitFor(() => ws.heartbeats.length >= 1, 3000, 'heartbeat after reload');
    assert.equal((await httpGet(h.port, '/metrics')).status, 404, 'metrics switched off live');

    fs.writeFileSync(conf, 'server:\n  heartbeat_interval_secs: often\n');
    await h.cmd('reload', 'reload', 5000);
    await waitFor(() => /keeping the running configuration/.test(h.stderr), 3000, 'refusal logged');
    assert.match(h.stderr, /heartbeat_interval_secs/, 'the reason names the key');
    const n = ws.heartbeats.length;
    await waitFor(() => ws.heartbeats.length >= n + 1, 3000, 'heartbeats go on');
    assert.equal(ws.close, null, 'the client was never dropped');
    await h.publish(5);
    await waitFor(() => ws.messages.length >= 5, 3000, 'records after reloads');
    checkSeq(ws.messages, 0, 5, 'after reloads');
    ws.ws.close();
  } finally {
    await h.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('auth: streams, their data and metrics need a token (header, Bearer or ?token=); health stays open', async () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'worker-auth-'));
  const conf = path.join(dir, 'certstream.conf');
  fs.writeFileSync(conf, 'auth:\n  enabled: true\n  tokens:\n    - "s3cret"\n    - "other-token"\n  protect_metrics: true\n');
  const h = await Harness.start(['--config', conf]);
  try {
    const none = rawClient(h.port, upgrade('/'));
    const wrong = rawClient(h.port, upgrade('/', { extra: 'Authorization: Bearer s3cre\r\n' }));
    const sseNone = rawClient(h.port, 'GET /sse HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => none.closed && wrong.closed && sseNone.closed, 5000, 'refusals');
    for (const c of [none, wrong, sseNone]) {
      assert.match(c.text(), /^HTTP\/1\.1 401 /);
      assert.match(c.text(), /\r\nWWW-Authenticate: Bearer\r\n/);
    }
    const a = new WebSocket(h.url('/'), { headers: { Authorization: 'Bearer s3cret' } });
    const b = openWs(h.url('/domains-only?token=other-token'));
    const am = [];
    a.on('message', (d) => am.push(JSON.parse(d.toString())));
    await waitFor(() => a.readyState === WebSocket.OPEN && b.open, 5000, 'authorised opens');
    const s = openSse(h.port, '/sse', 'Authorization: s3cret\r\n');
    await waitFor(() => s.head, 5000, 'sse head');
    assert.match(s.head, /^HTTP\/1\.1 200/);
    await h.publish(10);
    await waitFor(() => am.length >= 10 && b.messages.length >= 10 && s.events.length >= 10, 5000, 'records');
    checkSeq(am, 0, 10, 'bearer');
    checkSeq(b.messages, 0, 10, 'query token');

    assert.equal((await httpGet(h.port, '/metrics')).status, 401);
    assert.equal((await httpGet(h.port, '/health')).status, 200, 'health not protected');
    // the newest records take the streams' token (auth.protect_data)
    assert.equal((await httpGet(h.port, '/example.json')).status, 401);
    assert.equal((await httpGet(h.port, '/example.json', { headers: 'Authorization: Bearer s3cret\r\n' })).status, 200);
    const r = await httpGet(h.port, '/metrics', { headers: 'Authorization: Bearer other-token\r\n' });
    assert.equal(r.status, 200);
    const fails = Number(r.body.match(/^certstream_auth_failures_total (\d+)$/m)[1]);
    assert.equal(fails, 5);
    a.close();
    b.ws.close();
    s.sock.destroy();
  } finally {
    await h.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('connection limits: per address 429, in total 503, per-address rate 429; released on close', async () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'worker-limits-'));
  const conf = path.join(dir, 'certstream.conf');
  fs.writeFileSync(conf, 'connection_limit:\n  enabled: true\n  max_connections: 5\n  per_ip_limit: 3\n  exempt_loopback: false\n');
  const h = await Harness.start(['--config', conf]);
  const open = (from) => rawClient(h.port, upgrade('/'), { frames: true, from });
  const settled = (cs) => waitFor(() => cs.every((c) => c.head !== null || c.closed), 5000, 'answers');
  try {
    const a = [open('127.0.0.1'), open('127.0.0.1'), open('127.0.0.1')];
    await settled(a);
    for (const c of a) assert.match(c.head, /^HTTP\/1\.1 101/);
    const a4 = open('127.0.0.1');
    await waitFor(() => a4.closed, 5000, 'refusal');
    assert.match(a4.head, /^HTTP\/1\.1 429 /);
    const b = [open('127.0.0.2'), open('127.0.0.2')];
    await settled(b);
    for (const c of b) assert.match(c.head, /^HTTP\/1\.1 101/);
    const c6 = open('127.0.0.3');
    await waitFor(() => c6.closed, 5000, 'refusal');
    assert.match(c6.head, /^HTTP\/1\.1 503 /);
    // A place freed is a place taken again.
    a[0].sock.destroy();
    await sleep(200);
    const a5 = open('127.0.0.1');
    await settled([a5]);
    assert.match(a5.head, /^HTTP\/1\.1 101/);
    for (const c of [...a, ...b, a5]) c.sock.destroy();
    await sleep(200);
    const m = await metrics(h.port);
    assert.equal(m.get('certstream_connection_limit_rejects_total'), 2);

    // Live: a rate of 2 new connections per second per address.
    fs.writeFileSync(conf, 'connection_limit:\n  enabled: true\n  max_connections: 100\n  per_ip_limit: 100\n  per_ip_rate: 2\n  exempt_loopback: false\n');
    await h.cmd('reload', 'reload', 5000);
    await waitFor(() => /SIGHUP: configuration .* applied/.test(h.stderr), 3000, 'reload');
    const r = [];
    for (let i = 0; i < 6; i++) r.push(open('127.0.0.4'));
    await settled(r);
    const refused = r.filter((c) => /^HTTP\/1\.1 429 /.test(c.head || '')).length;
    const ok = r.filter((c) => /^HTTP\/1\.1 101/.test(c.head || '')).length;
    assert.equal(refused + ok, 6);
    assert.ok(refused >= 2 && ok <= 4, `${ok} accepted, ${refused} refused at 2/s`);
    for (const c of r) c.sock.destroy();
  } finally {
    await h.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM with 1,000 clients: every WebSocket gets close 1001 and the worker exits 0 within 5 s', async () => {
  const h = await Harness.start();
  const clients = [];
  try {
    const before = h.rss();
    for (let i = 0; i < 1000; i++) clients.push(openWs(h.url(['/', '/full-stream', '/domains-only'][i % 3])));
    await waitFor(() => clients.every((c) => c.open || c.error), 20000, '1000 opens');
    assert.equal(clients.filter((c) => c.error).length, 0, 'all connected');
    const sse = openSse(h.port, '/sse');
    await waitFor(() => sse.head, 5000, 'sse head');
    await h.publish(20);
    await waitFor(() => clients.every((c) => c.messages.length >= 20), 10000, 'records everywhere');
    // Constant, small state per client: no per-client buffers of messages.
    // (ASan's redzones and quarantine make the figure meaningless there.)
    const perClient = ((h.rss().anon - before.anon) * 1024) / 1000;
    if (!ASAN) assert.ok(perClient < 2048, `${perClient} bytes of private memory per client`);
    const r = await h.term();
    assert.equal(r.status, 0, 'exit status');
    assert.ok(r.ms < 5000, `exit took ${r.ms} ms`);
    await waitFor(() => clients.every((c) => c.close !== null) && sse.closed, 5000, 'all closed');
    const codes = {};
    for (const c of clients) codes[c.close] = (codes[c.close] || 0) + 1;
    assert.deepEqual(codes, { 1001: 1000 });
    console.log(`# 1000 clients: ${perClient} B private memory each; closed 1001, worker exit in ${r.ms} ms`);
  } finally {
    for (const c of clients) c.ws.terminate();
    await h.stop();
  }
});

test('SIGTERM while a client is behind: it gets every record published before the stop, then close 1001', async () => {
  const h = await Harness.start(['--pad', '8000', '--slots', '4096', '--data', String(64 << 20)]);
  try {
    const c = rawClient(h.port, upgrade('/full-stream'), { frames: true });
    await waitFor(() => c.head !== null, 5000, 'handshake');
    c.sock.pause();  // its socket fills: the worker holds the rest back
    const N = 1000;  // ~8 MB: more than the socket buffers take
    await h.publish(N);
    await h.cmd('ingest 0', 'ingest');  // the ingest is done: nothing more to wait for
    await sleep(300);
    const termed = h.term();
    await sleep(300);
    c.sock.resume();
    const r = await termed;
    assert.equal(r.status, 0, 'exit status');
    await waitFor(() => c.closed, 5000, 'closed');
    const data = c.frames.filter((f) => f.op === 1);
    // Before: the close was queued at once and what the full socket held
    // back was dropped.
    assert.equal(data.length, N, `records before the close (${c.bytes} bytes)`);
    assert.equal(c.closeCode(), 1001);
    assert.equal(c.frames[c.frames.length - 1].op, 8, 'the close comes last');
  } finally {
    await h.stop();
  }
});

test('the real daemon, 4 workers: limits and tokens hold across workers; new tokens apply live without dropping anyone', async (t) => {
  const { startDaemon } = require('./lib/daemon');
  const feed = path.join(ROOT, 'tests', 'data', 'sample-feed.ndjson');
  const conf = (tok) => ['source: replay', 'replay:', `  file: ${JSON.stringify(feed)}`, '  rate: 20', '  loop: true',
    'connection_limit:', '  enabled: true', '  max_connections: 8', '  per_ip_limit: 5', '  exempt_loopback: false',
    'auth:', '  enabled: true', '  tokens:', `    - "${tok}"`, ''].join('\n');
  const d = await startDaemon({ t, workers: 4, conf: conf('tok-1') });
  const open = (from, tok = 'tok-1') =>
    rawClient(d.port, upgrade('/', { extra: `Authorization: Bearer ${tok}\r\n` }), { frames: true, from });
  const settled = (cs) => waitFor(() => cs.every((c) => c.head !== null || c.closed), 5000, 'answers');
  const status = (c) => Number((c.head || '').split(' ')[1]);
  const tally = (cs) => cs.reduce((m, c) => { m[status(c)] = (m[status(c)] || 0) + 1; return m; }, {});

  const a = [];
  for (let i = 0; i < 10; i++) a.push(open('127.0.0.1'));
  await settled(a);
  assert.deepEqual(tally(a), { 101: 5, 429: 5 }, 'per-address limit across workers');
  const b = [];
  for (let i = 0; i < 5; i++) b.push(open('127.0.0.2'));
  await settled(b);
  assert.deepEqual(tally(b), { 101: 3, 503: 2 }, 'total limit across workers');
  const held = [...a, ...b].filter((c) => status(c) === 101);
  held[0].sock.destroy();
  await sleep(300);
  const m = await metrics(d.port);
  const busy = [...m.text.matchAll(/^certstream_worker_clients\{worker="\d+"\} (\d+)$/gm)].filter((x) => Number(x[1]) > 0);
  assert.ok(busy.length >= 2, `the 7 clients sit on ${busy.length} worker(s): limits were shared`);
  for (const c of [...a, ...b]) c.sock.destroy();
  await sleep(300);

  // Tokens change on SIGHUP; streaming clients stay.
  const ws = [];
  for (let i = 0; i < 4; i++) {
    const c = { messages: [], close: null, open: false };
    c.ws = new WebSocket(`ws://127.0.0.1:${d.port}/`, { headers: { Authorization: 'Bearer tok-1' } });
    c.ws.on('open', () => { c.open = true; });
    c.ws.on('message', (x) => { const j = JSON.parse(x.toString()); if (j.message_type !== 'heartbeat') c.messages.push(j); });
    c.ws.on('close', (code) => { c.close = code; });
    c.ws.on('error', () => {});
    ws.push(c);
  }
  await waitFor(() => ws.every((c) => c.open), 5000, 'streaming clients');
  fs.writeFileSync(d.confPath, conf('tok-2'));
  process.kill(d.pid, 'SIGHUP');
  let refused = false;
  for (let i = 0; i < 50 && !refused; i++) {
    const probe = open('127.0.0.3');
    await settled([probe]);
    refused = status(probe) === 401;
    probe.sock.destroy();
    if (!refused) await sleep(100);
  }
  assert.ok(refused, 'tok-1 refused after the reload on every worker it reached');
  const fresh = [];
  for (let i = 0; i < 4; i++) fresh.push(open('127.0.0.3', 'tok-2'));
  await settled(fresh);
  assert.deepEqual(tally(fresh), { 101: 4 }, 'the new token works on every worker');
  const marks = ws.map((c) => c.messages.length);
  await waitFor(() => ws.every((c, i) => c.messages.length >= marks[i] + 5), 10000, 'records after the reload');
  assert.ok(ws.every((c) => c.close === null), 'no client dropped');
  for (const c of fresh) c.sock.destroy();
  for (const c of ws) c.ws.terminate();
});
