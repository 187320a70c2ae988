'use strict';
// The fake CT log (build/fakelog) checked from the outside, with node's own
// crypto: RFC 6962 tree head signatures (§3.5) and Merkle roots (§2.1) over
// every served leaf, consistency and audit proofs, static-ct-api
// checkpoints (signed note, RFC6962NoteSignature), data and hash tiles and
// issuers, the real rome2024h1 checkpoint through the same verifier,
// every fault kind doing what it says, and the flags that make a static log
// behave like a real one (publish interval, stale checkpoints, deleted
// partials, witness cosignatures, Range, gzip, request accounting).
// FAKELOG_BIN=build/fakelog-asan runs it all against the ASan build.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { FAKELOG, startFakelog } = require('./lib/fakelog');

const ROOT = path.resolve(__dirname, '..', '..');
const REAL_ENTRIES = 1032; // corpus entries before the generated ones

// ---------- process and HTTP helpers ----------

// Raw HTTP (no redirects followed, no decompression).
function raw(method, url, { timeout = 5000, maxBytes = Infinity, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      let n = 0;
      res.on('data', (d) => {
        chunks.push(d);
        n += d.length;
        if (n >= maxBytes) {
          req.destroy();
          resolve({ status: res.statusCode, headers: res.headers,
            body: Buffer.concat(chunks), cut: true });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks), cut: false }));
      res.on('error', () => {});
    });
    req.setTimeout(timeout, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function getJson(url) {
  const r = await raw('GET', url);
  assert.strictEqual(r.status, 200, `${url}: ${r.body}`);
  return JSON.parse(r.body.toString());
}

const fault = (fl, log, q) => raw('POST', `${fl.base}/control/${log}/fault?${q}`);
const state = (fl, log) => getJson(`${fl.base}/control/${log}/state`);

// ---------- RFC 6962 / static-ct-api encodings ----------

const sha256 = (...bufs) => {
  const h = crypto.createHash('sha256');
  for (const b of bufs) h.update(b);
  return h.digest();
};
const leafHash = (leaf) => sha256(Buffer.from([0]), leaf);
const nodeHash = (l, r) => sha256(Buffer.from([1]), l, r);

function mth(hashes) {
  if (hashes.length === 0) return sha256(Buffer.alloc(0));
  if (hashes.length === 1) return hashes[0];
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return nodeHash(mth(hashes.slice(0, k)), mth(hashes.slice(k)));
}

function u64(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

// RFC 6962 §3.5 TreeHeadSignature.
function sthTbs(ts, size, root) {
  return Buffer.concat([Buffer.from([0, 1]), u64(ts), u64(size), root]);
}

function verifyDigitallySigned(spkiB64, tbs, ds) {
  assert.strictEqual(ds[0], 4, 'hash algorithm sha256');
  assert.strictEqual(ds[1], 3, 'signature algorithm ecdsa');
  const len = ds.readUInt16BE(2);
  assert.strictEqual(ds.length, 4 + len);
  const key = crypto.createPublicKey({ key: Buffer.from(spkiB64, 'base64'),
    format: 'der', type: 'spki' });
  return crypto.verify('sha256', tbs, key, ds.subarray(4));
}

class Rd {
  constructor(b) { this.b = b; this.o = 0; }
  n(k) {
    if (this.o + k > this.b.length) throw new Error('short');
    let v = 0;
    for (let i = 0; i < k; i++) v = v * 256 + this.b[this.o++];
    return v;
  }
  bytes(k) {
    if (this.o + k > this.b.length) throw new Error('short');
    const s = this.b.subarray(this.o, this.o + k);
    this.o += k;
    return s;
  }
  vec(k) { return this.bytes(this.n(k)); }
  get done() { return this.o === this.b.length; }
}

// TimestampedEntry fields from a reader.
function readTst(r) {
  const ts = r.n(8);
  const type = r.n(2);
  const ikh = type === 1 ? r.bytes(32) : null;
  const cert = r.vec(3);
  const ext = r.vec(2);
  return { ts, type, ikh, cert, ext };
}

function parseLeaf(leafB64, extraB64) {
  const leaf = Buffer.from(leafB64, 'base64');
  const r = new Rd(leaf);
  assert.strictEqual(r.n(1), 0, 'version v1');
  assert.strictEqual(r.n(1), 0, 'timestamped_entry');
  const e = readTst(r);
  assert.ok(r.done, 'no bytes after the MerkleTreeLeaf');
  const x = new Rd(Buffer.from(extraB64, 'base64'));
  e.precert = e.type === 1 ? x.vec(3) : null;
  const chain = new Rd(x.vec(3));
  assert.ok(x.done, 'no bytes after extra_data');
  e.chain = [];
  while (!chain.done) e.chain.push(chain.vec(3));
  e.leaf = leaf;
  return e;
}

// Consistency proof check, RFC 9162 §2.1.4.2.
function verifyConsistency(first, second, proof, oldRoot, newRoot) {
  if (first === second) return proof.length === 0 && oldRoot.equals(newRoot);
  let p = proof.slice();
  if ((first & (first - 1)) === 0) p = [oldRoot, ...p];
  let fn = first - 1;
  let sn = second - 1;
  while (fn & 1) { fn >>= 1; sn >>= 1; }
  let fr = p[0];
  let sr = p[0];
  for (const c of p.slice(1)) {
    if (sn === 0) return false;
    if ((fn & 1) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!(fn & 1)) while (fn !== 0 && !(fn & 1)) { fn >>= 1; sn >>= 1; }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr.equals(oldRoot) && sr.equals(newRoot) && sn === 0;
}

// Audit path check, RFC 9162 §2.1.3.2.
function verifyAudit(index, size, leaf, proof, root) {
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if ((fn & 1) || fn === sn) {
      r = nodeHash(p, r);
      if (!(fn & 1)) while (fn !== 0 && !(fn & 1)) { fn >>= 1; sn >>= 1; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.equals(root);
}

// A checkpoint: text lines, and its RFC6962NoteSignature checked.
function checkNote(text, spkiB64) {
  const [body, sigs] = text.split('\n\n');
  const [origin, size, rootB64] = body.split('\n');
  const spki = Buffer.from(spkiB64, 'base64');
  const keyId = sha256(Buffer.from(`${origin}\n`), Buffer.from([5]), sha256(spki))
    .subarray(0, 4);
  const out = { origin, size: Number(size), root: Buffer.from(rootB64, 'base64'),
    valid: false, ts: 0 };
  for (const line of sigs.split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== origin) continue;
    const s = Buffer.from(m[2], 'base64');
    if (!s.subarray(0, 4).equals(keyId)) continue;
    out.ts = Number(s.readBigUInt64BE(4));
    out.valid = verifyDigitallySigned(spkiB64, sthTbs(out.ts, out.size, out.root),
      s.subarray(12));
  }
  return out;
}

function parseTile(buf) {
  const r = new Rd(buf);
  const out = [];
  while (!r.done) {
    const e = readTst(r);
    e.precert = e.type === 1 ? r.vec(3) : null;
    const fps = r.vec(2);
    e.fingerprints = [];
    for (let i = 0; i < fps.length; i += 32) e.fingerprints.push(fps.subarray(i, i + 32));
    // MerkleTreeLeaf = version, leaf type, TimestampedEntry.
    e.leaf = Buffer.concat([Buffer.from([0, 0]), u64(e.ts), Buffer.from([0, e.type]),
      e.ikh || Buffer.alloc(0), Buffer.from([e.cert.length >> 16, (e.cert.length >> 8) & 255,
        e.cert.length & 255]), e.cert, Buffer.from([e.ext.length >> 8, e.ext.length & 255]),
      e.ext]);
    out.push(e);
  }
  return out;
}

const tilePath = (n) => {
  let s = String(n % 1000).padStart(3, '0');
  for (n = Math.floor(n / 1000); n > 0; n = Math.floor(n / 1000)) {
    s = `x${String(n % 1000).padStart(3, '0')}/${s}`;
  }
  return s;
};

const parseLeafJson = (e) => parseLeaf(e.leaf_input, e.extra_data);

async function allEntries(fl, log, size) {
  const out = [];
  while (out.length < size) {
    const j = await getJson(`${fl.base}/${log}/ct/v1/get-entries?start=${out.length}&end=${size - 1}`);
    assert.ok(j.entries.length > 0);
    for (const e of j.entries) out.push(parseLeaf(e.leaf_input, e.extra_data));
  }
  return out;
}

// ---------- tests ----------

describe('fakelog RFC 6962', () => {
  let fl;
  before(async () => {
    fl = await startFakelog(['--rfc6962', 'log1', '--rfc6962', 'log2', '--static', 'st1',
      '--initial-size', '1300', '--batch-cap', '250', '--hold-secs', '2']);
  });
  after(async () => { assert.strictEqual(await fl.stop(), 0, fl.stderr().slice(-3000)); });

  test('log list names every log with its key and log ID', async () => {
    const ll = await getJson(`${fl.base}/loglist.json`);
    const op = ll.operators[0];
    assert.deepStrictEqual(op.logs.map((l) => l.url),
      [`${fl.base}/log1/`, `${fl.base}/log2/`]);
    assert.strictEqual(op.tiled_logs[0].monitoring_url, `${fl.base}/st1/`);
    assert.strictEqual(op.tiled_logs[0].submission_url, `${fl.base}/st1/`);
    for (const l of [...op.logs, ...op.tiled_logs]) {
      assert.ok(l.state.usable);
      assert.strictEqual(l.log_id, sha256(Buffer.from(l.key, 'base64')).toString('base64'));
      const k = crypto.createPublicKey({ key: Buffer.from(l.key, 'base64'), format: 'der', type: 'spki' });
      assert.strictEqual(k.asymmetricKeyDetails.namedCurve, 'prime256v1');
    }
    assert.notStrictEqual(op.logs[0].log_id, op.logs[1].log_id);
  });

  test('get-sth signature verifies and its root is the MTH of every served leaf', async () => {
    const sth = await getJson(`${fl.base}/log1/ct/v1/get-sth`);
    assert.strictEqual(sth.tree_size, 1300);
    const root = Buffer.from(sth.sha256_root_hash, 'base64');
    assert.ok(verifyDigitallySigned(fl.logs.log1.key, sthTbs(sth.timestamp, sth.tree_size, root),
      Buffer.from(sth.tree_head_signature, 'base64')));
    // A signature from log2's key must not pass as log1's.
    assert.ok(!verifyDigitallySigned(fl.logs.log2.key, sthTbs(sth.timestamp, sth.tree_size, root),
      Buffer.from(sth.tree_head_signature, 'base64')));
    const entries = await allEntries(fl, 'log1', sth.tree_size);
    assert.strictEqual(entries.length, 1300);
    assert.ok(mth(entries.map((e) => leafHash(e.leaf))).equals(root));
  });

  test('get-entries is capped at --batch-cap and clamped to the tree', async () => {
    let j = await getJson(`${fl.base}/log1/ct/v1/get-entries?start=0&end=999`);
    assert.strictEqual(j.entries.length, 250);
    j = await getJson(`${fl.base}/log1/ct/v1/get-entries?start=1290&end=5000`);
    assert.strictEqual(j.entries.length, 10);
    const r = await raw('GET', `${fl.base}/log1/ct/v1/get-entries?start=1300&end=1300`);
    assert.strictEqual(r.status, 400);
  });

  test('entries: real ones first, then generated leaf certificates and precertificates', async () => {
    const entries = await allEntries(fl, 'log1', 1300);
    // Entry 0 is the real Icarus entry (gem-jewelers.com, Let's Encrypt X3).
    const first = new crypto.X509Certificate(entries[0].cert);
    assert.match(first.subjectAltName, /gem-jewelers\.com/);
    const gen = entries.slice(REAL_ENTRIES);
    const types = new Set(gen.map((e) => e.type));
    assert.deepStrictEqual([...types].sort(), [0, 1]);
    for (const e of gen) {
      const ca = new crypto.X509Certificate(e.chain[0]);
      assert.ok(ca.ca);
      if (e.type === 0) {
        const c = new crypto.X509Certificate(e.cert);
        assert.match(c.subjectAltName, /\.log1\.fakelog\.test/);
        assert.ok(c.verify(ca.publicKey), 'leaf signed by the chain CA');
      } else {
        const pre = new crypto.X509Certificate(e.precert);
        assert.ok(pre.verify(ca.publicKey), 'precert signed by the chain CA');
        assert.ok(e.ikh.equals(sha256(ca.publicKey.export({ type: 'spki', format: 'der' }))));
        // The poison extension (1.3.6.1.4.1.11129.2.4.3) is in the precert only.
        const poison = Buffer.from('060a2b06010401d679020403', 'hex');
        assert.ok(e.precert.includes(poison));
        assert.ok(!e.cert.includes(poison));
      }
    }
    // Deterministic and distinct per log: same seed, different SANs.
    const other = await getJson(`${fl.base}/log2/ct/v1/get-entries?start=1100&end=1100`);
    assert.notStrictEqual(other.entries[0].leaf_input, (await getJson(
      `${fl.base}/log1/ct/v1/get-entries?start=1100&end=1100`)).entries[0].leaf_input);
  });

  test('consistency and audit proofs verify', async () => {
    const entries = await allEntries(fl, 'log1', 1300);
    const hashes = entries.map((e) => leafHash(e.leaf));
    const root = mth(hashes);
    for (const first of [1, 7, 256, 1000, 1299, 1300]) {
      const j = await getJson(`${fl.base}/log1/ct/v1/get-sth-consistency?first=${first}&second=1300`);
      const proof = j.consistency.map((h) => Buffer.from(h, 'base64'));
      assert.ok(verifyConsistency(first, 1300, proof, mth(hashes.slice(0, first)), root),
        `consistency ${first}..1300`);
    }
    for (const idx of [0, 5, 1031, 1299]) {
      const h = encodeURIComponent(hashes[idx].toString('base64'));
      const j = await getJson(`${fl.base}/log1/ct/v1/get-proof-by-hash?hash=${h}&tree_size=1300`);
      assert.strictEqual(j.leaf_index, idx);
      assert.ok(verifyAudit(idx, 1300, hashes[idx], j.audit_path.map((x) => Buffer.from(x, 'base64')), root));
    }
  });

  test('get-roots returns the test CAs', async () => {
    const j = await getJson(`${fl.base}/log1/ct/v1/get-roots`);
    assert.strictEqual(j.certificates.length, 2);
    const subjects = j.certificates.map((c) => new crypto.X509Certificate(Buffer.from(c, 'base64')).subject);
    assert.ok(subjects.every((s) => /Fakelog Test/.test(s)));
  });

  test('the log grows on request and the new tree is consistent with the old', async () => {
    const before = await getJson(`${fl.base}/log2/ct/v1/get-sth`);
    const st = JSON.parse((await raw('POST', `${fl.base}/control/log2/grow?n=300`)).body);
    assert.strictEqual(st.size, 1600);
    const sth = await getJson(`${fl.base}/log2/ct/v1/get-sth`);
    assert.strictEqual(sth.tree_size, 1600);
    assert.ok(sth.timestamp >= before.timestamp);
    const j = await getJson(`${fl.base}/log2/ct/v1/get-sth-consistency?first=1300&second=1600`);
    assert.ok(verifyConsistency(1300, 1600, j.consistency.map((h) => Buffer.from(h, 'base64')),
      Buffer.from(before.sha256_root_hash, 'base64'), Buffer.from(sth.sha256_root_hash, 'base64')));
  });
});

describe('fakelog static-ct-api', () => {
  let fl;
  before(async () => {
    fl = await startFakelog(['--static', 'st1', '--initial-size', '1100', '--gzip-tiles']);
  });
  after(async () => { assert.strictEqual(await fl.stop(), 0, fl.stderr().slice(-3000)); });

  test('checkpoint is a signed note whose root is the MTH of the data tiles', async () => {
    const r = await raw('GET', `${fl.base}/st1/checkpoint`);
    const cp = checkNote(r.body.toString(), fl.logs.st1.key);
    assert.strictEqual(cp.origin, `127.0.0.1:${fl.port}/st1`);
    assert.strictEqual(cp.size, 1100);
    assert.ok(cp.valid, 'RFC6962NoteSignature verifies');
    const leaves = [];
    for (let n = 0; n * 256 < cp.size; n++) {
      const w = Math.min(256, cp.size - n * 256);
      const p = `${fl.base}/st1/tile/data/${tilePath(n)}${w < 256 ? `.p/${w}` : ''}`;
      const t = await raw('GET', p);
      assert.strictEqual(t.status, 200, p);
      leaves.push(...parseTile(t.body));
    }
    assert.strictEqual(leaves.length, 1100);
    leaves.forEach((e, i) => {
      // leaf_index extension (type 0, uint40) equals the position.
      assert.strictEqual(e.ext.toString('hex'), `000005${i.toString(16).padStart(10, '0')}`);
    });
    const hashes = leaves.map((e) => leafHash(e.leaf));
    assert.ok(mth(hashes).equals(cp.root));
    // Level-0 hash tile 0 holds the first 256 leaf hashes.
    const h0 = await raw('GET', `${fl.base}/st1/tile/0/000`);
    assert.ok(h0.body.equals(Buffer.concat(hashes.slice(0, 256))));
    // Level-1 partial tile: 1100 >> 8 = 4 complete level-8 nodes.
    const h1 = await raw('GET', `${fl.base}/st1/tile/1/000.p/4`);
    assert.ok(h1.body.subarray(0, 32).equals(mth(hashes.slice(0, 256))));
    assert.strictEqual((await raw('GET', `${fl.base}/st1/tile/1/000.p/5`)).status, 404);
    assert.strictEqual((await raw('GET', `${fl.base}/st1/tile/data/004`)).status, 404);
  });

  test('the first 1024 leaves are the real navigli2025h2 ones (same hash tiles)', async () => {
    for (const n of ['000', '003']) {
      const real = fs.readFileSync(path.join('/work/shared/testdata/real/static-ct/navigli2025h2/tile/0', n));
      const ours = await raw('GET', `${fl.base}/st1/tile/0/${n}`);
      assert.ok(ours.body.equals(real), `hash tile 0/${n}`);
    }
  }, { skip: !fs.existsSync('/work/shared/testdata/real/static-ct/navigli2025h2/tile/0/000') });

  test('issuers are served by fingerprint', async () => {
    const t = parseTile((await raw('GET', `${fl.base}/st1/tile/data/000`)).body);
    const seen = new Set();
    for (const e of t) for (const fp of e.fingerprints) seen.add(fp.toString('hex'));
    seen.add(parseTile((await raw('GET', `${fl.base}/st1/tile/data/004.p/76`)).body)[75]
      .fingerprints[0].toString('hex'));
    assert.ok(seen.size >= 3);
    for (const hex of seen) {
      const r = await raw('GET', `${fl.base}/st1/issuer/${hex}`);
      assert.strictEqual(r.status, 200);
      assert.strictEqual(sha256(r.body).toString('hex'), hex);
      assert.ok(new crypto.X509Certificate(r.body).ca);
    }
    assert.strictEqual((await raw('GET', `${fl.base}/st1/issuer/${'00'.repeat(32)}`)).status, 404);
  });

  test('--gzip-tiles: tiles are gzip for clients that accept it', async () => {
    const plain = await raw('GET', `${fl.base}/st1/tile/data/001`);
    const gz = await new Promise((resolve, reject) => {
      http.get(`${fl.base}/st1/tile/data/001`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const c = [];
        res.on('data', (d) => c.push(d));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(c) }));
      }).on('error', reject);
    });
    assert.strictEqual(plain.headers['content-encoding'], undefined);
    assert.strictEqual(gz.headers['content-encoding'], 'gzip');
    assert.ok(zlib.gunzipSync(gz.body).equals(plain.body));
  });

  test('the note verifier accepts the real rome2024h1 checkpoint and rejects a changed one', async () => {
    const dir = path.join(ROOT, 'tests/data/fakelog/rome2024h1');
    let r = spawnSync(FAKELOG, ['--verify-note', path.join(dir, 'checkpoint'),
      '--note-key', path.join(dir, 'pubkey.b64der')]);
    assert.strictEqual(r.status, 0, r.stdout.toString());
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fakelog-'));
    try {
      const bad = fs.readFileSync(path.join(dir, 'checkpoint'), 'utf8').replace('115474666', '115474665');
      fs.writeFileSync(path.join(tmp, 'cp'), bad);
      r = spawnSync(FAKELOG, ['--verify-note', path.join(tmp, 'cp'), '--note-key', path.join(dir, 'pubkey.b64der')]);
      assert.strictEqual(r.status, 1);
      // Our own checkpoint passes the same C verifier, and node's.
      fs.writeFileSync(path.join(tmp, 'ours'), (await raw('GET', `${fl.base}/st1/checkpoint`)).body);
      fs.writeFileSync(path.join(tmp, 'key'), fl.logs.st1.key);
      r = spawnSync(FAKELOG, ['--verify-note', path.join(tmp, 'ours'), '--note-key', path.join(tmp, 'key')]);
      assert.strictEqual(r.status, 0, r.stdout.toString());
    } finally {
      fs.rmSync(tmp, { recursive: true });
    }
    // node's verifier agrees on the real checkpoint.
    const real = checkNote(fs.readFileSync(path.join(dir, 'checkpoint'), 'utf8'),
      fs.readFileSync(path.join(dir, 'pubkey.b64der'), 'utf8').trim());
    assert.ok(real.valid);
    assert.strictEqual(real.size, 115474666);
  });
});

