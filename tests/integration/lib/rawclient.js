'use strict';
// Raw TCP helpers for the hostile-client tests: send exact bytes, read the
// HTTP status line and headers, speak WebSocket frame by frame (build any
// frame, legal or not; read the server's frames and its close code).
//
//   const raw = require('./lib/rawclient');
//   const r = await raw.request(port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
//   r.status, r.headers['content-type'], r.body, r.end ('end'|'reset'|'timeout')
//   const ws = await raw.wsOpen(port, '/');        // after the 101
//   ws.send(raw.wsFrame({ opcode: 0x9, payload: 'hi' }));
//   const cl = await ws.waitClose(5000);           // { code, reason, frames }

const crypto = require('node:crypto');
const net = require('node:net');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A connected socket whose every received byte is kept in conn.buf.
// conn.closed resolves to 'end' (FIN), 'reset' (ECONNRESET/EPIPE) or
// 'error: ...' once the socket is gone; conn.closedAt is the time.
function connect(port, { host = '127.0.0.1', timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host });
    const conn = {
      sock, buf: Buffer.alloc(0), state: 'open', closedAt: 0, onData: null,
      write(bytes) {
        return new Promise((res) => {
          if (sock.destroyed) { res(false); return; }
          sock.write(bytes, (err) => res(!err));
        });
      },
      destroy() { sock.destroy(); },
      reset() { if (!sock.destroyed) sock.resetAndDestroy(); },
    };
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      sock.destroy();
      reject(new Error(`connect to ${host}:${port} timed out`));
    }, timeoutMs);
    let done;
    conn.closed = new Promise((r) => { done = r; });
    const finish = (how) => {
      if (conn.state !== 'open') return;
      conn.state = how;
      conn.closedAt = Date.now();
      done(how);
    };
    sock.on('data', (b) => {
      conn.buf = Buffer.concat([conn.buf, b]);
      if (conn.onData) conn.onData();
    });
    sock.on('end', () => { finish('end'); sock.end(); });
    sock.on('error', (e) => {
      finish(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'reset' : `error: ${e.code || e.message}`);
      if (!settled) { settled = true; clearTimeout(timer); reject(e); }
    });
    sock.on('close', () => finish('end'));
    sock.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(conn);
    });
  });
}

// Wait until pred(conn) holds or the connection is gone; true if it held.
async function waitBytes(conn, pred, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!pred(conn)) {
    if (conn.state !== 'open' || Date.now() > deadline) return pred(conn);
    await sleep(10);
  }
  return true;
}

// Parse "HTTP/1.1 NNN reason\r\nK: v\r\n...\r\n\r\nbody" from buf, or null
// if the head is not all there. Header names lower-cased; repeated headers
// joined with ", ".
function parseResponse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1');
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!m) return { status: -1, statusLine: lines[0], headers: {}, body: buf.subarray(end + 4), headLen: end + 4 };
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  return { status: Number(m[1]), statusLine: lines[0], headers, body: buf.subarray(end + 4), headLen: end + 4 };
}

// Send bytes (a string is sent as latin1, so "\xff" is one byte) and read
// until the server closes or timeoutMs. Returns the parsed response (status
// 0 if none) with raw (every byte), end (how it ended) and ms.
async function request(port, bytes, { timeoutMs = 5000, chunks = null, gapMs = 0 } = {}) {
  const t0 = Date.now();
  const conn = await connect(port);
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  if (chunks) {
    for (let i = 0; i < data.length && conn.state === 'open'; i += chunks) {
      await conn.write(data.subarray(i, i + chunks));
      if (gapMs) await sleep(gapMs);
    }
  } else {
    conn.write(data);
  }
  let timer;
  const end = await Promise.race([
    conn.closed,
    new Promise((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); }),
  ]);
  clearTimeout(timer);
  conn.destroy();
  const parsed = parseResponse(conn.buf) || { status: 0, statusLine: '', headers: {}, body: Buffer.alloc(0) };
  return { ...parsed, raw: conn.buf, end, ms: Date.now() - t0 };
}

// Every HTTP status line in a byte stream (to count answers to pipelined
// or smuggled requests).
function statusLines(buf) {
  return buf.toString('latin1').match(/HTTP\/1\.[01] \d{3}[^\r\n]*/g) || [];
}

