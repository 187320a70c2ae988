'use strict';
// certstreamd -n and start-up with good and bad configurations: the file,
// line and key are named, and a bad configuration never starts a daemon.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runBin, startDaemon, freePort, ROOT } = require('./lib/daemon');
const { writeFeed } = require('./lib/mkfeed');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'certstream-conf-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function conf(name, text) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

test('-n accepts the shipped certstream.conf', async () => {
  const r = await runBin(['-n', '-c', path.join(ROOT, 'certstream.conf')]);
  assert.strictEqual(r.code, 0, r.stderr);
  assert.match(r.stdout, /^configuration OK/);
});

test('-n accepts a small valid file', async () => {
  const p = conf('good.yaml', 'port: 9999\nworkers: 2\nauth:\n  enabled: true\n  tokens: [a, b]\n');
  const r = await runBin(['-n', '-c', p]);
  assert.strictEqual(r.code, 0, r.stderr);
  assert.strictEqual(r.stdout.trim(), `configuration OK: ${p}`);
});

const bad = [
  ['unknown key', 'port: 8080\nprotocols:\n  websockets: true\n', 3, 'protocols.websockets: unknown key'],
  ['wrong type', 'host: 127.0.0.1\nport: http\n', 2, 'port: not an integer'],
  ['out of range', 'workers: 1000\n', 1, 'workers: out of range'],
  ['list where a value goes', 'connection_limit:\n  enabled: [true]\n', 2, 'connection_limit.enabled: expected a value'],
  ['YAML syntax', 'port: 1\n  bad indent: [\n', 2, ''],
  ['cross-field', 'auth:\n  enabled: true\n  tokens: []\n', 3, 'auth.tokens: auth.enabled is true but no token is set'],
];

for (const [what, text, line, msg] of bad) {
  test(`-n refuses a file with ${what}, naming file:line: key`, async () => {
    const p = conf(`bad-${what.replace(/\W+/g, '-')}.yaml`, text);
    const r = await runBin(['-n', '-c', p]);
    assert.strictEqual(r.code, 1);
    assert.strictEqual(r.stdout, '');
    assert.ok(r.stderr.includes(`${p}:${line}: ${msg}`), r.stderr);
    assert.doesNotMatch(r.stderr, /configuration OK/);
  });
}

test('-n refuses a bad environment value, naming the variable', async () => {
  const p = conf('env.yaml', 'port: 9000\n');
  const r = await runBin(['-n', '-c', p], { env: { CERTSTREAM_CT_LOG_POLL_INTERVAL_MS: 'soon' } });
  assert.strictEqual(r.code, 1);
  assert.match(r.stderr, /environment CERTSTREAM_CT_LOG_POLL_INTERVAL_MS: ct_log\.poll_interval_ms: not an integer/);
});

test('-n refuses a missing file', async () => {
  const r = await runBin(['-n', '-c', path.join(dir, 'nope.yaml')]);
  assert.strictEqual(r.code, 1);
  assert.match(r.stderr, /nope\.yaml: No such file or directory/);
});

test('-n refuses a replay feed it cannot use, naming the key and the file', async () => {
  // the master checks the feed (in a child of its own) before anything forks
  const feed = path.join(dir, 'bad-feed.ndjson');
  fs.writeFileSync(feed, '{"bad"\n');
  let p = conf('feed-bad.yaml', `source: replay\nreplay:\n  file: "${feed}"\n`);
  let r = await runBin(['-n', '-c', p]);
  assert.strictEqual(r.code, 1);
  assert.strictEqual(r.stdout, '');
  assert.ok(r.stderr.includes(`${p}: replay.file: ${feed}: no usable record`), r.stderr);
  p = conf('feed-missing.yaml', `source: replay\nreplay:\n  file: "${path.join(dir, 'gone.ndjson')}"\n`);
  r = await runBin(['-n', '-c', p]);
  assert.strictEqual(r.code, 1);
  assert.match(r.stderr, /replay\.file: .*gone\.ndjson: No such file or directory/);
});

test('-n accepts a good replay feed when started with SIGCHLD ignored (as some supervisors do)', () => {
  // the feed is checked in a child; an inherited SIG_IGN must not lose it
  const { spawnSync } = require('node:child_process');
  const bin = process.env.CERTSTREAM_BIN || path.join(ROOT, 'certstreamd');
  const feed = path.join(ROOT, 'tests', 'data', 'sample-feed.ndjson');
  const p = conf('feed-good.yaml', `source: replay\nuser: root\nreplay:\n  file: "${feed}"\n`);
  // python3, since dash's trap does not ignore SIGCHLD
  const r = spawnSync('python3', ['-c', 'import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); '
    + 'os.execv(sys.argv[1], sys.argv[1:])', bin, '-n', '-c', p], { encoding: 'utf8', timeout: 10000 });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stdout.trim(), `configuration OK: ${p}`);
});

test('-V, -h and a bad flag', async () => {
  const version = fs.readFileSync(path.join(ROOT, 'VERSION'), 'utf8').trim();
  let r = await runBin(['-V']);
  assert.strictEqual(r.code, 0);
  assert.strictEqual(r.stdout.trim(), `certstreamd ${version}`);
  r = await runBin(['-h']);
  assert.strictEqual(r.code, 0);
  assert.match(r.stdout, /usage: certstreamd/);
  assert.match(r.stdout, /-n/);
  r = await runBin(['-Z']);
  assert.strictEqual(r.code, 2);
  assert.match(r.stderr, /usage: certstreamd/);
});

test('a bad configuration does not start: exit 1, nothing listens, no segment', async () => {
  const port = await freePort();
  const p = conf('start-bad.yaml', `port: ${port}\nbuffer_size: many\n`);
  const t0 = Date.now();
  const r = await runBin(['-c', p], { env: { CERTSTREAM_PORT: String(port) } });
  assert.strictEqual(r.code, 1);
  assert.ok(Date.now() - t0 < 3000);
  assert.ok(r.stderr.includes(`${p}:2: buffer_size: not a size`), r.stderr);
  assert.ok(!fs.existsSync(`/dev/shm/certstream-${port}`));
});

test('environment overrides the file at run time (port, workers)', async (t) => {
  // The helper passes CERTSTREAM_PORT and CERTSTREAM_WORKERS over a file
  // that says otherwise; /health answering on the picked port proves it.
  const feed = path.join(dir, 'feed.ndjson');
  writeFeed(feed, { count: 1, first: 1, domains: ['a.example'], url: 'https://l.example/', name: 'l' });
  const d = await startDaemon({
    t,
    workers: 2,
    conf: `port: 1\nworkers: 1\nsource: replay\nreplay:\n  file: ${JSON.stringify(feed)}\n`,
  });
  await new Promise((r) => setTimeout(r, 300));
  const titles = d.childPids().map((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).sort();
  assert.deepStrictEqual(titles, ['certstreamd: ingest', 'certstreamd: worker 1', 'certstreamd: worker 2']);
  assert.doesNotMatch(d.logs(), /restart/, 'no child died');
  const info = await d.stop();
  assert.strictEqual(info.code, 0, d.logs());
});

test('--render FILE prints certstream messages for CT entries', async () => {
  const f = path.join(ROOT, 'tests/data/real/rfc6962/ctgo_get-entries_precert_x509.json');
  const r = await runBin(['--render', f]);
  assert.strictEqual(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.length >= 1);
  for (const m of lines) assert.strictEqual(m.message_type, 'certificate_update');
  const bad = await runBin(['--render', path.join(dir, 'missing.json')]);
  assert.strictEqual(bad.code, 2);
});
