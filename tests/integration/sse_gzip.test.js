'use strict';
// Server-Sent Events under Content-Encoding: gzip from the ring's shared
// SSE streams, read by decoders this project did not write: curl
// --compressed (from the start, joining mid-stream, resumed with
// Last-Event-ID, filtered) and
// Chromium's EventSource (through playwright-core). Each must read exactly
// the events a plain client reads; a client that does not send
// Accept-Encoding gets today's bytes, unencoded.
const { test } = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startDaemon } = require('./lib/daemon');
const c = require('./lib/clients');

const feed = c.loadFeed(c.feedPath());
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// The body as it arrives, undecoded, and the response headers.
function rawBody(url, headers = {}) {
  const o = { chunks: [], headers: null, req: null };
  o.ready = new Promise((resolve, reject) => {
    o.req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      o.headers = res.headers;
      res.on('data', (b) => o.chunks.push(b));
      resolve(o);
    });
    o.req.on('error', reject);
  });
  o.ready.catch(() => {});
  o.body = () => Buffer.concat(o.chunks);
  o.close = () => o.req.destroy();
  return o;
}

// curl --compressed: its decoded output and the headers it saw.
function curl(url, seconds, args = []) {
  return new Promise((resolve, reject) => {
    const p = spawn('curl', ['-sS', '-N', '--compressed', '-D', '-', '--max-time', String(seconds), ...args, url]);
    const out = [];
    let err = '';
    p.stdout.on('data', (b) => out.push(b));
    p.stderr.on('data', (b) => { err += b; });
    p.on('error', reject);
    p.on('close', (code) => {
      const s = Buffer.concat(out).toString('utf8');
      const k = s.indexOf('\r\n\r\n');
      // 28: the --max-time that ends it; anything else is a failure
      if (code !== 28 || k < 0) reject(new Error(`curl exited ${code}: ${err}`));
      else resolve({ head: s.slice(0, k).toLowerCase(), text: s.slice(k + 4) });
    });
  });
}

// The events of an SSE text, checking its framing on the way: every
// block is a comment, or "id: N\ndata: D" (or a gap event), nothing else.
function events(text, label) {
  const blocks = text.split('\n\n');
  blocks.pop(); // what follows the last complete event
  const ev = [];
  for (const b of blocks) {
    if (b.startsWith(':') || b.startsWith('event: gap\n')) continue;
    const m = /^id: (\d+)\ndata: (\{.*\})$/.exec(b);
    assert.ok(m, `${label}: not an event: ${JSON.stringify(b.slice(0, 80))}`);
    ev.push({ id: Number(m[1]), data: m[2] });
  }
  return ev;
}

// Every event of got is the reference's, ids in a row. Returns how many.
function agree(ref, got, label, inRow = true) {
  const byId = new Map(ref.map((e) => [e.id, e.data]));
  let n = 0;
  for (let i = 0; i < got.length; i++) {
    if (inRow && i > 0) assert.strictEqual(got[i].id, got[i - 1].id + 1, `${label}: event ${got[i - 1].id} then ${got[i].id}`);
    if (!byId.has(got[i].id)) continue;
    assert.strictEqual(got[i].data, byId.get(got[i].id), `${label}: event ${got[i].id} differs`);
    n++;
  }
  return n;
}