// --- WebSocket -----------------------------------------------------------

function wsKey() {
  return crypto.randomBytes(16).toString('base64');
}

function wsAccept(key) {
  return crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

function upgradeRequest(path, key, extra = '') {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

// A client frame. payload: Buffer or string (UTF-8). Options: fin (true),
// rsv (0..7, the RSV1-3 bits), mask (true), len (override the length field:
// a number or BigInt, written in the 64-bit form when > 65535), lenForm
// ('7', '16', '64' to force a form).
function wsFrame({ opcode = 1, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true, len, lenForm } = {}) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const n = len === undefined ? BigInt(body.length) : BigInt(len);
  const form = lenForm || (n < 126n ? '7' : n <= 0xffffn ? '16' : '64');
  const b0 = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  const m = mask ? 0x80 : 0;
  let head;
  if (form === '7') {
    head = Buffer.from([b0, m | Number(n)]);
  } else if (form === '16') {
    head = Buffer.from([b0, m | 126, Number(n >> 8n) & 0xff, Number(n) & 0xff]);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = m | 127;
    head.writeBigUInt64BE(n, 2);
  }
  if (!mask) return Buffer.concat([head, body]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(body);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([head, key, masked]);
}

// A close frame payload: 2-byte code then reason bytes.
function closePayload(code, reason = Buffer.alloc(0)) {
  const r = Buffer.isBuffer(reason) ? reason : Buffer.from(reason, 'utf8');
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

// Server frames in buf from offset: [{ fin, rsv, opcode, masked, payload }],
// and the offset after the last whole frame.
function parseFrames(buf, offset = 0) {
  const frames = [];
  let p = offset;
  for (;;) {
    if (buf.length - p < 2) break;
    const b0 = buf[p];
    const b1 = buf[p + 1];
    let len = b1 & 0x7f;
    let h = 2;
    if (len === 126) {
      if (buf.length - p < 4) break;
      len = buf.readUInt16BE(p + 2);
      h = 4;
    } else if (len === 127) {
      if (buf.length - p < 10) break;
      len = Number(buf.readBigUInt64BE(p + 2));
      h = 10;
    }
    if (b1 & 0x80) h += 4;
    if (buf.length - p < h + len) break;
    frames.push({
      fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f,
      masked: (b1 & 0x80) !== 0, payload: buf.subarray(p + h, p + h + len),
    });
    p += h + len;
  }
  return { frames, offset: p };
}

// Open a WebSocket by hand: handshake checked (101 and the accept value);
// then ws.frames() parses what has arrived so far, ws.waitClose() waits
// for the server's close frame and the end of the connection.
async function wsOpen(port, path = '/', { extraHeaders = '', timeoutMs = 5000 } = {}) {
  const conn = await connect(port);
  const key = wsKey();
  conn.write(upgradeRequest(path, key, extraHeaders));
  await waitBytes(conn, (c) => c.buf.indexOf('\r\n\r\n') >= 0, timeoutMs);
  const res = parseResponse(conn.buf);
  if (!res || res.status !== 101) {
    conn.destroy();
    const e = new Error(`no 101 for ${path}: ${res ? res.statusLine : `nothing (${conn.state})`}`);
    e.response = res;
    throw e;
  }
  if (res.headers['sec-websocket-accept'] !== wsAccept(key)) {
    conn.destroy();
    throw new Error(`bad Sec-WebSocket-Accept ${res.headers['sec-websocket-accept']}`);
  }
  const ws = {
    conn,
    start: res.headLen,
    send: (bytes) => conn.write(bytes),
    frames() { return parseFrames(conn.buf, ws.start).frames; },
    // The close frame from the server ({ code, reason, frames, end, ms }),
    // waiting for the TCP end too (up to timeoutMs). code null: none came.
    async waitClose(waitMs = 5000) {
      const t0 = Date.now();
      await waitBytes(conn, () => ws.frames().some((f) => f.opcode === 8), waitMs);
      const frames = ws.frames();
      const cl = frames.find((f) => f.opcode === 8);
      let end = conn.state;
      if (end === 'open') {
        // Answer the close as a client does; the server then ends the TCP.
        if (cl) conn.write(wsFrame({ opcode: 8, payload: cl.payload.subarray(0, 2) }));
        let timer;
        end = await Promise.race([
          conn.closed,
          new Promise((r) => { timer = setTimeout(() => r('open'), Math.max(0, waitMs - (Date.now() - t0)) + 500); }),
        ]);
        clearTimeout(timer);
      }
      return {
        code: cl ? (cl.payload.length >= 2 ? cl.payload.readUInt16BE(0) : 1005) : null,
        reason: cl ? cl.payload.subarray(2).toString('utf8') : null,
        closeFrame: cl || null,
        frames,
        end,
        ms: Date.now() - t0,
      };
    },
    destroy: () => conn.destroy(),
  };
  return ws;
}

module.exports = {
  sleep, connect, waitBytes, parseResponse, request, statusLines,
  wsKey, wsAccept, upgradeRequest, wsFrame, closePayload, parseFrames, wsOpen,
};

// --- watching the daemon -------------------------------------------------

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');

// GET a URL: { status, headers, body } (body a string); status 0 on error.
function get(url, { timeoutMs = 5000, headers = {} } = {}) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('timeout', () => { req.destroy(); resolve({ status: 0, headers: {}, body: '' }); });
    req.on('error', () => resolve({ status: 0, headers: {}, body: '' }));
  });
}

