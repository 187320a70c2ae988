'use strict';
// For `tests/bench/run.sh compress`: N WebSocket clients on one stream,
// offering permessage-deflate or not, for SECS seconds; prints the
// messages and wire bytes they received.
//   node tests/bench/compress_clients.js URL N SECS deflate|plain
const path = require('node:path');

const WebSocket = require(path.join(__dirname, '..', 'node', 'node_modules', 'ws'));
const [url, n, secs, mode] = process.argv.slice(2);
let msgs = 0;
let wire = 0;
let open = 0;
const socks = [];
for (let i = 0; i < Number(n); i++) {
  const ws = new WebSocket(url, { perMessageDeflate: mode === 'deflate' });
  ws.on('open', () => {
    open++;
    ws._socket.on('data', (b) => { wire += b.length; });
  });
  ws.on('message', () => { msgs++; });
  ws.on('error', (e) => { console.error(`client ${i}: ${e.message}`); });
  socks.push(ws);
}
const t = setInterval(() => {
  if (open < Number(n)) return;
  clearInterval(t);
  console.log('ready');
  const m0 = msgs;
  const w0 = wire;
  setTimeout(() => {
    console.log(`messages ${msgs - m0}`);
    console.log(`wire_bytes ${wire - w0}`);
    socks.forEach((ws) => ws.terminate());
    process.exit(0);
  }, Number(secs) * 1000);
}, 20);
