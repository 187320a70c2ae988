#!/usr/bin/env python3
"""Compare two bench runs row by row: which figures got better or worse.

  compare.py OLD.json NEW.json [TITLE]

Both are results.json files (`make bench` writes bench/results.json; with
BENCH_DAEMON=path BENCH_OUT=dir it measures another build the same way).
Rows are matched by id. A row's direction comes from its target: ">= x"
means higher is better, "<= x" lower; a context row has no target, so its
change is shown but not judged. Latency rows against a ceiling compare the
ratio (ours / ceiling of the same run) as well as our own figure, since the
ceiling's figure tells how busy the machine was.
Prints a Markdown table to stdout.
"""
import json
import sys


def load(path):
    with open(path) as f:
        return {r['id']: r for r in json.load(f)}


def direction(target):
    t = (target or '').strip()
    if t.startswith('>='):
        return 1
    if t.startswith('<='):
        return -1
    return 0


def num(v):
    return v if isinstance(v, (int, float)) else None


def judge(d, old, new):
    if d == 0 or old is None or new is None:
        return '-'
    if new == old:
        return 'same'
    return 'better' if (new - old) * d > 0 else 'worse'


def fmt(v):
    if v is None:
        return '-'
    if isinstance(v, float) and v.is_integer():
        return '%d' % v
    return '%g' % v


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: compare.py OLD.json NEW.json [TITLE]')
    old, new = load(sys.argv[1]), load(sys.argv[2])
    title = sys.argv[3] if len(sys.argv) > 3 else 'old against new'
    print('| figure | %s: ours | ratio | new: ours | ratio | target | ours | ratio |'
          % title)
    print('|---|---|---|---|---|---|---|---|')
    for rid, n in new.items():
        o = old.get(rid)
        if o is None:
            continue
        d = direction(n.get('target'))
        ratio_d = d
        # a ratio of ours to a ceiling or peer follows the figure's direction
        print('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            n['figure'].split(' (')[0], fmt(num(o.get('ours'))),
            fmt(num(o.get('ratio'))), fmt(num(n.get('ours'))),
            fmt(num(n.get('ratio'))), n.get('target') or 'context',
            judge(d, num(o.get('ours')), num(n.get('ours'))),
            judge(ratio_d, num(o.get('ratio')), num(n.get('ratio')))))
    missing = [r for r in old if r not in new]
    if missing:
        print('\nOnly in the old run: ' + ', '.join(missing))


if __name__ == '__main__':
    main()
