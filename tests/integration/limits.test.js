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

// A WebSocket from FROM; resolves { ws, status } once answered.
function open(port) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { localAddress: FROM });
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
        `  per_ip_limit: ${LIMIT}`, ''].join('\n'),
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
