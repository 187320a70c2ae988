#!/bin/sh
# make bench: certstream against the machine's own ceiling (loadgen's raw
# fan-out server) and a real peer (nginx + nchan), measured in the same run,
# on 127.0.0.1 only, in bounded time. Every target not met says NOT MET
# with its figure.
#   tests/bench/run.sh [core|features|all|growth|compress|catchup|nats|filters|churn|saturating|versus|idle]
#                   core (the default, `make bench`, 8 to 13 minutes):
#                   fan-out, latency, memory, the ring, rendering, CT ingest
#                   features (`make bench SUITE=features`, about 7
#                   minutes): log growth, catch-up, NATS edges, server-side
#                   filters, compression
#                   core and features each replace their own section of
#                   bench/results.md and their own rows of
#                   bench/results.json (tests/bench/results_merge.py);
#                   all: both, in turn
#                   growth, compress, catchup, nats, filters: only that
#                   part's rows, printed; bench/results.* are left as they are
#                   churn: only the filters' two churn rows, printed
#                   saturating: only the two saturating rows, printed
#                   idle: only the 50,000 idle clients' rows, printed
#                   versus: this build against an older one (BENCH_BASE=
#                   path of its certstreamd), run by run, on the rows a
#                   single session's noise can decide: saturating and the
#                   latency at 1,000 msg/s (and, with r100 in
#                   VERSUS_ROWS, the CPU and p99 at 100 msg/s; with
#                   c10000, 10,000 clients' p99 at 100 msg/s); printed
#                   (about 8 minutes; VERSUS_ROUNDS=5, VERSUS_ROWS="500
#                   5000 r1000" choose)
# The parts live in tests/bench/core_parts.sh and features_parts.sh, the
# helpers and the processes they start in tests/bench/lib.sh.
#   BENCH_QUICK=1   shorter windows (for trying the script)
#   BENCH_KEEP=1    keep the work directory (build/bench/run-*)
#   BENCH_DAEMON=path  measure another build of certstreamd (an older
#                   commit) the same way; BENCH_OUT=dir  write the results
#                   files there instead of bench/
set -u
cd "$(dirname "$0")/../.." || exit 1
SUITE=${1:-core}
case $SUITE in
core | features | all | growth | compress | catchup | filters | churn | saturating | versus | idle) ;;
nats) exec tests/bench/nats_bench.sh ;;
*) echo "usage: tests/bench/run.sh [core|features|all|growth|compress|catchup|nats|filters|churn|saturating|versus|idle]" >&2; exit 2 ;;
esac
top=$(pwd)
LG=$top/build/loadgen
FEED=$top/tests/data/sample-feed.ndjson
DAEMON=${BENCH_DAEMON:-$top/certstreamd} # another build to compare: BENCH_DAEMON=path
NCHAN_MOD=/usr/lib/nginx/modules/ngx_nchan_module.so
T_START=$(date +%s)
DUR=8
[ "${BENCH_QUICK:-0}" = 1 ] && DUR=3
work=$top/build/bench/run-$$
OUT=${BENCH_OUT:-$top/bench}
mkdir -p "$work" "$OUT"
rows=$work/rows.tsv    # figure | ours | base | ratio | target | met
runs=$work/runs.txt    # one summary line per run
chart=$work/chart.dat  # clients deliveries/s p99 (ours at 100 msg/s)
memtab=$work/mem.md    # memory per process and state
: >"$rows"; : >"$runs"; : >"$chart"; : >"$memtab"

need="$LG $DAEMON $FEED"
[ "$SUITE" = growth ] && need="$DAEMON $top/build/fakelog"
[ "$SUITE" = compress ] && need="$DAEMON $FEED $top/build/compress_bench $top/build/render_bench"
[ "$SUITE" = catchup ] && need="$DAEMON $top/build/fakelog"
[ "$SUITE" = features ] && need="$DAEMON $FEED $LG $top/build/fakelog $top/build/compress_bench $top/build/render_bench"
for f in $need; do
	[ -e "$f" ] || { echo "bench: missing $f (make test-build)"; exit 1; }
done

. tests/bench/lib.sh
. tests/bench/core_parts.sh
. tests/bench/features_parts.sh

# only_part COLUMN WHAT FUNCTION: one part's rows, printed; bench/results.*
# are left as they are. COLUMN names the baseline column.
only_part() {
	log "work directory $work, window ${DUR}s per run; $2 only"
	"$3"
	echo "| figure | ours | $1 | ratio | target | met? |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
	log "done in $(elapsed)s (bench/results.md unchanged)"
	exit 0
}
case $SUITE in
growth) only_part "previous commit" "log growth" growth_part ;;
compress) only_part base compression compress_part ;;
catchup) only_part ceiling catch-up catchup_part ;;
filters) only_part base "server-side filter rows" filters_part ;;
churn)
	python3 tests/bench/filter_paths.py onepct 1000 "$FEED" \
	    >"$work/fl-1pct.txt" 2>"$work/fl-1pct.log"
	only_part base "the filters' churn rows" fl_churn_part ;;
