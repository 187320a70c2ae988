'use strict';
// What the tests that point the daemon at the fake CT log share: its
// configuration, the log list file it watches, a /full-stream client that
// files every certificate by log, and the checks on what it filed.
//
//   const w = require('./lib/ctwatch');
//   fs.writeFileSync(listFile, w.EMPTY_LIST);
//   const d = await startDaemon({ conf: w.ctConf(listFile, stateFile, { dedup: true }), t });
//   const col = w.openCollector(d);            // col.count(url), col.seq(url)
//   w.writeList(listFile, text);               // atomically: the daemon polls it
//   w.assertExactlyOnce(col.seq(url), size, 'name');
//
// or, for the folder and the fake log's whole list:
//   const { listFile, stateFile } = w.watchDir(t, 'name-');  // empty list
//   await w.watchFakelog(listFile, fl);        // every log of fake log fl

const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const c = require('./clients');
const { getJson } = require('./fakelog');
const { request } = require('./fakelog');
const { testDir } = require('./daemon');

const EMPTY_LIST = '{"operators":[]}\n';

// ct_log keys of the tests: fast polls, short waits, every log from entry 0.
const CT_LOG_DEFAULTS = {
  poll_interval_ms: 100,
  partial_tile_wait_ms: 300,   // short: tests wait for the edge of static logs
  batch_size: 256,
  fetch_concurrency: 4,
  backfill: 1000000000,        // start every log at entry 0
  loglist_refresh_secs: 1,
  state_save_interval_secs: 1,
  request_timeout_secs: 5,
  connect_timeout_secs: 2,
};

// The daemon's configuration for a test of the fake log. ctLog overrides
// ct_log keys (null leaves a key at the daemon's default); dedup turns
// cross-log dedup on (off by default: the fake logs share real entries);
// dedupMax sets dedup.max_entries; extra is YAML appended as it is.
function ctConf(listFile, stateFile, { ctLog = {}, dedup = false, dedupMax, extra = '' } = {}) {
  const keys = { ...CT_LOG_DEFAULTS, ...ctLog };
  const lines = [
    'source: ct',
    `ct_logs_url: ${JSON.stringify(listFile)}`,
    'ct_log:',
    `  state_file: ${JSON.stringify(stateFile)}`,
  ];
  for (const [k, v] of Object.entries(keys)) {
    if (v !== null && v !== undefined) lines.push(`  ${k}: ${v}`);
  }
  lines.push('dedup:', `  enabled: ${dedup ? 'true' : 'false'}`);
  if (dedupMax !== undefined) lines.push(`  max_entries: ${dedupMax}`);
  lines.push(extra, '');
  return lines.join('\n');
}

// Replace the log list in one rename, so the daemon never reads half of it.
function writeList(file, list) {
  fs.writeFileSync(`${file}.tmp`, typeof list === 'string' ? list : JSON.stringify(list));
  fs.renameSync(`${file}.tmp`, file);
}

// A test's folder with an empty log list in it, for ctConf:
// { dir, listFile, stateFile }.
function watchDir(t, prefix) {
  const dir = testDir(t, prefix);
  const listFile = path.join(dir, 'loglist.json');
  writeList(listFile, EMPTY_LIST);
  return { dir, listFile, stateFile: path.join(dir, 'state.json') };
}

// Have the daemon watch every log of fake log fl: its list, written whole.
async function watchFakelog(listFile, fl) {
  writeList(listFile, (await request('GET', fl.url('/loglist.json'))).body);
}

// A /full-stream client filing every certificate's cert_index by log URL
// (and its fingerprint, in arrival order); anything that is not a whole,
// well-formed record is counted in bad.
function openCollector(d) {
  // Plain frames: node's ws inflates one message per event-loop turn and a
  // collector of thousands would fall behind (compression.test.js covers it).
  const ws = new c.WebSocket(d.url('/full-stream', 'ws'), { perMessageDeflate: false });
  const byLog = new Map();
  const col = {
    ws, byLog, fps: [], bad: 0,
    seq: (u) => byLog.get(u) || [],
    count: (u) => (byLog.get(u) || []).length,
    close: () => ws.terminate(),
  };
  ws.on('error', () => {});
  ws.on('message', (data) => {
    let m;
    try { m = JSON.parse(data.toString()); } catch (_) { col.bad++; return; }
    if (m.message_type !== 'certificate_update') return;
    const lc = m.data && m.data.leaf_cert;
    if (!lc || !/^[0-9A-F:]{95}$/.test(lc.sha256 || '') || !Array.isArray(lc.all_domains) ||
        typeof m.data.cert_index !== 'number' || !m.data.source) {
      col.bad++;
      return;
    }
    col.fps.push(lc.sha256);
    const u = m.data.source.url;
    if (!byLog.has(u)) byLog.set(u, []);
    byLog.get(u).push(m.data.cert_index);
  });
  return col;
}

// The log's entry in /health/deep, or undefined.
async function logStatus(d, url) {
  const h = await getJson(d.url('/health/deep'));
  return (h.logs || []).find((l) => l.url === url);
}

// seq holds exactly want, in order.
function assertIndexes(seq, want, name) {
  assert.strictEqual(seq.length, want.length, `${name}: ${seq.length} entries streamed, want ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (seq[i] !== want[i]) assert.fail(`${name}: position ${i} holds entry ${seq[i]}, want ${want[i]}`);
  }
}

// seq is from, from+1, ..., to-1.
function assertRange(seq, from, to, name) {
  assertIndexes(seq, Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i), name);
}

// seq is every entry of a log of size entries once, in order.
function assertExactlyOnce(seq, size, name) {
  assertRange(seq, 0, size, name);
}

module.exports = {
  EMPTY_LIST, ctConf, writeList, openCollector, logStatus,
  assertIndexes, assertRange, assertExactlyOnce,
  watchDir, watchFakelog,
};
