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
//   await ns.request('$JS.API.STREAM.PURGE.CERTSTREAM')  // the JSON answer

const { spawn } = require('node:child_process');
const net = require('node:net');
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

// One request through the NATS client protocol (what JetStream's API is
// made of), answered within 5 s: the answer's payload, parsed.
// One message on subject, no answer awaited: PING/PONG says it was taken.
function natsPublish(port, subject, body) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no PONG after PUB ${subject}`)); }, 5000);
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.once('data', () => {
      sock.write(`CONNECT {"verbose":false,"pedantic":false}\r\n` +
        `PUB ${subject} ${Buffer.byteLength(body)}\r\n${body}\r\nPING\r\n`);
    });
    let buf = '';
    sock.on('data', (b) => {
      buf += b.toString();
      if (!/PONG\r\n/.test(buf)) return;
      clearTimeout(timer);
      sock.destroy();
      resolve();
    });
  });
}

function natsRequest(port, subject, body) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer to ${subject}`)); }, 5000);
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.once('data', () => {
      sock.write(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.t 1\r\n` +
        `PUB ${subject} _INBOX.t ${Buffer.byteLength(body)}\r\n${body}\r\n`);
    });
    sock.on('data', (b) => {
      buf += b.toString();
      const m = /MSG _INBOX\.t 1 (\d+)\r\n/.exec(buf);
      if (!m) return;
      const at = m.index + m[0].length;
      if (buf.length < at + Number(m[1])) return;
      clearTimeout(timer);
      sock.destroy();
      resolve(JSON.parse(buf.slice(at, at + Number(m[1]))));
    });
  });
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
    request: (subject, body = '') => natsRequest(ns.nodes[0].port, subject, body),
    publish: (subject, body) => natsPublish(ns.nodes[0].port, subject, body),
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
