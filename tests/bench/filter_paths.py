#!/usr/bin/env python3
"""Filter URLs for the filter benchmark (run.sh filters), one a line.

  filter_paths.py none PATTERNS CLIENTS
      CLIENTS lite WebSocket paths holding PATTERNS distinct terms between
      them (keywords, domains and regexes, 2:2:1) that match no record:
      the worker matches every record against all of them and sends
      nothing, so its CPU is matching (and the clients' fixed cost).
  filter_paths.py onepct FILTERS FEED
      FILTERS distinct filters, each matching about 1% of FEED's records
      (domain, keyword and regex terms built from its names)."""
import json
import re
import sys
from urllib.parse import quote


def q(v):
    return quote(v, safe='')


def none(patterns, clients):
    terms = []
    for i in range(patterns):
        k = i % 5
        if k in (0, 1):
            terms.append(('keyword', f'zq{i}xkw'))
        elif k in (2, 3):
            terms.append(('domain', f'd{i}.nomatch{i % 97}.example'))
        else:
            terms.append(('regex', f'^r{i}[0-9]+\\.(zz|qq)$'))
    per = max(1, -(-patterns // clients))
    out = []
    for c in range(clients):
        mine = [terms[(c * per + j) % patterns] for j in range(per)]
        kinds = {}
        for k, v in mine:
            kinds.setdefault(k, []).append(v)
        parts = []
        for k in ('keyword', 'domain'):
            if k in kinds:
                parts.append(f'{k}=' + ','.join(q(v) for v in kinds[k]))
        parts += [f'regex={q(v)}' for v in kinds.get('regex', [])]
        out.append('/?' + '&'.join(parts))
    return out


def onepct(filters, feed):
    recs = []
    for line in open(feed, encoding='utf-8'):
        if line.strip():
            m = json.loads(line)
            recs.append([d.lower() for d in m['data']['leaf_cert']['all_domains']])
    n = len(recs)

    def count(kind, v):
        if kind == 'keyword':
            return sum(any(v in d for d in r) for r in recs)
        if kind == 'domain':
            return sum(any(d == v or d.endswith('.' + v) for d in r) for r in recs)
        rx = re.compile(v)
        return sum(any(rx.search(d) for d in r) for r in recs)

    cands, seen = [], set()
    names = sorted({d.lstrip('*.') for r in recs for d in r})
    for name in names:
        labels = name.split('.')
        for kind, v in (('domain', name), ('keyword', name),
                        ('domain', '.'.join(labels[-2:])), ('keyword', labels[0]),
                        ('regex', '^' + re.escape(labels[0]) + '\\.'),
                        ('regex', re.escape(labels[-2]) + '\\.' + re.escape(labels[-1]) + '$')):
            if (kind, v) in seen or len(v) < 3:
                continue
            seen.add((kind, v))
            c = count(kind, v)
            if 1 <= c <= max(1, n // 40):
                cands.append((kind, v, c))
    # filters of one term where it matches 2 to 6 records (about 1%), then
    # ORs of three single-record terms of one kind (about 1.1%)
    multi = sorted((x for x in cands if x[2] >= 2), key=lambda x: (abs(x[2] / n - 0.01), x[1]))
    single = sorted(x for x in cands if x[2] == 1)
    out, total = [], 0
    for kind, v, c in multi[:filters]:
        out.append(f'/?{kind}={q(v)}')
        total += c
    bykind = {}
    for x in single:
        bykind.setdefault(x[0], []).append(x)
    groups = [g[i:i + 3] for g in bykind.values() for i in range(0, len(g) - 2, 3)]
    groups += [g[i:i + 3] for g in bykind.values() for i in range(len(g) - 2) if i % 3]
    groups += [g[i:i + 5:2] for g in bykind.values() for i in range(len(g) - 4)]
    for g in groups[:filters - len(out)]:
        out.append('/?' + '&'.join(f'{k}={q(v)}' for k, v, _ in g))
        total += sum(x[2] for x in g)
    sys.stderr.write(f'filter_paths: {len(out)} filters, mean match {100 * total / max(1, len(out)) / n:.2f}% of {n} records\n')
    return out


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == 'none':
        lines = none(int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == 'onepct':
        lines = onepct(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(__doc__)
    sys.stdout.write('\n'.join(lines) + '\n')