test('--seed makes entries and keys reproducible; --real first keeps real entries in one log', async () => {
  const args = ['--rfc6962', 'r1', '--rfc6962', 'r2', '--initial-size', '1100', '--real', 'first'];
  const a = await startFakelog([...args, '--seed', 'one']);
  const b = await startFakelog([...args, '--seed', 'one']);
  const c = await startFakelog([...args, '--seed', 'two']);
  try {
    const q = '/r1/ct/v1/get-entries?start=1030&end=1099';
    const ea = await getJson(`${a.base}${q}`);
    assert.deepStrictEqual(await getJson(`${b.base}${q}`), ea);
    assert.strictEqual(a.logs.r1.key, b.logs.r1.key);
    const ec = await getJson(`${c.base}${q}`);
    assert.deepStrictEqual(ec.entries.slice(0, 2), ea.entries.slice(0, 2), 'real entries do not depend on the seed');
    assert.notDeepStrictEqual(ec.entries.slice(2), ea.entries.slice(2));
    assert.notStrictEqual(a.logs.r1.key, c.logs.r1.key);
    // --real first: r2 starts with generated certificates.
    const r2 = parseLeafJson((await getJson(`${a.base}/r2/ct/v1/get-entries?start=0&end=0`)).entries[0]);
    const cert = new crypto.X509Certificate(r2.type === 1 ? r2.precert : r2.cert);
    assert.match(cert.issuer, /Fakelog Test/);
  } finally {
    for (const f of [a, b, c]) assert.strictEqual(await f.stop(), 0, f.stderr());
  }
});

