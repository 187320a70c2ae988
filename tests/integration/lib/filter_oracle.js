'use strict';
// The test-side reference for stream filters: decides, by the rules the
// filter parameters are documented with (not by the daemon's code), whether
// a record the client received matches a query. Used to check what a
// filtered client gets against what an unfiltered client got.
//
//   const o = require('./lib/filter_oracle');
//   const q = o.parseQuery('keyword=paypal&type=precert');  // or a URLSearchParams
//   o.matches(record, q)            // record: a certificate_update message
//   o.select(records, 'domain=example.com')   // the matching ones, in order
//
// Rules: AND across kinds, OR within a kind (the parameter repeated, or a
// comma list for domain, keyword, type, log and operator; regex and issuer
// values are taken whole, commas and all).
//   domain   the name or any name under it on a label boundary, either
//            case; a certificate's "*.x" covers exactly one label
//   issuer   substring of issuer CN or O, either case
//   keyword  substring of any domain, either case
//   regex    a match anywhere in any one domain (JS RegExp: tests only use
//            patterns that mean the same in RE2 and Hyperscan)
//   log      substring of the log's URL or name
//   operator the log's operator (data.source.operator)
//   type     cert = X509LogEntry, precert = PrecertLogEntry

const KINDS = ['domain', 'issuer', 'keyword', 'regex', 'log', 'operator', 'type'];
const LISTS = new Set(['domain', 'keyword', 'type', 'log', 'operator']);
// Parameters the server knew before filters: never filters, never refused.
const KNOWN = new Set(['token', 'stream', 'since', 'gaps', 'unique', 'lastEventId']);

// JS RegExp backtracks: the hostile patterns the tests send are run here
// as linear equivalents (same language over domains, no newlines in them).
const EQUIVALENT = new Map([
  ['(a+)+$', 'a$'],
  ['(.*a){20}', '^(?:[^a]*a){20}'],
]);
function regex(pattern, flags = '') {
  return new RegExp(EQUIVALENT.get(pattern) || pattern, flags);
}

// { kind: [terms] } from a query string or URLSearchParams; throws on what
// the server must refuse (unknown key, empty term, bad type, bad regex).
function parseQuery(query) {
  const sp = query instanceof URLSearchParams ? query : new URLSearchParams(query);
  const q = {};
  for (const [k, v] of sp) {
    if (KNOWN.has(k)) continue;
    if (!KINDS.includes(k)) throw new Error(`unknown filter ${k}`);
    const terms = LISTS.has(k) ? v.split(',') : [v];
    for (const term of terms) {
      if (term === '') throw new Error(`empty ${k}`);
      if (k === 'type' && term !== 'cert' && term !== 'precert') throw new Error(`bad type ${term}`);
      (q[k] = q[k] || []).push(k === 'regex' ? regex(term) : term);
    }
  }
  return q;
}

const lc = (s) => String(s).toLowerCase();

// One certificate name against one domain= term.
function domainMatch(name, term) {
  const n = lc(name).replace(/\.$/, '');
  const f = lc(term).replace(/\.$/, '');
  if (n === f || n.endsWith(`.${f}`)) return true;
  if (n.startsWith('*.')) {
    // the wildcard stands for exactly one label of f
    const base = n.slice(2);
    if (f.endsWith(`.${base}`)) {
      const label = f.slice(0, f.length - base.length - 1);
      return label.length > 0 && !label.includes('.');
    }
  }
  return false;
}

function fields(rec) {
  const d = rec.data;
  const leaf = d.leaf_cert;
  return {
    domains: leaf.all_domains || [],
    issuer: [leaf.issuer && leaf.issuer.CN, leaf.issuer && leaf.issuer.O].filter((x) => typeof x === 'string'),
    log: [d.source.url, d.source.name].filter((x) => typeof x === 'string'),
    operator: typeof d.source.operator === 'string' ? d.source.operator : null,
    type: d.update_type === 'X509LogEntry' ? 'cert' : d.update_type === 'PrecertLogEntry' ? 'precert' : null,
  };
}

const TEST = {
  domain: (f, t) => f.domains.some((n) => domainMatch(n, t)),
  issuer: (f, t) => f.issuer.some((s) => lc(s).includes(lc(t))),
  keyword: (f, t) => f.domains.some((n) => lc(n).includes(lc(t))),
  regex: (f, re) => f.domains.some((n) => re.test(n)),
  log: (f, t) => f.log.some((s) => lc(s).includes(lc(t))),
  operator: (f, t) => f.operator !== null && lc(f.operator) === lc(t),
  type: (f, t) => f.type === t,
};

// Does rec (a certificate_update as received) match q (from parseQuery)?
function matches(rec, q) {
  const f = fields(rec);
  for (const kind of Object.keys(q)) {
    if (!q[kind].some((t) => TEST[kind](f, t))) return false;
  }
  return true;
}

function select(records, query) {
  const q = typeof query === 'string' || query instanceof URLSearchParams ? parseQuery(query) : query;
  return records.filter((r) => matches(r, q));
}

module.exports = { regex, parseQuery, matches, select, domainMatch, fields, KINDS, KNOWN };