async function healthDeep(d) {
  const r = await get(d.url('/health/deep'));
  if (r.status !== 200) throw new Error(`/health/deep: ${r.status}`);
  return JSON.parse(r.body);
}

// A Prometheus sample value from /metrics (first line of that name).
async function metric(d, name) {
  const r = await get(d.url('/metrics'));
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(r.body);
  return m ? Number(m[1]) : NaN;
}

// Open descriptors and resident memory (KiB) of a process, from /proc.
function procFds(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

// field: VmRSS (all resident pages), RssAnon (heap and stacks: what a
// leak grows), RssShmem (pages of the shared ring this process touched).
function procRssKiB(pid, field = 'VmRSS') {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

module.exports.get = get;
module.exports.healthDeep = healthDeep;
module.exports.metric = metric;
module.exports.procFds = procFds;
module.exports.procRssKiB = procRssKiB;

// Bytes the server's side of a loopback connection has queued and not yet
// had acknowledged: > 0 while it waits on a client that does not read.
// -1 if the connection is not found. Asks the kernel through ss(8) with a
// filter (fast however many sockets exist), else reads /proc/net/tcp.
let haveSs = null;
function sendQueue(serverPort, clientPort) {
  if (haveSs !== false) {
    try {
      const out = execFileSync('ss', ['-tnH', 'state', 'established',
        `( sport = :${serverPort} and dport = :${clientPort} )`], { encoding: 'utf8', timeout: 5000 });
      haveSs = true;
      const f = out.trim().split(/\s+/);
      return f.length >= 2 && /^\d+$/.test(f[1]) ? Number(f[1]) : -1;
    } catch (e) {
      if (haveSs === true) throw e;
      haveSs = false;
    }
  }
  const hex = (p) => p.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hex(serverPort)}`;
  const rem = `0100007F:${hex(clientPort)}`;
  // ESTABLISHED (01) only: an old TIME_WAIT entry may have the same ports.
  const text = fs.readFileSync('/proc/net/tcp', 'utf8');
  const at = text.indexOf(` ${local} ${rem} 01 `);
  if (at >= 0) return parseInt(text.slice(at + local.length + rem.length + 6, at + local.length + rem.length + 14), 16);
  return -1;
}

module.exports.sendQueue = sendQueue;

// Send bytes and return the response head as soon as it is complete (the
// body too if the server ends the connection); for requests that may
// start a stream, which never ends by itself. status 0: no head came.
async function requestHead(port, bytes, { timeoutMs = 3000 } = {}) {
  const conn = await connect(port);
  conn.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  await waitBytes(conn, (c) => c.buf.indexOf('\r\n\r\n') >= 0, timeoutMs);
  // A plain answer is closed by the server right after its body.
  await Promise.race([conn.closed, sleep(100)]);
  conn.destroy();
  const parsed = parseResponse(conn.buf) || { status: 0, statusLine: '', headers: {}, body: Buffer.alloc(0) };
  return { ...parsed, raw: conn.buf, end: conn.state };
}

module.exports.requestHead = requestHead;