test('--lint-certs: the zlint edge-case certificates follow the real entries, in name order', async () => {
  const dir = path.join(ROOT, 'tests/data/fakelog/certs');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.pem')).sort();
  const ders = files.map((f) => new crypto.X509Certificate(fs.readFileSync(path.join(dir, f))).raw);
  assert.strictEqual(ders.length, 17);
  const fl = await startFakelog(['--rfc6962', 'l1', '--static', 'l2', '--initial-size', '1100', '--lint-certs']);
  try {
    const j = await getJson(`${fl.base}/l1/ct/v1/get-entries?start=${REAL_ENTRIES}&end=${REAL_ENTRIES + 17}`);
    const got = j.entries.map(parseLeafJson);
    got.slice(0, 17).forEach((e, i) => {
      assert.strictEqual(e.type, 0);
      assert.ok(e.cert.equals(ders[i]), files[i]);
      assert.deepStrictEqual(e.chain, []);
    });
    assert.match(new crypto.X509Certificate(got[17].type === 1 ? got[17].precert : got[17].cert).issuer,
      /Fakelog Test/, 'generated entries after them');
    // The static log carries them too, and its tree still matches its checkpoint.
    const cp = checkNote((await raw('GET', `${fl.base}/l2/checkpoint`)).body.toString(), fl.logs.l2.key);
    const leaves = [];
    for (let n = 0; n * 256 < cp.size; n++) {
      const w = Math.min(256, cp.size - n * 256);
      leaves.push(...parseTile((await raw('GET',
        `${fl.base}/l2/tile/data/${tilePath(n)}${w < 256 ? `.p/${w}` : ''}`)).body));
    }
    assert.ok(leaves.slice(REAL_ENTRIES, REAL_ENTRIES + 17).every((e, i) =>
      e.cert.equals(ders[i]) && e.fingerprints.length === 0));
    assert.ok(cp.valid && mth(leaves.map((e) => leafHash(e.leaf))).equals(cp.root));
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
  }
});