saturating) only_part ceiling "the saturating rows" saturating_part ;;
idle) only_part - "the 50,000 idle clients' rows" idle_part ;;
versus) versus_suite ;;
esac

log "work directory $work, window ${DUR}s per run, suite $SUITE"
core_rows=$work/rows-core.tsv
features_rows=$work/rows-features.tsv
: >"$core_rows"; : >"$features_rows"
if [ "$SUITE" != features ]; then # the core suite: sections 1 to 8
	rows=$core_rows
	core_part
fi # end of the core suite
core_took=$(elapsed)
core_load=$(cut -d' ' -f1-3 /proc/loadavg)

if [ "$SUITE" != core ]; then # the features suite: sections 9 to 13
rows=$features_rows
F_START=$(elapsed)

# 9. Logs that grow: ours beside the previous commit's daemon.
growth_part

# 10. Catch-up under per-operator limits.
[ -x tests/bench/catchup_bench.sh ] && catchup_part

# 11. An edge fed through NATS JetStream against the single box.
log "edge through NATS"
tests/bench/nats_bench.sh "$work/nats.md" >/dev/null || log "nats: not measured"

# 12. Server-side filters: matching cost, filtered fan-out, churn.
filters_part

# 13. permessage-deflate: bytes on the wire, the writer's and workers' CPU.
log "compression"
compress_part || log "compression: not measured"
features_took=$(($(elapsed) - F_START))
fi # end of the features suite

