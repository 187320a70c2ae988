'use strict';
// Replay feeds of real certificates for the tests that replay a feed of
// their own, written by build/mkfeed (tests/tools/mkfeed.c: each record's
// certificate minted with the SANs it asks for, rendered by the render
// library as live ingest renders it).
//
//   writeFeed(file, { count, first, domains: ['m%d.example'], url, name })
//     count records with cert_index first.. ("%d" in a domain: the index)
//   writeFeedRecords(file, [{ domains, index, issuer_cn, issuer_o,
//     precert, url, name, operator, type, chain }])
//   Both return the feed's lines, parsed.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MKFEED = path.join(ROOT, 'build', 'mkfeed');

function run(args, input) {
  if (!fs.existsSync(MKFEED)) throw new Error(`${MKFEED} missing: run make test-build`);
  return execFileSync(MKFEED, args, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
}

function save(file, text) {
  fs.writeFileSync(file, text);
  return text.split('\n').filter((l) => l).map((l) => JSON.parse(l));
}

function writeFeed(file, { count, first = 0, domains = ['m%d.example'], url, name, chain = false }) {
  const args = ['-n', String(count), '-s', String(first)];
  for (const d of domains) args.push('-d', d);
  if (url) args.push('-u', url);
  if (name) args.push('-N', name);
  if (chain) args.push('-c');
  return save(file, run(args));
}

function writeFeedRecords(file, records) {
  return save(file, run(['-j'], records.map((r) => JSON.stringify(r)).join('\n') + '\n'));
}

module.exports = { writeFeed, writeFeedRecords, MKFEED };