test('--grow-per-sec grows every log on a timer up to --max-size', async () => {
  const fl = await startFakelog(['--rfc6962', 'g1', '--static', 'g2', '--initial-size', '100',
    '--grow-per-sec', '400', '--max-size', '500']);
  try {
    await new Promise((r) => setTimeout(r, 600));
    const mid = (await state(fl, 'g1')).size;
    assert.ok(mid > 100 && mid < 500, `size ${mid} after 0.6 s`);
    await new Promise((r) => setTimeout(r, 1400));
    assert.strictEqual((await state(fl, 'g1')).size, 500);
    const cp = checkNote((await raw('GET', `${fl.base}/g2/checkpoint`)).body.toString(), fl.logs.g2.key);
    assert.strictEqual(cp.size, 500);
    assert.ok(cp.valid);
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
  }
});

test('--key LOG=FILE signs that log with a given P-256 key', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fakelog-key-'));
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(path.join(tmp, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const fl = await startFakelog(['--rfc6962', 'k1', '--rfc6962', 'k2', '--initial-size', '50',
    '--key', `k1=${path.join(tmp, 'k.pem')}`]);
  try {
    const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const ll = await getJson(`${fl.base}/loglist.json`);
    assert.strictEqual(ll.operators[0].logs[0].key, spki);
    assert.notStrictEqual(ll.operators[0].logs[1].key, spki);
    const sth = await getJson(`${fl.base}/k1/ct/v1/get-sth`);
    assert.ok(verifyDigitallySigned(spki, sthTbs(sth.timestamp, sth.tree_size,
      Buffer.from(sth.sha256_root_hash, 'base64')), Buffer.from(sth.tree_head_signature, 'base64')));
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
    fs.rmSync(tmp, { recursive: true });
  }
});

test('--tls-cert/--tls-key: the logs are served over HTTPS; an untrusted client gets a TLS error', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fakelog-tls-'));
  const cert = path.join(tmp, 'cert.pem');
  const key = path.join(tmp, 'key.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  if (gen.status !== 0) {
    t.skip('openssl cannot make a test certificate');
    return;
  }
  const fl = await startFakelog(['--rfc6962', 't1', '--static', 't2', '--initial-size', '300',
    '--tls-cert', cert, '--tls-key', key]);
  const get = (url, opts) => new Promise((resolve, reject) => {
    https.get(url, opts, (res) => {
      const c = [];
      res.on('data', (d) => c.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(c) }));
    }).on('error', reject);
  });
  try {
    const ca = fs.readFileSync(cert);
    const base = `https://127.0.0.1:${fl.port}`;
    const ll = JSON.parse((await get(`${base}/loglist.json`, { ca })).body);
    assert.strictEqual(ll.operators[0].logs[0].url, `${base}/t1/`);
    assert.strictEqual(ll.operators[0].tiled_logs[0].monitoring_url, `${base}/t2/`);
    const sth = JSON.parse((await get(`${base}/t1/ct/v1/get-sth`, { ca })).body);
    assert.strictEqual(sth.tree_size, 300);
    const cp = checkNote((await get(`${base}/t2/checkpoint`, { ca })).body.toString(), fl.logs.t2.key);
    assert.ok(cp.valid);
    await assert.rejects(get(`${base}/t1/ct/v1/get-sth`, {}), /self-signed|self signed/);
    await assert.rejects(raw('GET', `http://127.0.0.1:${fl.port}/t1/ct/v1/get-sth`, { timeout: 2000 }));
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
    fs.rmSync(tmp, { recursive: true });
  }
});

