'use strict';
// The feed the filter tests replay: the bundled sample feed plus a few
// hand-made records for the rules real certificates in it do not reach
// (a one-label wildcard beside deeper names, a name that only ends like
// a domain, mixed case, a long run of one letter for backtracking
// regex engines, a comma in an issuer). Written to dir; returns the
// loaded feed (lib/clients.js loadFeed) and its path.
const fs = require('node:fs');
const path = require('node:path');
const c = require('./clients');

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
  const base = JSON.parse(sample.find((l) => JSON.parse(l).data.update_type === 'X509LogEntry'));
  const extra = EXTRA.map((e, i) => {
    const m = structuredClone(base);
    const leaf = m.data.leaf_cert;
    m.data.update_type = e.type || 'X509LogEntry';
    leaf.all_domains = e.domains;
    leaf.subject.CN = e.domains[0];
    leaf.subject.aggregated = `/CN=${e.domains[0]}`;
    leaf.issuer = { ...leaf.issuer, CN: e.cn, O: e.org, aggregated: `/O=${e.org}/CN=${e.cn}` };
    m.data.cert_index = 7000 + i;
    m.data.source = { url: 'https://ct.filters.test/2026h1/', name: "Filters 'Test' 2026h1", operator: 'Filtertest', type: 'rfc6962' };
    m.data.cert_link = `${m.data.source.url}ct/v1/get-entries?start=${7000 + i}&end=${7000 + i}`;
    return JSON.stringify(m);
  });
  // the extra records spread through the feed, not in one block
  const lines = sample.slice();
  extra.forEach((l, i) => lines.splice(Math.floor(((i + 1) * lines.length) / (extra.length + 1)), 0, l));
  const file = path.join(dir, 'filter-feed.ndjson');
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return c.loadFeed(file);
}

module.exports = { writeFilterFeed };