test('curl --compressed and Chromium EventSource read the shared gzip SSE streams exactly as the plain ones; no Accept-Encoding, no encoding', async (t) => {
  // The browser starts while the daemon does.
  const { chromium } = require(path.join(c.NODE_MODULES, 'playwright-core'));
  const launching = chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  t.after(async () => (await launching).close());
  const d = await startDaemon({
    t,
    workers: 2,
    conf: c.confFor(feed.file, {
      rate: 300,
      extra: 'buffer_size: 4096\ncompression:\n  keyframe_records: 16\nserver:\n  heartbeat_interval_secs: 1\n',
    }),
  });
  const lite = d.url('/sse?stream=lite');
  const full = d.url('/sse?stream=full');
  // The references: no Accept-Encoding, so no encoding.
  const refLite = rawBody(lite);
  const refFull = rawBody(full);
  // Our own look at the wire: the head and the gzip member's start.
  const wire = rawBody(lite, { 'Accept-Encoding': 'gzip' });
  t.after(() => [refLite, refFull, wire].forEach((o) => o.close()));
  await Promise.all([refLite.ready, refFull.ready, wire.ready]);
  assert.strictEqual(refLite.headers['content-encoding'], undefined);
  assert.strictEqual(wire.headers['content-encoding'], 'gzip');
  assert.strictEqual(wire.headers.vary, 'Accept-Encoding');

  const fromStart = curl(lite, 4);
  const domain = feed.records[0].data.leaf_cert.all_domains[0];
  const filtered = curl(d.url(`/sse?stream=lite&domain=${encodeURIComponent(domain)}`), 4);

  // Chromium: EventSource on the full stream from a page of the daemon.
  const page = await (await (await launching).newContext()).newPage();
  await page.goto(d.url('/health'));
  const chrome = page.evaluate((u) => new Promise((resolve) => {
    const es = new EventSource(u);
    const got = [];
    es.onmessage = (e) => got.push({ id: Number(e.lastEventId), data: e.data });
    setTimeout(() => { es.close(); resolve(got); }, 3000);
  }), '/sse?stream=full');

  await c.sleep(1000);
  const joiner = curl(lite, 2.5);
  // one that comes back 200 records behind: stored blocks, then in step
  const seen = events(refLite.body().toString('utf8'), 'plain lite so far');
  const back = seen[seen.length - 200].id;
  const resumed = curl(lite, 2.5, ['-H', `Last-Event-ID: ${back}`]);
  // one whose id is long gone: a comment and a gap event first
  const gone = curl(lite, 2.5, ['-H', `Last-Event-ID: ${seen[0].id - 100000}`]);
  const [a, f, j, chr, r, g] = await Promise.all([fromStart, filtered, joiner, chrome, resumed, gone]);
  await c.sleep(300);
  [refLite, refFull, wire].forEach((o) => o.close());

  const rl = events(refLite.body().toString('utf8'), 'plain lite');
  const rf = events(refFull.body().toString('utf8'), 'plain full');
  assert.match(a.head, /\r\ncontent-encoding: gzip\r\n/, 'curl: not gzip');
  assert.doesNotMatch(f.head, /content-encoding/, 'a filtered client cannot use the shared stream: sent plain');
  const counts = {
    start: agree(rl, events(a.text, 'curl from the start'), 'curl from the start'),
    joined: agree(rl, events(j.text, 'curl joining'), 'curl joining'),
    resumed: agree(rl, events(r.text, 'curl resumed'), 'curl resumed'),
    gone: agree(rl, events(g.text, 'curl resumed, gone'), 'curl resumed, gone'),
    filtered: agree(rl, events(f.text, 'curl filtered'), 'curl filtered', false),
    chromium: agree(rf, chr, 'chromium'),
  };
  assert.ok(counts.start >= 600, `curl from the start: ${counts.start} events compared`);
  assert.ok(counts.joined >= 300, `curl joining: ${counts.joined}`);
  assert.strictEqual(events(r.text, 'curl resumed')[0].id, back + 1, 'resumed after the id it gave');
  assert.ok(counts.resumed >= 400, `curl resumed: ${counts.resumed}`);
  assert.match(g.head, /\r\ncontent-encoding: gzip\r\n/);
  assert.match(g.text, /^: skipped \d+ records\n\nevent: gap\ndata: \{"skipped":/, 'the skipped comment and gap event, decoded');
  assert.ok(counts.gone >= 300, `curl resumed, gone: ${counts.gone}`);
  assert.ok(counts.chromium >= 300, `chromium: ${counts.chromium}`);
  const fe = events(f.text, 'curl filtered');
  assert.ok(fe.length === 0 || fe.every((e) => e.data.includes(domain)), 'the filter held');

  // The compressed bytes went out, and are much smaller.
  const body = await c.httpGet(d.url('/metrics'));
  const m = (name, form) => Number(new RegExp(`^${name}\\{stream="${form}",protocol="sse"\\} (\\d+)$`, 'm')
    .exec(body.body || body)[1]);
  const ratio = {};
  for (const form of ['lite', 'full']) {
    const zb = m('certstream_stream_compressed_bytes_sent_total', form);
    const pb = m('certstream_stream_compressed_plain_bytes_total', form);
    assert.ok(zb > 0 && pb > 2 * zb, `${form}: compressed ${zb}, as plain ${pb}`);
    ratio[form] = (pb / zb).toFixed(2);
  }
  // The wire: a gzip member that node's zlib reads as the plain events.
  const gz = wire.body();
  assert.deepStrictEqual([...gz.subarray(0, 3)], [0x1f, 0x8b, 8]);
  const zlib = require('node:zlib');
  const wtext = zlib.gunzipSync(gz, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
  counts.wire = agree(rl, events(wtext, 'node zlib'), 'node zlib');
  console.log(`# events compared ${JSON.stringify(counts)}; wire ${gz.length} B for ${wtext.length} B; plain/compressed ${JSON.stringify(ratio)}`);
});
