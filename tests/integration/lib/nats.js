'use strict';
// nats-server processes for a test: one server, or a JetStream cluster of
// n, on 127.0.0.1 and ports picked at runtime, each with its own store in a
// temporary directory. A server can be killed (-9), stopped and started
// again on the same ports and store; all are killed when the test ends.
//
//   const { startNats } = require('./lib/nats');
//   const ns = await startNats(t, { nodes: 3 });
//   ns.url                      // "nats://127.0.0.1:p1,nats://127.0.0.1:p2,..."
//   await ns.nodes[0].kill(); await ns.nodes[0].start();
//   await ns.stopAll(); await ns.startAll();

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort, sleep } = require('./daemon');
const { request } = require('./fakelog');

const NATS_SERVER = process.env.NATS_SERVER || '/usr/sbin/nats-server';

async function healthy(mport) {
  try {
    const r = await request('GET', `http://127.0.0.1:${mport}/healthz`);
    return r.status === 200;
  } catch (_) {
    return false;
  }
}

async function startNats(t, { nodes = 1 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certstream-nats-'));
  const ports = [];
  for (let i = 0; i < nodes; i++) {
    ports.push({ client: await freePort(), cluster: await freePort(), mon: await freePort() });
  }
  const routes = ports.map((p) => `nats://127.0.0.1:${p.cluster}`).join(',');
  const mk = (i) => {
    const p = ports[i];
    const args = ['-js', '-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.mon),
      '-sd', path.join(dir, `n${i}`), '--server_name', `n${i}`];
    if (nodes > 1) {
      args.push('--cluster_name', 'cs', '--cluster', `nats://127.0.0.1:${p.cluster}`,
        '--routes', routes);
    }
    const node = {
      port: p.client,
      url: `nats://127.0.0.1:${p.client}`,
      proc: null,
      log: '',
      async start() {
        node.proc = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        node.proc.stdout.on('data', (b) => { node.log += b.toString(); });
        node.proc.stderr.on('data', (b) => { node.log += b.toString(); });
        const deadline = Date.now() + 15000;
        while (Date.now() < deadline) {
          if (node.proc.exitCode !== null) throw new Error(`nats-server n${i} exited: ${node.log}`);
          if (await healthy(p.mon)) return;
          await sleep(50);
        }
        throw new Error(`nats-server n${i} not healthy in 15 s: ${node.log}`);
      },
      // A server of a cluster is healthy alone only once it sees the
      // others; start() of every node is awaited together (startAll).
      async kill() { await node.stop('SIGKILL'); },
      stop(sig = 'SIGTERM') {
        const pr = node.proc;
        node.proc = null;
        if (!pr || pr.exitCode !== null || pr.signalCode !== null) return Promise.resolve();
        return new Promise((r) => { pr.once('exit', r); pr.kill(sig); });
      },
    };
    return node;
  };
  const ns = {
    dir,
    nodes: ports.map((_, i) => mk(i)),
    get url() { return ns.nodes.map((n) => n.url).join(','); },
    startAll: () => Promise.all(ns.nodes.map((n) => n.start())),
    stopAll: () => Promise.all(ns.nodes.map((n) => n.stop('SIGKILL'))),
  };
  t.after(async () => {
    await ns.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await ns.startAll();
  return ns;
}

module.exports = { startNats };
