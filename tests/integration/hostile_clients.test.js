'use strict';
// Hostile clients against a running daemon (issue 7): slowloris, a huge
// head, request smuggling, broken WebSocket frames, 10,000 half-open
// connections, 20,000 connect/disconnect cycles, resets in the middle of a
// large write. One worker, so every hostile connection lands on the worker
// that also serves two well-behaved clients (SSE and WebSocket); after each
// case they must still have every record, in order, with no gap.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { startDaemon } = require('./lib/daemon');
const c = require('./lib/clients');
const raw = require('./lib/rawclient');

const feed = c.loadFeed(c.feedPath());
const RATE = 50;    // records per second: steady, and a few thousand per run
// HOSTILE_SCALE (0..1] shrinks the floods (for quick runs by hand); under a
// sanitizer build, whose allocator keeps
// freed memory in quarantine, memory is checked by LeakSanitizer at exit
// instead of by RSS.
const SCALE = Math.min(1, Number(process.env.HOSTILE_SCALE) || 1);
const SANITIZED = /asan/i.test(path.basename(process.env.CERTSTREAM_BIN || ''));
const SANITIZER_REPORT = /ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/;

function conf(server) {
  return c.confFor(feed.file, { rate: RATE, extra: `server:\n${server}` });
}

// Two well-behaved clients on the (only) worker. check() proves they are
// still connected and have received every record published so far: the
// SSE ids (ring sequence numbers) are consecutive and reach the ring head,
// and the WebSocket messages follow the feed order without a gap.
async function goodClients(d) {
  const sse = c.openSseRaw(d.url('/sse?stream=lite'));
  const ws = c.openWs(d.url('/', 'ws'));
  await sse.ready;
  await ws.opened;
  assert.strictEqual(sse.status, 200);
  await c.waitFor(() => sse.events.length >= 3 && ws.messages.length >= 3, 10000, 'good clients streaming');
  return {
    sse,
    ws,
    close() { sse.close(); ws.close(); },
    async check(label) {
      const deep = await raw.healthDeep(d);
      const head = deep.ring.head;
      // Everything published before this check must arrive.
      await c.waitFor(() => sse.events.length > 0 && Number(sse.events[sse.events.length - 1].id) >= head - 1,
        10000, `${label}: SSE client reaching ring head ${head}`);
      assert.strictEqual(sse.error, null, `${label}: SSE client error ${sse.error}`);
      assert.ok(!sse.ended, `${label}: SSE stream ended`);
      const ids = sse.events.map((e) => Number(e.id));
      for (let i = 1; i < ids.length; i++) {
        assert.strictEqual(ids[i], ids[i - 1] + 1, `${label}: SSE ids jump from ${ids[i - 1]} to ${ids[i]}`);
      }
      const skips = sse.comments.filter((x) => /skipped/.test(x.text));
      assert.deepStrictEqual(skips, [], `${label}: SSE client was told it lost records`);
      assert.strictEqual(ws.closed, null, `${label}: WebSocket client closed ${JSON.stringify(ws.closed)}`);
      assert.strictEqual(ws.error, null, `${label}: WebSocket client error ${ws.error}`);
      c.checkInOrder(feed, ws.messages, `${label}: WebSocket client`);
      // Both saw the same records: the WebSocket one trails by at most
      // what is in flight.
      await c.waitFor(() => ws.messages.length >= sse.events.length - RATE, 5000, `${label}: WebSocket client keeping up`);
      return { head, sse: ids.length, ws: ws.messages.length };
    },
  };
}

// Stop the daemon as an operator does and check it left no sanitizer report
// (ASan/UBSan errors, leaks at exit) in its output and exited cleanly.
async function stopClean(d) {
  const info = await d.stop('SIGTERM');
  const m = SANITIZER_REPORT.exec(d.logs());
  assert.strictEqual(m, null, `sanitizer report in the daemon's output:\n${d.logs().slice(Math.max(0, (m || { index: 0 }).index - 200), (m || { index: 0 }).index + 3000)}`);
  assert.deepStrictEqual([info.code, info.signal], [0, null], `daemon exit ${JSON.stringify(info)}\n${d.logs().slice(-2000)}`);
}

async function workerPid(d) {
  const deep = await raw.healthDeep(d);
  assert.strictEqual(deep.workers.length, 1);
  return deep.workers[0].pid;
}

