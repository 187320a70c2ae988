#!/usr/bin/env python3
"""Put one bench suite's results into bench/results.json and bench/results.md.

`make bench` runs in suites (each under 15 minutes; `all` runs them in
turn), so the results files hold the newest run of every suite: a suite's
run replaces that suite's rows and section and leaves the others' alone.

results.json: one object per row (id, figure, ours, baseline, ratio,
target, met, suite, commit, load_average, date). A row's id is its figure
up to the first '(' or ';', in lower-case words joined by '-': the part
that names what is measured, not the figures of the run, so it stays the
same from run to run.

results.md: a short header, then each suite's section between
<!-- suite:NAME --> and <!-- /suite:NAME --> markers, in SUITES order.

  results_merge.py SUITE ROWS_TSV SECTION_MD COMMIT LOAD DATE [OUT_DIR]
"""
import json
import os
import re
import sys

SUITES = ['core', 'features']
HEADER = """# certstream benchmark results

`make bench` (the `core` suite: fan-out against the raw ceiling and nginx +
nchan, latency, memory, the ring, rendering, CT ingest) and
`make bench SUITE=features` (log growth, catch-up, NATS edges, server-side
filters, compression) each replace their own section here and their own
rows in `results.json`; each section names the commit, the date and the
machine's load it was measured at. Every ratio is against a baseline
measured in the same run.
"""


def num(v):
    try:
        return float(v.replace(',', ''))
    except ValueError:
        return v if v not in ('', '-') else None


def rows_of(path, suite, commit, load, date):
    out, seen = [], {}
    for line in open(path, encoding='utf-8'):
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
            'ratio': num(f[3]), 'target': f[4], 'met': f[5], 'suite': suite,
            'commit': commit, 'load_average': load, 'date': date,
        })
    return out


def sections_of(text):
    found = {}
    for m in re.finditer(r'<!-- suite:(\w+) -->\n(.*?)<!-- /suite:\1 -->\n', text, re.S):
        found[m.group(1)] = m.group(2)
    return found


def main():
    suite, rows_file, section_file, commit, load, date = sys.argv[1:7]
    out_dir = sys.argv[7] if len(sys.argv) > 7 else 'bench'
    if suite not in SUITES:
        sys.exit(f'results_merge: unknown suite {suite}')
    jpath = os.path.join(out_dir, 'results.json')
    mpath = os.path.join(out_dir, 'results.md')

    old = []
    if os.path.exists(jpath):
        try:
            old = json.load(open(jpath, encoding='utf-8'))
        except ValueError:
            old = []
    # rows of an older file without suites came from a whole run: drop them
    kept = [r for r in old if r.get('suite') in SUITES and r['suite'] != suite]
    new = rows_of(rows_file, suite, commit, load, date)
    merged = sorted(kept + new, key=lambda r: SUITES.index(r['suite']))
    with open(jpath + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(merged, f, indent=1, ensure_ascii=False)
        f.write('\n')
    os.replace(jpath + '.tmp', jpath)

    secs = sections_of(open(mpath, encoding='utf-8').read()) if os.path.exists(mpath) else {}
    secs[suite] = open(section_file, encoding='utf-8').read().rstrip('\n') + '\n'
    with open(mpath + '.tmp', 'w', encoding='utf-8') as f:
        f.write(HEADER)
        for s in SUITES:
            if s in secs:
                f.write(f'\n<!-- suite:{s} -->\n{secs[s]}<!-- /suite:{s} -->\n')
    os.replace(mpath + '.tmp', mpath)


if __name__ == '__main__':
    main()