describe('fakelog faults', () => {
  let fl;
  before(async () => {
    fl = await startFakelog(['--rfc6962', 'f1', '--static', 'fs1', '--initial-size', '1100',
      '--hold-secs', '3', '--fault', 'f1:500:1']);
  });
  after(async () => { assert.strictEqual(await fl.stop(), 0, fl.stderr().slice(-3000)); });
  const sthUrl = () => `${fl.base}/f1/ct/v1/get-sth`;
  const entriesUrl = (s, e) => `${fl.base}/f1/ct/v1/get-entries?start=${s}&end=${e}`;

  test('--fault flag: first request gets 500, the next is fine; state counts it', async () => {
    assert.strictEqual((await raw('GET', sthUrl())).status, 500);
    assert.strictEqual((await raw('GET', sthUrl())).status, 200);
    const st = await state(fl, 'f1');
    assert.strictEqual(st.faults_fired, 1);
    assert.deepStrictEqual(st.faults, []);
  });

  test('429 carries Retry-After, for count requests', async () => {
    await fault(fl, 'f1', 'kind=429&count=2&param=7');
    assert.strictEqual((await state(fl, 'f1')).faults[0].kind, '429');
    for (let i = 0; i < 2; i++) {
      const r = await raw('GET', sthUrl());
      assert.strictEqual(r.status, 429);
      assert.strictEqual(r.headers['retry-after'], '7');
    }
    assert.strictEqual((await raw('GET', sthUrl())).status, 200);
  });

  test('on= limits a fault to one kind of request', async () => {
    await fault(fl, 'f1', 'kind=500&on=entries');
    assert.strictEqual((await raw('GET', sthUrl())).status, 200);
    assert.strictEqual((await raw('GET', entriesUrl(0, 0))).status, 500);
  });

  test('timeout holds the request (504 only after --hold-secs)', async () => {
    await fault(fl, 'f1', 'kind=timeout');
    const t0 = Date.now();
    await assert.rejects(raw('GET', sthUrl(), { timeout: 1000 }), /timeout|socket hang up/);
    assert.ok(Date.now() - t0 >= 900);
    await fault(fl, 'f1', 'kind=timeout');
    const r = await raw('GET', sthUrl(), { timeout: 6000 });
    assert.strictEqual(r.status, 504);
    assert.ok(Date.now() - t0 >= 2900);
  });

  test('truncate: a complete response whose JSON stops half way', async () => {
    const full = (await raw('GET', entriesUrl(10, 19))).body.toString();
    await fault(fl, 'f1', 'kind=truncate&on=entries');
    const r = await raw('GET', entriesUrl(10, 19));
    assert.strictEqual(r.status, 200);
    const half = r.body.toString();
    assert.strictEqual(half.length, Math.floor(full.length / 2));
    assert.ok(full.startsWith(half));
    assert.throws(() => JSON.parse(half));
  });

  test('badbase64: leaf_input is not base64', async () => {
    await fault(fl, 'f1', 'kind=badbase64');
    const j = await getJson(entriesUrl(0, 3));
    assert.doesNotMatch(j.entries[0].leaf_input, /^[A-Za-z0-9+/]*={0,2}$/);
    assert.match(j.entries[1].leaf_input, /^[A-Za-z0-9+/]*={0,2}$/);
  });

  test('short: fewer entries than asked, and the right ones', async () => {
    const full = await getJson(entriesUrl(100, 199));
    await fault(fl, 'f1', 'kind=short');
    const j = await getJson(entriesUrl(100, 199));
    assert.ok(j.entries.length > 0 && j.entries.length < 100);
    assert.deepStrictEqual(j.entries, full.entries.slice(0, j.entries.length));
  });

  test('shrink: a smaller tree, validly signed, with that tree\'s root', async () => {
    const real = await getJson(sthUrl());
    await fault(fl, 'f1', 'kind=shrink&param=100');
    const sth = await getJson(sthUrl());
    assert.strictEqual(sth.tree_size, real.tree_size - 100);
    const root = Buffer.from(sth.sha256_root_hash, 'base64');
    assert.ok(verifyDigitallySigned(fl.logs.f1.key, sthTbs(sth.timestamp, sth.tree_size, root),
      Buffer.from(sth.tree_head_signature, 'base64')));
    const entries = await allEntries(fl, 'f1', sth.tree_size);
    assert.ok(mth(entries.map((e) => leafHash(e.leaf))).equals(root));
  });

  test('badsig: STH and checkpoint signatures fail, contents unchanged', async () => {
    const good = await getJson(sthUrl());
    await fault(fl, 'f1', 'kind=badsig');
    const sth = await getJson(sthUrl());
    assert.strictEqual(sth.sha256_root_hash, good.sha256_root_hash);
    assert.ok(!verifyDigitallySigned(fl.logs.f1.key, sthTbs(sth.timestamp, sth.tree_size,
      Buffer.from(sth.sha256_root_hash, 'base64')), Buffer.from(sth.tree_head_signature, 'base64')));
    await fault(fl, 'fs1', 'kind=badsig');
    const cp = checkNote((await raw('GET', `${fl.base}/fs1/checkpoint`)).body.toString(), fl.logs.fs1.key);
    assert.strictEqual(cp.size, 1100);
    assert.ok(!cp.valid);
    assert.ok(checkNote((await raw('GET', `${fl.base}/fs1/checkpoint`)).body.toString(), fl.logs.fs1.key).valid);
  });

  test('origin: the checkpoint names another origin (signed for it)', async () => {
    await fault(fl, 'fs1', 'kind=origin');
    const cp = checkNote((await raw('GET', `${fl.base}/fs1/checkpoint`)).body.toString(), fl.logs.fs1.key);
    assert.notStrictEqual(cp.origin, `127.0.0.1:${fl.port}/fs1`);
    assert.ok(cp.valid);
  });

  test('gzip: one tile comes gzip-encoded (without being asked)', async () => {
    const plain = await raw('GET', `${fl.base}/fs1/tile/data/001`);
    await fault(fl, 'fs1', 'kind=gzip');
    const r = await raw('GET', `${fl.base}/fs1/tile/data/001`);
    assert.strictEqual(r.headers['content-encoding'], 'gzip');
    assert.ok(zlib.gunzipSync(r.body).equals(plain.body));
  });

  test('redirect: a 302 back to the same URL, forever', async () => {
    await fault(fl, 'f1', 'kind=redirect&count=25');
    const r = await raw('GET', sthUrl());
    assert.strictEqual(r.status, 302);
    assert.strictEqual(r.headers.location, '/f1/ct/v1/get-sth');
    await assert.rejects(fetch(sthUrl()), /fetch failed/);
    await raw('DELETE', `${fl.base}/control/f1/fault`);
    assert.strictEqual((await raw('GET', sthUrl())).status, 200);
  });

  test('bigcl: a 2 GiB Content-Length whose body never comes', async () => {
    await fault(fl, 'f1', 'kind=bigcl');
    const r = await new Promise((resolve, reject) => {
      const req = http.get(entriesUrl(0, 0), (res) => {
        let n = 0;
        res.on('data', (d) => { n += d.length; });
        setTimeout(() => { req.destroy(); resolve({ headers: res.headers, n }); }, 1000);
      });
      req.on('error', (e) => { if (e.code !== 'ECONNRESET') reject(e); });
    });
    assert.strictEqual(r.headers['content-length'], '2147483648');
    assert.ok(r.n > 0 && r.n < 1024);
  });

  test('endless: the body keeps coming', async () => {
    await fault(fl, 'f1', 'kind=endless');
    const r = await raw('GET', entriesUrl(0, 0), { maxBytes: 8 << 20 });
    assert.ok(r.cut, 'stopped by the client, not by the server');
    assert.ok(r.body.length >= 8 << 20);
    assert.ok(r.body.toString('latin1', 0, 12).startsWith('{"entries":['));
    // The server is still fine afterwards.
    assert.strictEqual((await raw('GET', sthUrl())).status, 200);
  });

  test('gzipbomb: a few MB that inflate past any sane limit', async () => {
    await fault(fl, 'f1', 'kind=gzipbomb');
    const r = await raw('GET', entriesUrl(0, 0), { timeout: 10000 });
    assert.strictEqual(r.headers['content-encoding'], 'gzip');
    assert.ok(r.body.length < 8 << 20, `compressed ${r.body.length}`);
    assert.throws(() => zlib.gunzipSync(r.body, { maxOutputLength: 64 << 20 }),
      /larger than|RangeError|ERR_BUFFER_TOO_LARGE/i);
  });

  test('garbage: the next entries hold bytes that are not DER, and are in the tree', async () => {
    const st0 = await state(fl, 'f1');
    await fault(fl, 'f1', 'kind=garbage&count=2');
    assert.strictEqual((await state(fl, 'f1')).garbage_pending, 2);
    await raw('POST', `${fl.base}/control/f1/grow?n=3`);
    const sth = await getJson(sthUrl());
    assert.strictEqual(sth.tree_size, st0.size + 3);
    const entries = await allEntries(fl, 'f1', sth.tree_size);
    const [g1, g2, ok] = entries.slice(st0.size);
    assert.throws(() => new crypto.X509Certificate(g1.cert));
    assert.throws(() => new crypto.X509Certificate(g2.cert));
    assert.ok(new crypto.X509Certificate(ok.type === 1 ? ok.precert : ok.cert));
    assert.ok(mth(entries.map((e) => leafHash(e.leaf))).equals(Buffer.from(sth.sha256_root_hash, 'base64')));
  });

  test('state reports size and entries served; bad control requests are refused', async () => {
    const a = await state(fl, 'f1');
    await getJson(entriesUrl(0, 9));
    const b = await state(fl, 'f1');
    assert.strictEqual(b.entries_served - a.entries_served, 10);
    assert.strictEqual(b.type, 'rfc6962');
    assert.strictEqual((await fault(fl, 'f1', 'kind=nosuch')).status, 400);
    assert.strictEqual((await raw('GET', `${fl.base}/control/nosuch/state`)).status, 404);
  });
});