# ---- results ---------------------------------------------------------------
total=$(elapsed)
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
when=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD 2>/dev/null)
[ -n "${BENCH_DAEMON:-}" ] && commit="$commit (daemon: $BENCH_DAEMON)"
machine="$(nproc) cores ($cpu), $(uname -sr)"
table() { # ROWS_FILE
	echo "| figure | ours | ceiling or peer | ratio | target | met? |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$1"
}
if [ "$SUITE" != features ]; then
{
	echo "## Core suite (\`make bench\`)"
	echo
	echo "$when, $machine, $commit — took ${core_took} s; load average at its end: $core_load."
	echo "Every ratio is against a baseline measured in the same run: the raw"
	echo "fan-out ceiling (\`loadgen --raw-server\`: the same pre-framed messages,"
	echo "one writev per client per turn) or nginx + nchan (the peer), fed the same"
	echo "certificates (tests/data/sample-feed.ndjson, lite stream) at the same rate,"
	echo "driven by the same load generator. Latency = receive time − \`data.seen\`."
	echo
	table "$core_rows"
	echo
	echo "### Notes"
	echo
	n1=$(kv "$work/nchan-keep-500.out" deliveries_per_server_cpu_s)
	r1=$(kv "$work/raw-keep-500.out" deliveries_per_server_cpu_s)
	o1=$(kv "$work/keep-500.out" deliveries_per_server_cpu_s)
	echo "- Against nchan (>= 3): the target is checked on the saturating"
	echo "  runs, where each server delivers as much as it can and no client"
	echo "  of ours falls behind. At a fixed rate every client keeps up with"
	echo "  (the context rows), each delivery is one write() to a socket whose"
	echo "  reader is asleep, and the kernel's loopback path and wake-up of that"
	echo "  reader, billed to the writer, is most of the cost whoever writes: at"
	echo "  500 clients × 100 msg/s the raw server, doing the least work per"
	echo "  delivery, managed ${r1:-?} deliveries per CPU-second"
	echo "  ($(ratio "$r1" "$n1")× nchan's ${n1:-?}), ours ${o1:-?} ($(ratio "$o1" "$n1")×)."
	rc=$(medn server_cpu_pct $R500)
	if [ "$(met "$rc" "<=" 15)" != yes ]; then
		echo "- CPU at 500 clients at 100 msg/s (<= 15 %): the raw ceiling, which"
		echo "  does the least work per delivery, itself used ${rc:-?} % of a core"
		echo "  at that rate in the same run (median of 3): 50,000 write()s a"
		echo "  second cost more than 15 % of a core here whoever makes them."
	fi
	# quantile : our runs : raw runs : target ms : what (medians where several)
	for x in "99:keep-500,keep-500b,keep-500c:raw-keep-500,raw-keep-500b,raw-keep-500c:5:500 clients at 100 msg/s" \
	    "50:r1000,r1000b,r1000c,r1000d,r1000e:raw-r1000,raw-r1000b,raw-r1000c:2:500 clients at 1,000 msg/s" \
	    "99:r1000,r1000b,r1000c,r1000d,r1000e:raw-r1000,raw-r1000b,raw-r1000c:10:500 clients at 1,000 msg/s" \
	    "99:scan-10000:raw-scan-10000:50:10,000 clients at 100 msg/s"; do
		q=${x%%:*}; rest=${x#*:}; ol=${rest%%:*}; rest=${rest#*:}
		rl=${rest%%:*}; rest=${rest#*:}; t=${rest%%:*}; what=${rest#*:}
		rv=$(medn lat_p${q}_ms $(for r in $(echo "$rl" | tr , ' '); do echo "$work/$r.out"; done))
		ov=$(medn lat_p${q}_ms $(for r in $(echo "$ol" | tr , ' '); do echo "$work/$r.out"; done))
		if [ "$(met "$rv" "<=" "$t")" != yes ]; then
			echo "- p$q at $what: the raw ceiling measured in the same run"
			echo "  missed the $t ms target too (${rv:-?} ms): the shared 2-core"
			echo "  machine (load generator included) sets that floor, not the server."
		elif [ "$(met "$ov" "<=" "$t")" != yes ]; then
			echo "- p$q at $what: ours ${ov:-?} ms, the raw ceiling ${rv:-?} ms"
			echo "  (target $t). Each record costs the servers and the load generator"
			echo "  a write and a read per client, several ms of CPU for 500 clients on"
			echo "  2 cores, so latency here is mostly waiting for a core, and every"
			echo "  step after the timestamp shows: certstream stamps seen in the"
			echo "  ingest process, and the record then needs one more wake-up (ingest"
			echo "  to each worker, through an eventfd) before its first write, on"
			echo "  cores the load generator keeps busy; the raw server stamps and"
			echo "  writes in the same process."
		fi
	done
	echo "- Load average when the suite ended: $core_load"
	echo "  (other tenants share the 2 cores)."
	echo
	echo "### Memory per process"
	echo
	echo "MB; USS = pages only this process maps, PSS = shared pages split"
	echo "between their users; the shm segment (ring + shared stats) apart."
	echo
	echo "| state | process | USS | PSS | segment RSS | segment PSS |"
	echo "|---|---|---|---|---|---|"
	cat "$memtab"
	echo
	echo "### Runs"
	echo
	echo "Window ${DUR} s each after every client connected and 1 s of warm-up;"
	echo "gaps/skipped = messages a client missed (lapped by the ring, or lost)."
	echo
	echo "| run | clients | deliveries/s | p50 ms | p99 ms | max ms | errors | gaps/skipped | server CPU % | deliveries per server CPU-s | load generator CPU % |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	cat "$runs"
	echo
	echo "![deliveries/s and p99 latency against client count](chart.png)"
} >"$work/core.md"
python3 tests/bench/results_merge.py core "$core_rows" "$work/core.md" "$commit" "$core_load" "$when" "$OUT" ||
	log "bench/results.*: core suite not written"
fi
if [ "$SUITE" != core ]; then
features_load=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "## Features suite (\`make bench SUITE=features\`)"
	echo
	echo "$when, $machine, $commit — took ${features_took} s; load average at its end: $features_load."
	echo "The log growth rows put this daemon beside the previous commit's, run"
	echo "the same way against the same fake logs (tests/bench/growth_bench.js);"
	echo "the others name their baseline, measured in the same run."
	echo
	table "$features_rows"
	if [ -s "$work/nats.md" ]; then echo; cat "$work/nats.md"; fi
} >"$work/features.md"
python3 tests/bench/results_merge.py features "$features_rows" "$work/features.md" "$commit" "$features_load" "$when" "$OUT" ||
	log "bench/results.*: features suite not written"
fi

if [ "$SUITE" != features ] && command -v gnuplot >/dev/null 2>&1 && [ -s "$chart" ]; then
	gnuplot >"$work/gnuplot.log" 2>&1 <<EOF || log "gnuplot failed: $(cat "$work/gnuplot.log")"
set terminal pngcairo size 900,520 font ",10"
set output "$OUT/chart.png"
set title "certstream, 2 workers, 100 msg/s per client (lite WebSocket)"
set xlabel "clients"
set ylabel "deliveries/s"
set y2label "p99 latency (ms)"
set logscale x
set ytics nomirror
set y2tics
set logscale y2
set grid
set key top left
plot "$chart" using 1:2 with linespoints lw 2 title "deliveries/s", \
     "$chart" using 1:(\$1*100) with lines dt 2 title "offered (clients x 100/s)", \
     "$chart" using 1:3 axes x1y2 with linespoints lw 2 title "p99 latency (ms)", \
     "$work/chart-raw.dat" using 1:2 axes x1y2 with points pt 7 ps 1.5 title "p99, raw ceiling at the same load (ms)"
EOF
fi

cat "$OUT/results.md"
log "done in ${total}s"
