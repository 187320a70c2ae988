'use strict';
// The filter oracle (lib/filter_oracle.js) itself, on hand-made records:
// the reference the filter tests trust must follow the documented rules.
const { test } = require('node:test');
const assert = require('node:assert');
const o = require('./lib/filter_oracle');

function rec(domains, { cn = 'R3', org = "Let's Encrypt", url = 'https://ct.example.net/2026h1/',
  name = "Example 'Log' 2026h1", operator = 'Example', type = 'X509LogEntry' } = {}) {
  return {
    message_type: 'certificate_update',
    data: {
      update_type: type,
      leaf_cert: { all_domains: domains, issuer: { CN: cn, O: org } },
      source: { url, name, operator },
    },
  };
}
const m = (r, q) => o.matches(r, o.parseQuery(q));

test('oracle: domain is the name or a name under it, on a label boundary, either case', () => {
  assert.ok(m(rec(['example.com']), 'domain=example.com'));
  assert.ok(m(rec(['www.Example.COM']), 'domain=example.com'));
  assert.ok(m(rec(['a.b.example.com']), 'domain=EXAMPLE.com'));
  assert.ok(!m(rec(['notexample.com']), 'domain=example.com'));
  assert.ok(!m(rec(['example.com.evil.net']), 'domain=example.com'));
  assert.ok(!m(rec(['example.com']), 'domain=www.example.com'));
  assert.ok(!m(rec(['example.co']), 'domain=example.com'));
});

test('oracle: a certificate wildcard covers exactly one label', () => {
  const w = rec(['*.example.com']);
  assert.ok(m(w, 'domain=example.com'));
  assert.ok(m(w, 'domain=a.example.com'));
  assert.ok(m(w, 'domain=A.Example.com'));
  assert.ok(!m(w, 'domain=b.a.example.com'));
  assert.ok(!m(w, 'domain=other.com'));
  assert.ok(m(rec(['*.a.example.com']), 'domain=example.com'), 'a wildcard name under the domain');
  assert.ok(!m(rec(['*.example.com']), 'domain=xexample.com'));
});

test('oracle: issuer, keyword, regex, log, operator, type', () => {
  const r = rec(['login.paypal-secure.top', 'www.shop.io'], { cn: 'False Fennel E6', org: "(STAGING) Let's Encrypt" });
  assert.ok(m(r, 'issuer=fennel'));
  assert.ok(m(r, "issuer=let's ENCRYPT"));
  assert.ok(!m(r, 'issuer=sectigo'));
  assert.ok(m(r, 'keyword=PAYPAL'));
  assert.ok(!m(r, 'keyword=paypal.com'));
  assert.ok(m(r, 'regex=' + encodeURIComponent('^www\\.[a-z]+\\.io$')));
  assert.ok(!m(r, 'regex=' + encodeURIComponent('^shop')), 'regex runs over each domain, not the list joined');
  assert.ok(m(r, 'regex=' + encodeURIComponent('pay')), 'unanchored');
  assert.ok(m(r, 'log=ct.example.net') && m(r, "log=Example 'Log'") && !m(r, 'log=argon'));
  assert.ok(m(r, 'operator=Example') && !m(r, 'operator=Google'));
  assert.ok(m(r, 'type=cert') && !m(r, 'type=precert'));
  assert.ok(m(rec(['a.b'], { type: 'PrecertLogEntry' }), 'type=precert'));
  assert.ok(!m(rec(['a.b'], { operator: null }), 'operator=Example'), 'no operator matches none');
  assert.ok(!m(rec(['a.b'], { org: null, cn: 'X1' }), 'issuer=null'), 'a null O is no text');
});

test('oracle: AND across kinds, OR within one, comma lists only where documented', () => {
  const r = rec(['shop.example.com'], { org: 'GeoTrust, Inc.' });
  assert.ok(m(r, 'keyword=shop&type=cert'));
  assert.ok(!m(r, 'keyword=shop&type=precert'));
  assert.ok(m(r, 'keyword=nomatch&keyword=shop'));
  assert.ok(m(r, 'keyword=nomatch,shop'));
  assert.ok(m(r, 'type=precert,cert'));
  assert.ok(m(r, 'domain=other.org,example.com'));
  assert.ok(m(r, 'log=nolog,ct.example.net') && m(r, 'operator=Google,Example'));
  // issuer and regex values are whole: a comma is part of the term
  assert.ok(m(r, 'issuer=' + encodeURIComponent('GeoTrust, Inc.')));
  assert.ok(!m(rec(['a.b'], { org: 'GeoTrust Inc.' }), 'issuer=' + encodeURIComponent('GeoTrust, Inc.')));
  assert.ok(m(r, 'regex=' + encodeURIComponent('^[a-z]{2,5}\\.')));
  // known parameters are not filters
  assert.ok(m(r, 'since=5&gaps=1&stream=lite&token=x&unique=1&lastEventId=3&keyword=shop'));
});

test('oracle: the hostile patterns run as linear equivalents with the same matches', () => {
  const names = ['aaaa', 'b.aaaa.test', 'xa', 'a', 'ab', `${'a'.repeat(19)}.x`, `${'a'.repeat(20)}.x`, 'banana.example'];
  for (const [p, plain] of [['(a+)+$', /(a+)+$/], ['(.*a){20}', /(.*a){20}/]]) {
    for (const n of names) assert.strictEqual(o.regex(p).test(n), plain.test(n), `${p} on ${n}`);
  }
  const t0 = Date.now();
  assert.ok(o.regex('(a+)+$').test(`${'a'.repeat(60)}`) && !o.regex('(a+)+$').test(`${'a'.repeat(60)}.b`));
  assert.ok(o.regex('(.*a){20}').test(`${'a'.repeat(60)}.b`));
  assert.ok(Date.now() - t0 < 1000);
});

test('oracle: refuses what the server must refuse', () => {
  assert.throws(() => o.parseQuery('colour=red'), /unknown/);
  assert.throws(() => o.parseQuery('keyword='), /empty/);
  assert.throws(() => o.parseQuery('domain=a.com,'), /empty/);
  assert.throws(() => o.parseQuery('type=certificate'), /bad type/);
  assert.throws(() => o.parseQuery('regex=' + encodeURIComponent('(')), SyntaxError);
});
