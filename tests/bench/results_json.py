#!/usr/bin/env python3
"""bench/results.json from run.sh's rows (figure, ours, baseline, ratio,
target, met; tab-separated): one object per row, so runs can be compared by
a program. A row's id is its figure up to the first '(' or ';', in
lower-case words joined by '-': the part that names what is measured, not
the figures of the run, so it stays the same from run to run."""
import json
import re
import sys

rows_file, commit, load = sys.argv[1], sys.argv[2], sys.argv[3]
out, seen = [], {}


def num(v):
    try:
        return float(v.replace(',', ''))
    except ValueError:
        return v if v not in ('', '-') else None


for line in open(rows_file, encoding='utf-8'):
    f = line.rstrip('\n').split('\t')
    if len(f) < 6:
        continue
    head = re.split(r'[(;]', f[0], maxsplit=1)[0]
    rid = re.sub(r'[^a-z0-9]+', '-', head.lower()).strip('-')
    seen[rid] = seen.get(rid, 0) + 1
    if seen[rid] > 1:
        rid = f'{rid}-{seen[rid]}'
    out.append({
        'id': rid, 'figure': f[0], 'ours': num(f[1]), 'baseline': num(f[2]),
        'ratio': num(f[3]), 'target': f[4], 'met': f[5],
        'commit': commit, 'load_average': load,
    })
json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write('\n')
