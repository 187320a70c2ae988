'use strict';
// The feed the filter tests replay: the bundled sample feed plus a few
// certificates minted (build/mkfeed, lib/mkfeed.js) for the rules real
// certificates in it do not reach (a one-label wildcard beside deeper
// names, a name that only ends like a domain, mixed case, a long run of
// one letter for backtracking regex engines, a comma in an issuer).
// Written to dir; returns the loaded feed (lib/clients.js loadFeed) and
// its path.
const fs = require('node:fs');
const path = require('node:path');
const c = require('./clients');
const { writeFeedRecords } = require('./mkfeed');

const EXTRA = [
  { domains: ['*.wild-one.test'], cn: 'Wild Issuer CA 1', org: 'Wild Trust, Inc.' },
  { domains: ['deep.a.wild-one.test', 'a.wild-one.test'], cn: 'Wild Issuer CA 1', org: 'Wild Trust, Inc.' },
  { domains: ['notwild-one.test', 'wild-one.test.evil.example'], cn: 'Other CA', org: 'Other Trust' },
  { domains: ['WWW.MiXeD-Case.test'], cn: 'Other CA', org: 'Other Trust', type: 'PrecertLogEntry' },
  { domains: [`${'a'.repeat(46)}.hostile.test`, 'x.hostile.test'], cn: 'Other CA', org: 'Other Trust' },
  { domains: ['paypal-login.secure-check.test', 'cdn.secure-check.test'], cn: 'Wild Issuer CA 2', org: 'Wild Trust Inc.' },
  { domains: ['shop.plain-cert.test'], cn: 'Wild Issuer CA 2', org: 'Wild Trust Inc.', type: 'X509LogEntry' },
];

function writeFilterFeed(dir) {
  const sample = fs.readFileSync(c.feedPath(), 'utf8').split('\n').filter((l) => l.trim());
  // real certificates with these names and issuers, rendered as live ingest renders them
  const extraFile = path.join(dir, 'filter-extra.ndjson');
  writeFeedRecords(extraFile, EXTRA.map((e, i) => ({
    domains: e.domains,
    issuer_cn: e.cn,
    issuer_o: e.org,
    precert: e.type === 'PrecertLogEntry',
    chain: true,
    index: 7000 + i,
    url: 'https://ct.filters.test/2026h1/',
    name: "Filters 'Test' 2026h1",
    operator: 'Filtertest',
    type: 'rfc6962',
  })));
  const extra = fs.readFileSync(extraFile, 'utf8').split('\n').filter((l) => l.trim());
  // the extra records spread through the feed, not in one block
  const lines = sample.slice();
  extra.forEach((l, i) => lines.splice(Math.floor(((i + 1) * lines.length) / (extra.length + 1)), 0, l));
  const file = path.join(dir, 'filter-feed.ndjson');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return c.loadFeed(file);
}

module.exports = { writeFilterFeed };