// ---------- static-ct-api logs the way real ones behave ----------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpOf = async (fl, log) => checkNote((await raw('GET', `${fl.base}/${log}/checkpoint`)).body
  .toString(), fl.logs[log].key);

// The leaves of a static log's tree of `size`, read from its data tiles.
async function tileLeaves(fl, log, size) {
  const leaves = [];
  for (let n = 0; n * 256 < size; n++) {
    const w = Math.min(256, size - n * 256);
    const r = await raw('GET', `${fl.base}/${log}/tile/data/${tilePath(n)}${w < 256 ? `.p/${w}` : ''}`);
    assert.strictEqual(r.status, 200, `data tile ${n} width ${w}`);
    leaves.push(...parseTile(r.body));
  }
  return leaves;
}

// Waits until a log's published size reaches `size` (within 3 s).
async function published(fl, log, size) {
  for (let i = 0; i < 60; i++) {
    if ((await state(fl, log)).published_size >= size) return;
    await sleep(50);
  }
  throw new Error(`${log} did not publish ${size}`);
}

test('--grow-per-request: the tree grows between any two requests, every head still verifies', async () => {
  const fl = await startFakelog(['--rfc6962', 'g1', '--static', 'g2', '--initial-size', '100',
    '--grow-per-request', '7']);
  try {
    const a = await getJson(`${fl.base}/g1/ct/v1/get-sth`);
    const b = await getJson(`${fl.base}/g1/ct/v1/get-sth`);
    assert.strictEqual(a.tree_size, 107);
    assert.strictEqual(b.tree_size, 114);
    for (const sth of [a, b]) {
      assert.ok(verifyDigitallySigned(fl.logs.g1.key, sthTbs(sth.timestamp, sth.tree_size,
        Buffer.from(sth.sha256_root_hash, 'base64')), Buffer.from(sth.tree_head_signature, 'base64')));
    }
    const j = await getJson(`${fl.base}/g1/ct/v1/get-sth-consistency?first=107&second=114`);
    assert.ok(verifyConsistency(107, 114, j.consistency.map((h) => Buffer.from(h, 'base64')),
      Buffer.from(a.sha256_root_hash, 'base64'), Buffer.from(b.sha256_root_hash, 'base64')));
    // /control/ does not grow the log.
    assert.strictEqual((await state(fl, 'g1')).size, 121);
    assert.strictEqual((await state(fl, 'g1')).size, 121);
    const c1 = await cpOf(fl, 'g2');
    const c2 = await cpOf(fl, 'g2');
    assert.ok(c1.valid && c2.valid);
    assert.strictEqual(c2.size, c1.size + 7);
    // The tiles of the older checkpoint are still there (one more request
    // each, so the tree keeps growing while they are read).
    const leaves = await tileLeaves(fl, 'g2', c1.size);
    assert.ok(mth(leaves.map((e) => leafHash(e.leaf))).equals(c1.root));
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
  }
});