// The worker's descriptor count once no short-lived connection (a probe
// of /health/deep, say) is still closing: the same for half a second.
async function quietFds(pid) {
  let last = raw.procFds(pid);
  let same = 0;
  for (let i = 0; i < 50 && same < 5; i++) {
    await raw.sleep(100);
    const v = raw.procFds(pid);
    same = v === last ? same + 1 : 0;
    last = v;
  }
  return last;
}

// Poll until fn() <= want (or deadline); returns the last value.
async function settle(fn, want, ms) {
  const deadline = Date.now() + ms;
  let v = fn();
  while (v > want && Date.now() < deadline) {
    await raw.sleep(100);
    v = fn();
  }
  return v;
}

describe('hostile requests and frames on one worker', () => {
  const HEADER_TIMEOUT = 2;
  let d;
  let good;

  before(async () => {
    d = await startDaemon({ workers: 1, conf: conf(`  header_timeout_secs: ${HEADER_TIMEOUT}\n  max_header_bytes: 16384\n  max_frame_bytes: 65536\n`) });
    good = await goodClients(d);
  });
  after(async () => {
    if (good) good.close();
    if (d) await d.stop('SIGKILL');
  });

  it('slowloris: a head sent one byte per second is closed after header_timeout_secs, unanswered', async () => {
    const head = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(40);
    const conn = await raw.connect(d.port);
    const t0 = Date.now();
    let sent = 0;
    while (conn.state === 'open' && sent < head.length && Date.now() - t0 < (HEADER_TIMEOUT + 5) * 1000) {
      await conn.write(head[sent++]);
      await raw.sleep(1000);
    }
    const ms = (conn.closedAt || Date.now()) - t0;
    conn.destroy();
    assert.notStrictEqual(conn.state, 'open', `still open after ${sent} bytes in ${ms} ms`);
    // The timeout counts in ms from the accept (after t0), whatever
    // trickles in, and is checked every quarter second: never early.
    assert.ok(ms >= HEADER_TIMEOUT * 1000 - 10, `closed after ${ms} ms, before the timeout`);
    assert.ok(ms <= (HEADER_TIMEOUT + 2) * 1000, `closed after ${ms} ms`);
    assert.ok(sent < head.length, 'the head was never complete');
    assert.strictEqual(raw.statusLines(conn.buf).length, 0, `answered: ${conn.buf.toString('latin1')}`);
    await good.check('slowloris');
  });

  it('a head that stops half-way is closed after header_timeout_secs too', async () => {
    const conn = await raw.connect(d.port);
    const t0 = Date.now();
    await conn.write('GET /full-stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr');
    await Promise.race([conn.closed, raw.sleep((HEADER_TIMEOUT + 3) * 1000)]);
    const ms = (conn.closedAt || Date.now()) - t0;
    conn.destroy();
    assert.notStrictEqual(conn.state, 'open', 'half a head kept the connection open');
    assert.ok(ms >= HEADER_TIMEOUT * 1000 - 10 && ms <= (HEADER_TIMEOUT + 2) * 1000, `closed after ${ms} ms`);
  });

  it('a 1 MiB header gets 431 as a JSON error and the connection ends', async () => {
    const big = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ' + 'a'.repeat(1 << 20) + '\r\n\r\n';
    const r = await raw.request(d.port, big, { timeoutMs: 10000 });
    assert.strictEqual(r.status, 431, `got ${r.statusLine || r.end}`);
    assert.match(r.headers['content-type'] || '', /application\/json/);
    assert.deepStrictEqual(JSON.parse(r.body.toString('utf8')), { error: 'request head too large' });
    assert.notStrictEqual(r.end, 'timeout', 'connection left open');
    // Many small headers past the limit are the same case.
    const many = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      Array.from({ length: 2000 }, (_, i) => `X-H${i}: v\r\n`).join('') + '\r\n';
    const r2 = await raw.request(d.port, many);
    assert.strictEqual(r2.status, 431, `got ${r2.statusLine || r2.end}`);
    // So are more headers than the parser keeps (48), however small.
    const r3 = await raw.request(d.port, 'GET /health HTTP/1.1\r\n' +
      Array.from({ length: 49 }, (_, i) => `H${i}: v\r\n`).join('') + '\r\n');
    assert.strictEqual(r3.status, 431, `got ${r3.statusLine || r3.end}`);
    await good.check('1 MiB header');
  });

  // Each is refused with 400 and nothing after it is read as a request: one
  // status line in all the bytes that come back, then the connection ends.
  const smuggling = {
    'duplicate Content-Length': 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n',
    'conflicting Content-Length': 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 30\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n',
    'Content-Length as a list': 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nGET /\r\n',
    'signed Content-Length': 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello',
    'Transfer-Encoding: chunked': 'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n',
    'Content-Length then Transfer-Encoding': 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX',
    'Transfer-Encoding then Content-Length': 'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX',
    'Transfer-Encoding: xchunked': 'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n',
    'Transfer-Encoding: chunked, identity': 'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n',
    'space before the colon': 'GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n',
    'obs-fold hiding Transfer-Encoding': 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\n',
    'bare LF line ends': 'GET /health HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n',
    'bare CR in a header': 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\rTransfer-Encoding: chunked\r\n\r\n',
    'two Host headers': 'GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    'chunked WebSocket upgrade': 'GET /full-stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${raw.wsKey()}\r\nSec-WebSocket-Version: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  };
  for (const [name, req] of Object.entries(smuggling)) {
    it(`request smuggling refused with 400: ${name}`, async () => {
      const r = await raw.request(d.port, req);
      assert.strictEqual(r.status, 400, `got ${r.statusLine || r.end}`);
      assert.strictEqual(raw.statusLines(r.raw).length, 1, `more than one answer: ${r.raw.toString('latin1')}`);
      assert.notStrictEqual(r.end, 'timeout', 'connection left open after the 400');
      assert.ok(JSON.parse(r.body.toString('utf8')).error, 'JSON error body');
    });
  }

  it('a request hidden in a GET body is never answered', async () => {
    const inner = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n';
    const r = await raw.request(d.port, `GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`);
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.body.toString(), 'OK');
    assert.strictEqual(raw.statusLines(r.raw).length, 1, 'the body was read as a second request');
    assert.doesNotMatch(r.raw.toString('latin1'), /certstream_/);
    await good.check('smuggling');
  });

  it('a pipelined second request is not answered: one answer per connection', async () => {
    const r = await raw.request(d.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.headers.connection, 'close');
    assert.strictEqual(raw.statusLines(r.raw).length, 1);
    assert.doesNotMatch(r.raw.toString('latin1'), /certstream_/);
  });

  it('frames pipelined behind an upgrade request are either parsed as frames or refused, never read as HTTP', async () => {
    // A small ping right behind the head: answered once the stream is up.
    const conn = await raw.connect(d.port);
    await conn.write(Buffer.concat([Buffer.from(raw.upgradeRequest('/', raw.wsKey())), raw.wsFrame({ opcode: 9, payload: 'early' })]));
    await raw.waitBytes(conn, (x) => raw.parseFrames(x.buf, (raw.parseResponse(x.buf) || { headLen: x.buf.length }).headLen)
      .frames.some((f) => f.opcode === 0xa), 3000);
    const res = raw.parseResponse(conn.buf);
    assert.strictEqual(res && res.status, 101);
    const pong = raw.parseFrames(conn.buf, res.headLen).frames.find((f) => f.opcode === 0xa);
    assert.ok(pong, 'no pong for the early ping');
    assert.strictEqual(pong.payload.toString(), 'early');
    conn.reset();
    // Kilobytes of frames before the 101: refused.
    const r = await raw.request(d.port, Buffer.concat([Buffer.from(raw.upgradeRequest('/', raw.wsKey())),
      ...Array.from({ length: 40 }, () => raw.wsFrame({ opcode: 1, payload: 'x'.repeat(100) }))]));
    assert.strictEqual(r.status, 400, `got ${r.statusLine || r.end}`);
    assert.strictEqual(raw.statusLines(r.raw).length, 1);
  });

  it('hostile Last-Event-ID values start a live SSE stream: no replay from a bogus position, no crash', async () => {
    const values = ['18446744073709551615', '18446744073709551616', '99999999999999999999999', '-1', '1e3', '0x10',
      '007', '', '%00', '1,2', '+5', '5.0', String(2 ** 53 + 1)];
    for (const v of values) {
      const head = (await raw.healthDeep(d)).ring.head;
      const s = c.openSseRaw(d.url('/sse?stream=domains'), { 'Last-Event-ID': v });
      try {
        await s.ready;
        assert.strictEqual(s.status, 200, `Last-Event-ID ${JSON.stringify(v)}: ${s.status}`);
        await c.waitFor(() => s.events.length >= 1, 5000, `an event after Last-Event-ID ${JSON.stringify(v)}`);
        const first = Number(s.events[0].id);
        assert.ok(first >= head - 1 && first <= head + RATE, `Last-Event-ID ${JSON.stringify(v)}: first id ${first}, head was ${head}`);
      } finally {
        s.close();
      }
    }
    await good.check('Last-Event-ID');
  });

  // Client frames that break RFC 6455, each on a fresh WebSocket: the
  // server sends a close frame with the code and ends the connection.
  const badFrames = [
    ['a 2^63 payload length (MSB set)', 1002, () => raw.wsFrame({ opcode: 2, len: 1n << 63n })],
    ['the largest 64-bit length 2^64-1', 1002, () => raw.wsFrame({ opcode: 2, len: (1n << 64n) - 1n })],
    ['a 2^62 payload length (over max_frame_bytes)', 1009, () => raw.wsFrame({ opcode: 2, len: 1n << 62n })],
    ['a 65537-byte payload length (just over max_frame_bytes)', 1009, () => raw.wsFrame({ opcode: 1, len: 65537 })],
    ['a non-minimal 16-bit length', 1002, () => raw.wsFrame({ opcode: 1, payload: 'hi', lenForm: '16' })],
    ['a non-minimal 64-bit length', 1002, () => raw.wsFrame({ opcode: 1, payload: 'x'.repeat(200), lenForm: '64' })],
    ['an unmasked text frame', 1002, () => raw.wsFrame({ opcode: 1, payload: 'hello', mask: false })],
    ['an unmasked close frame', 1002, () => raw.wsFrame({ opcode: 8, payload: raw.closePayload(1000), mask: false })],
    ['RSV1 set', 1002, () => raw.wsFrame({ opcode: 1, payload: 'hi', rsv: 4 })],
    ['RSV2 set', 1002, () => raw.wsFrame({ opcode: 1, payload: 'hi', rsv: 2 })],
    ['RSV3 set on a ping', 1002, () => raw.wsFrame({ opcode: 9, payload: 'hi', rsv: 1 })],
    ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op) =>
      [`reserved opcode 0x${op.toString(16)}`, 1002, () => raw.wsFrame({ opcode: op, payload: 'hi' })]),
    ['a fragmented ping', 1002, () => raw.wsFrame({ opcode: 9, payload: 'a', fin: false })],
    ['a fragmented close', 1002, () => raw.wsFrame({ opcode: 8, payload: raw.closePayload(1000), fin: false })],
    ['a fragmented pong', 1002, () => raw.wsFrame({ opcode: 0xa, payload: 'a', fin: false })],
    ['a ping over 125 bytes', 1002, () => raw.wsFrame({ opcode: 9, payload: 'p'.repeat(126) })],
    ['a continuation with no message open', 1002, () => raw.wsFrame({ opcode: 0, payload: 'x' })],
    ['a new text frame inside a fragmented message', 1002, () => Buffer.concat([
      raw.wsFrame({ opcode: 1, payload: 'part', fin: false }), raw.wsFrame({ opcode: 1, payload: 'again' })])],
    ['a fragmented message growing past max_frame_bytes', 1009, () => Buffer.concat([
      raw.wsFrame({ opcode: 2, payload: Buffer.alloc(40000), fin: false }),
      raw.wsFrame({ opcode: 0, payload: Buffer.alloc(40000) })])],
    ['bad UTF-8 in a close reason', 1007, () => raw.wsFrame({ opcode: 8, payload: raw.closePayload(1000, Buffer.from([0xc3, 0x28])) })],
    ['a surrogate (CESU) in a close reason', 1007, () => raw.wsFrame({ opcode: 8, payload: raw.closePayload(1001, Buffer.from([0xed, 0xa0, 0x80])) })],
    ['a truncated character ending a close reason', 1007, () => raw.wsFrame({ opcode: 8, payload: raw.closePayload(3000, Buffer.from([0x6f, 0x6b, 0xe2, 0x82])) })],
    ['a one-byte close payload', 1002, () => raw.wsFrame({ opcode: 8, payload: Buffer.from([3]) })],
    ['close code 1005 on the wire', 1002, () => raw.wsFrame({ opcode: 8, payload: raw.closePayload(1005) })],
    ['close code 999', 1002, () => raw.wsFrame({ opcode: 8, payload: raw.closePayload(999) })],
    ['close code 5000', 1002, () => raw.wsFrame({ opcode: 8, payload: raw.closePayload(5000) })],
  ];
  for (const [name, code, frame] of badFrames) {
    it(`WebSocket: ${name} -> close ${code}`, async () => {
      const ws = await raw.wsOpen(d.port, '/');
      await ws.send(frame());
      const r = await ws.waitClose(4000);
      ws.destroy();
      assert.strictEqual(r.code, code, `close code ${r.code} (${r.end})`);
      assert.notStrictEqual(r.end, 'open', 'connection not ended after the close');
      // Nothing follows the close frame (RFC 6455 §5.5.1).
      const i = r.frames.indexOf(r.closeFrame);
      assert.strictEqual(i, r.frames.length - 1, 'frames after the close frame');
      for (const f of r.frames) assert.strictEqual(f.masked, false, 'server frame masked');
    });
  }

  it('WebSocket: the server ends the connection after its close even if the client never answers', async () => {
    const ws = await raw.wsOpen(d.port, '/');
    await ws.send(raw.wsFrame({ opcode: 3 }));
    const t0 = Date.now();
    await raw.waitBytes(ws.conn, () => ws.frames().some((f) => f.opcode === 8), 3000);
    const cl = ws.frames().find((f) => f.opcode === 8);
    assert.ok(cl, 'no close frame');
    assert.strictEqual(cl.payload.readUInt16BE(0), 1002);
    // No reply: the server may wait a little for ours, then must go.
    await Promise.race([ws.conn.closed, raw.sleep(5000)]);
    assert.notStrictEqual(ws.conn.state, 'open', `still open ${Date.now() - t0} ms after the close`);
    ws.destroy();
  });

  it('WebSocket: a well-formed close is echoed, a ping inside a fragmented message is answered', async () => {
    const ws = await raw.wsOpen(d.port, '/');
    await ws.send(Buffer.concat([
      raw.wsFrame({ opcode: 1, payload: 'frag', fin: false }),
      raw.wsFrame({ opcode: 9, payload: 'are you there' }),
      raw.wsFrame({ opcode: 0, payload: 'ment' }),
    ]));
    await raw.waitBytes(ws.conn, () => ws.frames().some((f) => f.opcode === 0xa), 3000);
    const pong = ws.frames().find((f) => f.opcode === 0xa);
    assert.ok(pong, 'no pong');
    assert.strictEqual(pong.payload.toString(), 'are you there');
    await ws.send(raw.wsFrame({ opcode: 8, payload: raw.closePayload(4001, 'done, thanks ✓') }));
    const r = await ws.waitClose(4000);
    ws.destroy();
    assert.strictEqual(r.code, 4001);
    assert.notStrictEqual(r.end, 'open');
  });

  const badText = [
    ['a text message with invalid UTF-8', () => raw.wsFrame({ opcode: 1, payload: Buffer.from([0x68, 0x69, 0xff, 0xfe]) })],
    ['an overlong encoding in a text message', () => raw.wsFrame({ opcode: 1, payload: Buffer.from([0xc0, 0xaf]) })],
    ['a text message ending mid-character', () => raw.wsFrame({ opcode: 1, payload: Buffer.from([0x6f, 0xe2, 0x82]) })],
    ['invalid UTF-8 in a continuation fragment', () => Buffer.concat([
      raw.wsFrame({ opcode: 1, payload: 'ok so far', fin: false }), raw.wsFrame({ opcode: 0, payload: Buffer.from([0xed, 0xa0, 0x80]) })])],
    ['a fragmented text message whose last fragment ends mid-character', () => Buffer.concat([
      raw.wsFrame({ opcode: 1, payload: Buffer.from([0x61]), fin: false }), raw.wsFrame({ opcode: 0, payload: Buffer.from([0xf0, 0x9f, 0x98]) })])],
  ];
  for (const [name, frame] of badText) {
    it(`WebSocket: ${name} -> close 1007`, async () => {
      const ws = await raw.wsOpen(d.port, '/');
      await ws.send(frame());
      const r = await ws.waitClose(3000);
      ws.destroy();
      assert.strictEqual(r.code, 1007, `close code ${r.code} (${r.end})`);
      assert.notStrictEqual(r.end, 'open');
    });
  }

  it('WebSocket: a character split across fragments, binary bytes, and an empty text message are fine', async () => {
    const ws = await raw.wsOpen(d.port, '/');
    await ws.send(Buffer.concat([
      raw.wsFrame({ opcode: 1, payload: Buffer.from([0x61, 0xf0, 0x9f]), fin: false }),
      raw.wsFrame({ opcode: 0, payload: Buffer.from([0x98, 0x80, 0x62]) }),
      raw.wsFrame({ opcode: 2, payload: Buffer.from([0xff, 0xfe, 0x00]) }),
      raw.wsFrame({ opcode: 1, payload: Buffer.alloc(0) }),
      raw.wsFrame({ opcode: 9, payload: 'still there?' }),
    ]));
    await raw.waitBytes(ws.conn, () => ws.frames().some((f) => f.opcode === 0xa || f.opcode === 8), 3000);
    const frames = ws.frames();
    assert.ok(!frames.some((f) => f.opcode === 8), `closed: ${frames.filter((f) => f.opcode === 8).map((f) => f.payload.readUInt16BE(0))}`);
    assert.ok(frames.some((f) => f.opcode === 0xa), 'no pong');
    assert.strictEqual(ws.conn.state, 'open');
    ws.conn.reset();
  });

  it('a ping flood from a client that never reads costs the worker no memory', async () => {
    const pid = await workerPid(d);
    const anon0 = raw.procRssKiB(pid, 'RssAnon');
    const ws = await raw.wsOpen(d.port, '/');
    ws.conn.sock.pause();
    const ping = raw.wsFrame({ opcode: 9, payload: 'x'.repeat(125) });
    const burst = Buffer.concat(Array.from({ length: 1000 }, () => ping));
    // 50,000 pings of 125 bytes (6.5 MB): every one owes a pong.
    for (let i = 0; i < 50 && ws.conn.state === 'open'; i++) {
      await Promise.race([ws.send(burst), raw.sleep(2000)]);
    }
    await good.check('ping flood');
    const anon1 = raw.procRssKiB(pid, 'RssAnon');
    ws.conn.reset();
    assert.strictEqual(await workerPid(d), pid);
    // Pongs are owed per connection, not queued per ping.
    if (!SANITIZED) assert.ok(anon1 - anon0 <= 1024, `worker heap grew ${anon1 - anon0} KiB under the ping flood`);
  });

  it('the well-behaved clients received every record through all of the above', async () => {
    const pid = await workerPid(d);
    const restarts = await raw.metric(d, 'certstream_worker_restarts_total');
    const s = await good.check('after the hostile requests and frames');
    assert.ok(s.sse > RATE, `only ${s.sse} records seen`);
    assert.strictEqual(await workerPid(d), pid);
    assert.strictEqual(restarts, 0, 'a worker was restarted');
  });

  it('the daemon stops cleanly afterwards, with no sanitizer report', async () => {
    good.close();
    good = null;
    await stopClean(d);
    d = null;
  });
});

