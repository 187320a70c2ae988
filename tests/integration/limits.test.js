'use strict';
// Connection limits across 4 workers of the real daemon when a worker is
// killed with -9: the per-address and total counts it held live in the
// shared segment, and its replacement gives them back, so the address can
// connect up to its limit again (not one fewer per connection the dead
// worker held, for ever).
const { describe, it } = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { startDaemon, sleep } = require('./lib/daemon');
const c = require('./lib/clients');

const WebSocket = require(path.join(__dirname, '..', 'node', 'node_modules', 'ws'));
const LIMIT = 8;
const FROM = '127.0.0.9';

// A WebSocket from `from` to `host`; resolves { ws, status } once answered.
function open(port, { host = '127.0.0.1', from = FROM } = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${host.includes(':') ? `[${host}]` : host}:${port}/`,
      { localAddress: from });
    ws.on('open', () => resolve({ ws, status: 101 }));
    ws.on('unexpected-response', (_req, res) => { resolve({ ws, status: res.statusCode }); ws.terminate(); });
    ws.on('error', () => resolve({ ws, status: 0 }));
  });
}

async function workers(d) {
  const { body } = await c.httpGet(d.url('/health/deep'));
  return JSON.parse(body).workers;
}

describe('connection limits after kill -9 of a worker', () => {
  it('the replacement gives back what the dead worker held: the address reaches its limit again', async (t) => {
    const conf = c.confFor(c.feedPath(), {
      rate: 20,
      extra: ['connection_limit:', '  enabled: true', '  max_connections: 20',
        `  per_ip_limit: ${LIMIT}`, '  exempt_loopback: false', ''].join('\n'),
    });
    const d = await startDaemon({ t, workers: 4, conf });
    const held = [];
    t.after(() => { for (const x of held) x.ws.terminate(); });

    for (let i = 0; i < LIMIT; i++) held.push(await open(d.port));
    assert.deepStrictEqual(held.map((x) => x.status), Array(LIMIT).fill(101));
    const over = await open(d.port);
    assert.strictEqual(over.status, 429, 'the limit holds before the kill');

    // Kill -9 a worker that holds some of them (SO_REUSEPORT spreads them).
    let ws = await workers(d);
    const victim = ws.filter((w) => w.clients > 0).sort((a, b) => b.clients - a.clients)[0];
    assert.ok(victim && victim.clients < LIMIT, `clients spread over workers: ${JSON.stringify(ws)}`);
    const lost = victim.clients;
    process.kill(victim.pid, 'SIGKILL');
    const deadline = Date.now() + 10000;
    for (;;) {
      ws = await workers(d);
      const w = ws.find((x) => x.id === victim.id);
      if (w.alive && w.pid !== victim.pid) break;
      assert.ok(Date.now() < deadline, `worker ${victim.id} not replaced: ${JSON.stringify(ws)}`);
      await sleep(100);
    }
    // Its clients' sockets are gone with it.
    await c.waitFor(() => held.filter((x) => x.ws.readyState === WebSocket.CLOSED).length >= lost, 5000,
      `${lost} clients of the dead worker closed`);
    const alive = held.filter((x) => x.ws.readyState === WebSocket.OPEN);
    assert.strictEqual(alive.length, LIMIT - lost);

    // Exactly `lost` new connections fit again; one more does not.
    const fresh = [];
    for (let i = 0; i < lost; i++) fresh.push(await open(d.port));
    held.push(...fresh);
    assert.deepStrictEqual(fresh.map((x) => x.status), Array(lost).fill(101),
      'connections up to the limit succeed after the replacement');
    const again = await open(d.port);
    assert.strictEqual(again.status, 429, 'and the limit still holds');
    assert.match(d.logs(), new RegExp(`gave back ${lost} connection counts`));
  });
});

// Over IPv6 the per-address limit holds (peers count by their /64; ::1 is
// the only IPv6 address loopback has, the /64 sharing is a unit test), and
// IPv4 clients of the same dual-stack listener (::ffff:a.b.c.d) are still
// told apart by their /32, not lumped with ::1 into ::/64.
describe('connection limits over IPv6', () => {
  it('::1 is refused past per_ip_limit; an IPv4 client of the same listener is not', async (t) => {
    const conf = c.confFor(c.feedPath(), {
      rate: 20,
      extra: ['connection_limit:', '  enabled: true', '  max_connections: 20',
        '  per_ip_limit: 3', '  ipv6_prefix: 64', '  exempt_loopback: false', ''].join('\n'),
    });
    const d = await startDaemon({ t, workers: 2, conf, env: { CERTSTREAM_HOST: '::' } });
    const held = [];
    t.after(() => { for (const x of held) x.ws.terminate(); });

    for (let i = 0; i < 3; i++) held.push(await open(d.port, { host: '::1', from: '::1' }));
    assert.deepStrictEqual(held.map((x) => x.status), [101, 101, 101]);
    const over = await open(d.port, { host: '::1', from: '::1' });
    assert.strictEqual(over.status, 429, 'the fourth from ::1 is refused');
    const v4 = await open(d.port, { host: '127.0.0.1', from: FROM });
    held.push(v4);
    assert.strictEqual(v4.status, 101, 'an IPv4 client is another peer');
  });
});