test('--publish-ms: entries show only at the next publish; tiles past it are 404', async () => {
  // The first publish is 1.5 s after start: the checks before it have
  // time enough even under ASan on a busy machine.
  const fl = await startFakelog(['--static', 'p1', '--rfc6962', 'p2', '--initial-size', '100',
    '--publish-ms', '1500']);
  const t0 = Date.now();
  try {
    const st = JSON.parse((await raw('POST', `${fl.base}/control/p1/grow?n=200`)).body);
    assert.strictEqual(st.size, 300);
    assert.strictEqual(st.published_size, 100, 'added, not yet published');
    const cp = await cpOf(fl, 'p1');
    assert.strictEqual(cp.size, 100);
    assert.ok(cp.valid);
    assert.strictEqual((await raw('GET', `${fl.base}/p1/tile/data/000.p/100`)).status, 200);
    assert.strictEqual((await raw('GET', `${fl.base}/p1/tile/data/000.p/101`)).status, 404);
    assert.strictEqual((await raw('GET', `${fl.base}/p1/tile/0/000.p/101`)).status, 404);
    assert.ok(Date.now() - t0 < 1400, 'checked before the first publish');
    await published(fl, 'p1', 300);
    const cp2 = await cpOf(fl, 'p1');
    assert.strictEqual(cp2.size, 300);
    assert.ok(cp2.valid && cp2.ts > cp.ts);
    const leaves = await tileLeaves(fl, 'p1', 300);
    assert.ok(mth(leaves.map((e) => leafHash(e.leaf))).equals(cp2.root));
    const g = await fl.growth('p1');
    assert.deepStrictEqual(g.map((x) => x[0]), [100, 300]);
    assert.strictEqual(g[1][1], cp2.ts, 'the publish time is the checkpoint timestamp');
    // RFC 6962 logs are not held back.
    await raw('POST', `${fl.base}/control/p2/grow?n=5`);
    assert.strictEqual((await getJson(`${fl.base}/p2/ct/v1/get-sth`)).tree_size, 105);
    assert.deepStrictEqual((await fl.growth('p2')).map((x) => x[0]), [100, 105]);
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
  }
});

test('--delete-partials: a partial tile answers 404 once its full tile is published', async () => {
  const fl = await startFakelog(['--static', 'd1', '--initial-size', '200', '--delete-partials']);
  try {
    for (const p of ['data/000.p/200', 'data/000.p/100', '0/000.p/200']) {
      assert.strictEqual((await raw('GET', `${fl.base}/d1/tile/${p}`)).status, 200, p);
    }
    await raw('POST', `${fl.base}/control/d1/grow?n=100`);
    for (const p of ['data/000.p/200', 'data/000.p/100', '0/000.p/200']) {
      assert.strictEqual((await raw('GET', `${fl.base}/d1/tile/${p}`)).status, 404, p);
    }
    for (const p of ['data/000', '0/000', 'data/001.p/44', '0/001.p/44', '1/000.p/1']) {
      assert.strictEqual((await raw('GET', `${fl.base}/d1/tile/${p}`)).status, 200, p);
    }
    const cp = await cpOf(fl, 'd1');
    const leaves = await tileLeaves(fl, 'd1', cp.size);
    assert.ok(cp.valid && mth(leaves.map((e) => leafHash(e.leaf))).equals(cp.root));
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
  }
});

test('--stale-checkpoint-ms: the checkpoint lags the tiles, which are already current', async () => {
  const fl = await startFakelog(['--static', 'c1', '--initial-size', '100',
    '--stale-checkpoint-ms', '800', '--delete-partials']);
  try {
    const old = await cpOf(fl, 'c1');
    await raw('POST', `${fl.base}/control/c1/grow?n=200`);
    const t0 = Date.now();
    const cp = await cpOf(fl, 'c1');
    assert.strictEqual((await state(fl, 'c1')).published_size, 300);
    assert.strictEqual(cp.size, 100, 'the cached checkpoint');
    assert.ok(cp.valid);
    assert.strictEqual(cp.ts, old.ts);
    // Tiles newer than it are served; the partial it names is gone.
    assert.strictEqual((await raw('GET', `${fl.base}/c1/tile/data/001.p/44`)).status, 200);
    assert.strictEqual((await raw('GET', `${fl.base}/c1/tile/data/000.p/100`)).status, 404);
    const full = parseTile((await raw('GET', `${fl.base}/c1/tile/data/000`)).body);
    assert.ok(mth(full.slice(0, 100).map((e) => leafHash(e.leaf))).equals(cp.root),
      'its root is the first 100 leaves of the full tile');
    if (Date.now() - t0 < 700) {
      assert.strictEqual((await cpOf(fl, 'c1')).size, 100);
    }
    await sleep(Math.max(0, 900 - (Date.now() - t0)));
    const now = await cpOf(fl, 'c1');
    assert.strictEqual(now.size, 300);
    assert.ok(now.valid);
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
  }
});

test('--gzip-always: tiles and checkpoints come gzip-encoded unasked; Range is then ignored', async () => {
  const fl = await startFakelog(['--static', 'z1', '--initial-size', '300', '--gzip-always']);
  try {
    const t = await raw('GET', `${fl.base}/z1/tile/data/000`);
    assert.strictEqual(t.headers['content-encoding'], 'gzip');
    const tile = zlib.gunzipSync(t.body);
    assert.strictEqual(parseTile(tile).length, 256);
    const h = await raw('GET', `${fl.base}/z1/tile/0/001.p/44`);
    assert.strictEqual(h.headers['content-encoding'], 'gzip');
    assert.strictEqual(zlib.gunzipSync(h.body).length, 44 * 32);
    const c = await raw('GET', `${fl.base}/z1/checkpoint`);
    assert.strictEqual(c.headers['content-encoding'], 'gzip');
    const cp = checkNote(zlib.gunzipSync(c.body).toString(), fl.logs.z1.key);
    assert.ok(cp.valid && cp.size === 300);
    const r = await raw('GET', `${fl.base}/z1/tile/data/000`, { headers: { range: 'bytes=100-' } });
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.headers['content-range'], undefined);
    assert.ok(zlib.gunzipSync(r.body).equals(tile));
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
  }
});

test('--cosignatures: witness lines follow the log\'s own signature, which still verifies', async () => {
  const fl = await startFakelog(['--static', 'w1', '--initial-size', '300', '--cosignatures', '3']);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fakelog-cosig-'));
  try {
    const text = (await raw('GET', `${fl.base}/w1/checkpoint`)).body.toString();
    const cp = checkNote(text, fl.logs.w1.key);
    assert.ok(cp.valid && cp.size === 300);
    const [body, sigs] = text.split('\n\n');
    const lines = sigs.split('\n').filter((l) => l);
    assert.strictEqual(lines.length, 4);
    assert.ok(lines[0].startsWith(`\u2014 ${cp.origin} `), 'the log signs first');
    const { witnesses } = await state(fl, 'w1');
    assert.strictEqual(witnesses.length, 3);
    lines.slice(1).forEach((line, i) => {
      const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(line);
      assert.ok(m, line);
      assert.strictEqual(m[1], witnesses[i].name);
      assert.notStrictEqual(m[1], cp.origin);
      // c2sp tlog-cosignature: key ID, u64 time, Ed25519 over a header + the note text.
      const s = Buffer.from(m[2], 'base64');
      assert.strictEqual(s.length, 4 + 8 + 64);
      const pub = Buffer.from(witnesses[i].key, 'base64');
      assert.ok(s.subarray(0, 4).equals(sha256(Buffer.from(`${m[1]}\n`), Buffer.from([4]), pub)
        .subarray(0, 4)));
      const time = s.readBigUInt64BE(4);
      assert.strictEqual(Number(time), Math.floor(cp.ts / 1000));
      const key = crypto.createPublicKey({ format: 'jwk',
        key: { kty: 'OKP', crv: 'Ed25519', x: pub.toString('base64url') } });
      assert.ok(crypto.verify(null, Buffer.from(`cosignature/v1\ntime ${time}\n${body}\n`), key,
        s.subarray(12)), `${m[1]} cosignature verifies`);
    });
    // The C verifier skips the witness lines too.
    fs.writeFileSync(path.join(tmp, 'cp'), text);
    fs.writeFileSync(path.join(tmp, 'key'), fl.logs.w1.key);
    const r = spawnSync(FAKELOG, ['--verify-note', path.join(tmp, 'cp'), '--note-key', path.join(tmp, 'key')]);
    assert.strictEqual(r.status, 0, r.stdout.toString());
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
    fs.rmSync(tmp, { recursive: true });
  }
});