describe('connection floods and resets on one worker', () => {
  let d;
  let good;
  let pid;

  before(async () => {
    // The header timeout is long here so the half-open connections stay
    // half-open for the whole test (the slowloris test covers the reaping).
    // 10,000 of them plus the good clients and the probes pass the default
    // total of 10,000: the total is raised above them, the limits stay on.
    const total = Math.round(10000 * SCALE) + 1000;
    d = await startDaemon({ workers: 1, conf: c.confFor(feed.file, { rate: 4 * RATE,
      extra: `server:\n  header_timeout_secs: 60\nconnection_limit:\n  max_connections: ${total}\n` }) });
    good = await goodClients(d);
    pid = await workerPid(d);
  });
  after(async () => {
    if (good) good.close();
    if (d) await d.stop('SIGKILL');
  });

  it('10,000 half-open connections: the good clients keep streaming and new connections are served', { timeout: 120000 }, async () => {
    const N = Math.round(10000 * SCALE);
    const BATCH = 500;
    // This process and the worker each hold one descriptor per connection.
    const nofile = Number(/^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))[1]);
    assert.ok(nofile >= N + 2000, `RLIMIT_NOFILE is ${nofile}: ${N} connections need ${N + 2000}`);
    const base = await quietFds(pid);
    const conns = [];
    try {
      for (let i = 0; i < N; i += BATCH) {
        const batch = [];
        for (let k = i; k < Math.min(N, i + BATCH); k++) {
          batch.push(raw.connect(d.port, { timeoutMs: 15000 }).then(async (cn) => {
            // Half send nothing, half send half a request head.
            if (k % 2) await cn.write(`GET /full-stream HTTP/1.1\r\nHost: 127.0.0.1\r\nX-N: ${k}\r\nUpgr`);
            return cn;
          }));
        }
        conns.push(...(await Promise.all(batch)));
      }
      // The worker holds them all (one descriptor each).
      const deadline = Date.now() + 15000;
      while (raw.procFds(pid) < base + N && Date.now() < deadline) await raw.sleep(100);
      const held = raw.procFds(pid) - base;
      assert.ok(held >= N, `worker holds ${held} of ${N} connections`);
      assert.ok(conns.every((cn) => cn.state === 'open'), 'a half-open connection was closed early');

      // New clients are served promptly while they are all there.
      const t0 = Date.now();
      const h = await raw.get(d.url('/health'));
      assert.strictEqual(h.status, 200);
      assert.ok(Date.now() - t0 < 2000, `/health took ${Date.now() - t0} ms`);
      const fresh = c.openWs(d.url('/domains-only', 'ws'));
      try {
        await fresh.opened;
        await c.waitFor(() => fresh.messages.length >= 3, 5000, 'a new WebSocket client receiving records');
        c.checkInOrder(feed, fresh.messages, 'new client under load');
      } finally {
        fresh.close();
      }
      await good.check('10,000 half-open');
    } finally {
      for (const cn of conns) cn.reset();
    }
    const left = await settle(() => raw.procFds(pid), base, 10000);
    assert.strictEqual(left, base, `worker descriptors ${left} after the flood, ${base} before`);
    await good.check('after the half-open flood');
  });

  it('20,000 connect/disconnect cycles leave the worker\'s descriptors and memory flat', { timeout: 150000 }, async () => {
    const BATCH = 250;
    let seq = 0;
    // One cycle of one kind: gone before a byte, gone mid-head, an
    // answered request, a WebSocket that upgrades then vanishes, an SSE
    // stream cut off.
    const deadline = Date.now() + 90000;
    const expect = async (cn, pred, what) => {
      if (!(await raw.waitBytes(cn, pred, 10000))) {
        cn.reset();
        throw new Error(`cycle ${seq}: ${what} did not come (${cn.state})`);
      }
    };
    const cycle = async () => {
      const k = seq++ % 6;
      const cn = await raw.connect(d.port, { timeoutMs: 10000 });
      if (k === 0) { cn.reset(); return; }
      if (k === 1) {
        // FIN before a byte: the worker closes its side too.
        cn.sock.end();
        await expect(cn, (x) => x.state !== 'open', 'the close');
        return;
      }
      if (k === 2) { await cn.write('GET /health HTTP/1.1\r\nHo'); cn.reset(); return; }
      if (k === 3) {
        await cn.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
        await expect(cn, (x) => x.buf.indexOf('\r\n\r\nOK') >= 0, 'the /health answer');
        cn.reset();
        return;
      }
      if (k === 4) {
        await cn.write(raw.upgradeRequest('/full-stream', raw.wsKey()));
        await expect(cn, (x) => x.buf.indexOf('HTTP/1.1 101 ') === 0 && x.buf.indexOf('\r\n\r\n') > 0, 'the 101');
        cn.reset();
        return;
      }
      await cn.write('GET /sse?stream=full HTTP/1.1\r\nHost: x\r\n\r\n');
      await expect(cn, (x) => x.buf.indexOf('HTTP/1.1 200 ') === 0 && x.buf.indexOf('\r\n\r\n') > 0, 'the SSE head');
      cn.reset();
    };
    const run = async (n) => {
      for (let i = 0; i < n; i += BATCH) {
        if (Date.now() > deadline) throw new Error(`only ${seq} cycles done in 90 s`);
        await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, cycle));
      }
    };
    // Warm up to the same concurrency first: the allocator reaches the
    // high-water mark it will keep.
    const fdStart = await quietFds(pid);
    const WARM = Math.max(500, Math.round(2000 * SCALE));
    await run(WARM);
    const base = await settle(() => raw.procFds(pid), fdStart, 10000);
    assert.strictEqual(base, fdStart, 'descriptors not back after the warm-up');
    // VmRSS also counts the pages of the shared ring the worker has read
    // (RssShmem), which grow with every record published; a leak grows
    // the private part: RssAnon, and VmRSS less RssShmem.
    const mem = () => ({
      vm: raw.procRssKiB(pid), anon: raw.procRssKiB(pid, 'RssAnon'), shm: raw.procRssKiB(pid, 'RssShmem'),
    });
    const m0 = mem();
    const t0 = Date.now();
    const CYCLES = Math.round(20000 * SCALE);
    await run(CYCLES);
    const ms = Date.now() - t0;
    const fds = await settle(() => raw.procFds(pid), base, 10000);
    const m1 = mem();
    assert.strictEqual(seq, WARM + CYCLES);
    // Descriptors: exactly back (lingering closes end within 2 s).
    assert.strictEqual(fds, base, `worker descriptors ${fds} after ${CYCLES} cycles, ${base} before (${ms} ms)`);
    // Memory: within 2 MiB of the warmed-up size. A leaked client struct
    // (~400 B) or head buffer (16 KiB) per connection would be 8 MiB or more.
    const what = `RSS ${m0.vm} -> ${m1.vm} KiB, anon ${m0.anon} -> ${m1.anon}, shmem ${m0.shm} -> ${m1.shm}`;
    if (!SANITIZED) {
      assert.ok(m1.anon - m0.anon <= 2048, `worker heap grew over ${CYCLES} cycles: ${what}`);
      assert.ok((m1.vm - m1.shm) - (m0.vm - m0.shm) <= 2048, `worker private RSS grew over ${CYCLES} cycles: ${what}`);
    }
    assert.strictEqual(await workerPid(d), pid, 'worker replaced');
    await good.check('20,000 cycles');
  });

  it('clients that reset in the middle of a large write do not kill the worker', { timeout: 120000 }, async () => {
    const restarts = await raw.metric(d, 'certstream_worker_restarts_total');
    const fdStart = await quietFds(pid);
    // A backlog of megabytes: 400 full records or more.
    let deep = await raw.healthDeep(d);
    for (let i = 0; i < 50 && deep.ring.head - deep.ring.oldest < 400; i++) {
      await raw.sleep(200);
      deep = await raw.healthDeep(d);
    }
    const backlog = deep.ring.head - deep.ring.oldest;
    assert.ok(backlog >= 400, `ring holds only ${backlog} records`);
    const N = 20;
    let midWrite = 0;
    for (let i = 0; i < N; i++) {
      const cn = await raw.connect(d.port);
      // The client reads nothing: the worker fills the socket and waits.
      cn.sock.pause();
      if (i % 5 === 4) {
        // The live full stream: fills the socket within a second or two.
        await cn.write(raw.upgradeRequest('/full-stream', raw.wsKey()));
      } else {
        // The whole ring in full form: megabytes at once.
        await cn.write(`GET /sse?stream=full&lastEventId=${deep.ring.oldest} HTTP/1.1\r\nHost: x\r\n\r\n`);
      }
      // Wait until the worker's side keeps unacknowledged bytes queued
      // (our window is shut: it is in the middle of the stream, blocked on
      // us; three samples in a row), then vanish with an RST.
      const deadline = Date.now() + 5000;
      let full = 0;
      while (full < 3 && Date.now() < deadline) {
        full = raw.sendQueue(d.port, cn.sock.localPort) > 0 ? full + 1 : 0;
        if (full < 3) await raw.sleep(10);
      }
      if (full >= 3) midWrite++;
      await raw.sleep((i % 4) * 15);
      cn.reset();
    }
    assert.strictEqual(midWrite, N, `only ${midWrite} of ${N} resets hit a write in progress`);
    const left = await settle(() => raw.procFds(pid), fdStart, 10000);
    assert.strictEqual(left, fdStart, 'descriptors of reset clients not closed');
    const now = await raw.healthDeep(d);
    assert.strictEqual(now.workers[0].pid, pid, 'worker died and was replaced');
    assert.strictEqual(now.workers[0].alive, true);
    assert.strictEqual(now.workers[0].restarts, deep.workers[0].restarts, 'worker restarted (/health/deep)');
    assert.strictEqual(await raw.metric(d, 'certstream_worker_restarts_total'), restarts, 'worker restarted (/metrics)');
    await good.check('resets mid-write');
  });

  it('/health/deep shows each worker\'s restart count (zero after all of the above)', async () => {
    const deep = await raw.healthDeep(d);
    assert.strictEqual(deep.workers[0].restarts, 0);
  });

  it('the daemon stops cleanly afterwards, with no sanitizer report', async () => {
    good.close();
    good = null;
    await stopClean(d);
    d = null;
  });
});