test('Range on tiles: 206 with exactly the asked bytes; 416 past the end; --no-range ignores it', async () => {
  const fl = await startFakelog(['--static', 'r1', '--rfc6962', 'r2', '--initial-size', '300']);
  const nr = await startFakelog(['--static', 'r1', '--initial-size', '300', '--no-range']);
  try {
    const fp = parseTile((await raw('GET', `${fl.base}/r1/tile/data/000`)).body)[0].fingerprints[0];
    for (const p of ['tile/data/000', 'tile/0/000', 'tile/data/001.p/44', `issuer/${fp.toString('hex')}`]) {
      const full = (await raw('GET', `${fl.base}/r1/${p}`)).body;
      const n = full.length;
      const cases = [['100-', 100, n - 1], ['10-19', 10, 19], ['-5', n - 5, n - 1],
        [`0-${n + 50}`, 0, n - 1]];
      for (const [spec, a, b] of cases) {
        const r = await raw('GET', `${fl.base}/r1/${p}`, { headers: { range: `bytes=${spec}` } });
        assert.strictEqual(r.status, 206, `${p} ${spec}`);
        assert.strictEqual(r.headers['content-range'], `bytes ${a}-${b}/${n}`);
        assert.ok(r.body.equals(full.subarray(a, b + 1)), `${p} ${spec}`);
      }
      const past = await raw('GET', `${fl.base}/r1/${p}`, { headers: { range: `bytes=${n}-` } });
      assert.strictEqual(past.status, 416);
      assert.strictEqual(past.headers['content-range'], `bytes */${n}`);
      // Several ranges, or nonsense: the whole body.
      for (const spec of ['bytes=0-1,5-6', 'bytes=x-', 'items=0-1', 'bytes=9-3']) {
        const r = await raw('GET', `${fl.base}/r1/${p}`, { headers: { range: spec } });
        assert.strictEqual(r.status, 200, spec);
        assert.ok(r.body.equals(full));
      }
    }
    // Checkpoints (ECDSA: a new signature each time) and get-entries too.
    const c = await raw('GET', `${fl.base}/r1/checkpoint`, { headers: { range: 'bytes=0-9' } });
    assert.strictEqual(c.status, 206);
    assert.match(c.headers['content-range'], /^bytes 0-9\/\d+$/);
    assert.strictEqual(c.body.toString(), '127.0.0.1:');
    const e = await raw('GET', `${fl.base}/r2/ct/v1/get-entries?start=0&end=0`, { headers: { range: 'bytes=2-' } });
    assert.strictEqual(e.status, 206);
    assert.ok(e.body.toString().startsWith('entries'));
    const full = (await raw('GET', `${nr.base}/r1/tile/data/000`)).body;
    const r = await raw('GET', `${nr.base}/r1/tile/data/000`, { headers: { range: 'bytes=100-' } });
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.headers['content-range'], undefined);
    assert.ok(r.body.equals(full));
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
    assert.strictEqual(await nr.stop(), 0, nr.stderr());
  }
});

test('accounting: bytes, requests by kind, the request list and the growth pairs', async () => {
  const fl = await startFakelog(['--static', 'a1', '--rfc6962', 'a2', '--initial-size', '300']);
  try {
    const got = [];
    const get = async (p, headers = {}) => {
      const r = await raw('GET', `${fl.base}/a1/${p}`, { headers });
      got.push(r);
      return r;
    };
    await get('checkpoint');
    const t0 = await get('tile/data/000');
    await get('tile/data/001.p/44');
    await get('tile/data/001.p/44');
    await get('tile/0/001.p/44');
    await get('tile/0/000', { range: 'bytes=100-' });
    await get(`issuer/${parseTile(t0.body)[0].fingerprints[0].toString('hex')}`);
    await get('tile/data/009');
    await state(fl, 'a1'); // /control is not counted
    const st = await state(fl, 'a1');
    assert.strictEqual(st.published_size, 300);
    assert.deepStrictEqual(st.requests_by_kind, { checkpoint: 1, data_full: 2, data_partial: 2,
      hash_full: 1, hash_partial: 1, issuer: 1, sth: 0, entries: 0, other: 0 });
    assert.strictEqual(st.bytes_served, got.reduce((n, r) => n + r.body.length, 0));
    const reqs = await fl.requests('a1');
    assert.strictEqual(reqs.length, 8);
    assert.strictEqual(reqs.filter((q) => q.path === '/a1/tile/data/001.p/44').length, 2);
    const ranged = reqs.find((q) => q.path === '/a1/tile/0/000');
    assert.deepStrictEqual([ranged.status, ranged.bytes, ranged.range], [206, 256 * 32 - 100, '100-']);
    assert.deepStrictEqual(reqs.at(-1).status, 404);
    assert.ok(reqs.every((q, i) => q.range === (i === 5 ? '100-' : null)));
    assert.ok(reqs.every((q) => Math.abs(q.ms - Date.now()) < 10000));
    // RFC 6962: get-sth and get-entries, and each growth step is a pair.
    await raw('GET', `${fl.base}/a2/ct/v1/get-sth`);
    await raw('GET', `${fl.base}/a2/ct/v1/get-entries?start=0&end=9`);
    await raw('GET', `${fl.base}/a2/ct/v1/get-roots`);
    const st2 = await state(fl, 'a2');
    assert.deepStrictEqual([st2.requests_by_kind.sth, st2.requests_by_kind.entries,
      st2.requests_by_kind.other], [1, 1, 1]);
    const before = Date.now();
    await raw('POST', `${fl.base}/control/a2/grow?n=10`);
    const g = await fl.growth('a2');
    assert.deepStrictEqual(g.map((x) => x[0]), [300, 310]);
    assert.ok(g[1][1] >= before - 5 && g[1][1] >= g[0][1]);
    assert.strictEqual(g[1][1], (await getJson(`${fl.base}/a2/ct/v1/get-sth`)).timestamp);
  } finally {
    assert.strictEqual(await fl.stop(), 0, fl.stderr());
  }
});
