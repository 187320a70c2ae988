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
#                   latency at 1,000 msg/s; printed (about 8 minutes;
#                   VERSUS_ROUNDS=5, VERSUS_ROWS="500 5000 r1000" choose)
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

# ---- processes we start, always stopped ------------------------------------
OURS_M=""; NGX=""; RAW=""; PUB=""
stop_pid() { # pid: TERM, then KILL after 5 s
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
cleanup() {
	stop_pid "$PUB"; PUB=""
	stop_pid "$RAW"; RAW=""
	stop_pid "$OURS_M"; OURS_M=""
	stop_pid "$NGX"; NGX=""
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { echo $(($(date +%s) - T_START)); }
log() { echo "bench [$(elapsed)s] $*" >&2; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
kv() { awk -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null; }
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
# met VALUE OP LIMIT -> yes / NOT MET
met() {
	if [ -z "$1" ] || [ "$1" = "-" ]; then echo "NOT MEASURED"; return; fi
	if awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
	    if (op == "<=") exit !(v <= l); else exit !(v >= l) }'; then
		echo yes
	else
		echo "NOT MET"
	fi
}
median() { # numbers on stdin, one a line (even count: mean of the middle two)
	sort -g | awk '{ v[NR] = $1 }
	    END { if (NR) printf "%.10g", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }'
}
medn() { # KEY FILE...: the median of the runs' figures
	k=$1; shift
	for x in "$@"; do kv "$x" "$k"; done | median
}
medpairs() { # KEY A B [A B...]: the median of the differences A - B, pair by pair
	k=$1; shift
	while [ $# -ge 2 ]; do
		a=$(kv "$1" "$k"); b=$(kv "$2" "$k"); shift 2
		[ -n "$a" ] && [ -n "$b" ] && calc "$a - $b" && echo
	done | median
}
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$rows"; }
ratio() { # a b
	if [ -z "$1" ] || [ -z "$2" ] || [ "$1" = "-" ] || [ "$2" = "-" ]; then echo "-"; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}
runline() { # name file: one line per run for the details section
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" \
	    "$(kv "$2" clients)" "$(kv "$2" deliveries_per_s)" \
	    "$(kv "$2" lat_p50_ms)" "$(kv "$2" lat_p99_ms)" "$(kv "$2" lat_max_ms)" \
	    "$(kv "$2" errors)" "$(kv "$2" gaps)/$(kv "$2" skipped)" \
	    "$(kv "$2" server_cpu_pct)" "$(kv "$2" deliveries_per_server_cpu_s)" \
	    "$(kv "$2" client_cpu_pct)" >>"$runs"
}

# ---- memory -----------------------------------------------------------------
# mem PID SHM -> "uss pss seg_rss seg_pss" in KB: USS = Private_Clean +
# Private_Dirty, PSS from smaps_rollup; seg_* = the mapping of /dev/shm/SHM
# (the ring and the shared stats), from smaps.
mem() {
	awk -v shm="$2" '
	    FILENAME ~ /rollup$/ {
		if ($1 == "Pss:") pss = $2
		if ($1 == "Private_Clean:" || $1 == "Private_Dirty:") uss += $2
		next
	    }
	    /^[0-9a-f]+-[0-9a-f]+ / { inseg = (shm != "" && index($0, shm) > 0); next }
	    inseg && $1 == "Rss:" { sr += $2 }
	    inseg && $1 == "Pss:" { sp += $2 }
	    END { printf "%d %d %d %d\n", uss, pss, sr, sp }
	' "/proc/$1/smaps_rollup" "/proc/$1/smaps" 2>/dev/null
}
# mem_all PIDS SHM: prints a line per process and sets, in KB over all
# processes: MEM_USS (sum of USS: pages only one process maps; forked
# children share most of theirs, so this undercounts), MEM_PSS (sum of PSS:
# every page counted once, shared ones split), MEM_PSS_X (MEM_PSS without
# the shm segment) and MEM_SEG (the segment's resident size).
mem_all() {
	MEM_USS=0; MEM_PSS=0; MEM_PSS_X=0; MEM_SEG=0
	seg=$2
	for p in $(echo "$1" | tr , ' '); do
		set -- $(mem "$p" "$seg")
		[ $# -eq 4 ] || continue
		printf '| %s | %s | %s | %s | %s | %s |\n' "$MEM_WHAT" \
		    "$(cat "/proc/$p/comm" 2>/dev/null)" "$(mb "$1")" "$(mb "$2")" \
		    "$(mb "$3")" "$(mb "$4")" | tee -a "$memtab" >&2
		MEM_USS=$((MEM_USS + $1))
		MEM_PSS=$((MEM_PSS + $2))
		MEM_PSS_X=$((MEM_PSS_X + $2 - $4))
		[ "$3" -gt "$MEM_SEG" ] && MEM_SEG=$3
	done
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
sock_mem_kb() { awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "mem") print $(i + 1) * 4 }' /proc/net/sockstat; }
# kernel objects of a connection: TCP sockets, their inodes, epoll items, files
slab_kb() {
	awk '$1 ~ /^(TCP|sock_inode_cache|eventpoll_epi|filp)$/ { s += $2 * $4 }
	    END { printf "%d\n", s / 1024 }' /proc/slabinfo 2>/dev/null
}

# ---- our daemon -------------------------------------------------------------
# ours_start WORKERS RATE: sets OURS_PORT OURS_M OURS_W (workers) OURS_ALL
# (every process) OURS_SHM OURS_CONF. The configuration is a file, so
# ours_rate can change replay.rate live (SIGHUP).
ours_n=0
ours_start() {
	ours_n=$((ours_n + 1))
	OURS_PORT=$(free_port)
	OURS_SHM=csbench-$$-$ours_n
	d=$work/ours$ours_n
	mkdir -p "$d"
	OURS_CONF=$d/certstream.conf
	cat >"$OURS_CONF" <<EOF
host: "127.0.0.1"
port: $OURS_PORT
workers: $1
source: replay
log_level: "warn"
user: root  # the work directory is the bench's own (mode 0700)
shm_name: "/$OURS_SHM"
replay:
  file: "$FEED"
  rate: $2
  loop: true
ct_log:
  state_file: "$d/state.json"
# The runs open up to 50,000 clients (10,000 streaming), past the default
# total of 10,000: the bench measures fan-out, not admission.
connection_limit:
  enabled: false
EOF
	"$DAEMON" -c "$OURS_CONF" >"$d/log" 2>&1 &
	OURS_M=$!
	i=0
	# any HTTP answer means a worker is serving (/health may be 503 by policy)
	until curl -s -o /dev/null "http://127.0.0.1:$OURS_PORT/health" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$OURS_M" 2>/dev/null; then
			log "certstreamd did not start:"; tail -5 "$d/log" >&2
			OURS_M=""; return 1
		fi
		sleep 0.1
	done
	OURS_W=""; OURS_ALL=$OURS_M
	for p in $(pgrep -P "$OURS_M"); do
		OURS_ALL="$OURS_ALL,$p"
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		cs-worker*) OURS_W="${OURS_W:+$OURS_W,}$p" ;;
		esac
	done
	[ -n "$OURS_W" ] || { log "no worker processes found"; return 1; }
	sleep 0.3 # let the replay put a few records in the ring
}
ours_rate() {
	sed -i "s/^  rate: .*/  rate: $1/" "$OURS_CONF"
	kill -HUP "$OURS_M"
}
ours_stop() { stop_pid "$OURS_M"; OURS_M=""; }
wait_ready() { # FILE: until loadgen says every client is connected
	i=0
	until grep -q '^ready' "$1" 2>/dev/null || [ $i -gt 1200 ]; do
		sleep 0.05; i=$((i + 1))
	done
}

# ours_run NAME CLIENTS RATE [loadgen args...] -> $work/NAME.out
# Clients connect while the feed is slow (1/s); the rate is raised once all
# are connected, before the warm-up, so the window measures the steady
# state (connecting under load is the 50,000-client run's business).
ours_run() {
	name=$1 n=$2 rate=$3; shift 3
	if ! ours_start 2 1; then ours_stop; return 1; fi
	procs=2; [ "$n" -lt 2 ] && procs=1
	timeout 120 "$LG" --port "$OURS_PORT" --clients "$n" --procs "$procs" \
	    --duration "$DUR" --feed "$FEED" --cpu-pids "$OURS_W" \
	    --all-pids "$OURS_ALL" "$@" >"$work/$name.out" 2>&1 &
	lg=$!
	wait_ready "$work/$name.out"
	ours_rate "$rate"
	wait "$lg"
	grep '^#' "$work/$name.out" | sed "s/^#/  ours $name:/" >&2
	runline "ours $name" "$work/$name.out"
	ours_stop
}

# ---- the raw ceiling --------------------------------------------------------
raw_run() { # NAME CLIENTS RATE
	port=$(free_port)
	"$LG" --raw-server --procs 2 --port "$port" --msg-file "$FEED" --rate "$3" \
	    >"$work/$1.raw" 2>&1 &
	RAW=$!
	i=0
	until grep -q raw_listening "$work/$1.raw" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { log "raw server did not start"; break; }
		sleep 0.05
	done
	rp="$RAW,$(pgrep -P "$RAW" | paste -sd, -)"
	timeout 120 "$LG" --port "$port" --clients "$2" --procs 2 --duration "$DUR" \
	    --feed "$FEED" --cpu-pids "${rp%,}" >"$work/$1.out" 2>&1
	stop_pid "$RAW"; RAW=""
	grep '^#' "$work/$1.out" | sed "s/^#/  raw $1:/" >&2
	runline "raw $1" "$work/$1.out"
}

# ---- nginx + nchan ----------------------------------------------------------
nchan_start() {
	NGX_PORT=$(free_port)
	d=$work/nchan
	mkdir -p "$d"
	sed -e "s|@DIR@|$d|g; s|@PORT@|$NGX_PORT|; s|@WORKERS@|2|; s|@MODULE@|$NCHAN_MOD|" \
	    "$top/tests/bench/nchan.conf.in" >"$d/nginx.conf"
	nginx -c "$d/nginx.conf" -p "$d" -e "$d/error.log" >"$d/stderr" 2>&1 &
	NGX=$!
	i=0
	until [ -s "$d/nginx.pid" ] && curl -s -o /dev/null "http://127.0.0.1:$NGX_PORT/pub"; do
		i=$((i + 1))
		if [ $i -gt 50 ] || ! kill -0 "$NGX" 2>/dev/null; then
			log "nginx+nchan did not start"; cat "$d/stderr" "$d/error.log" >&2
			NGX=""; return 1
		fi
		sleep 0.1
	done
	NGX_W=$(pgrep -P "$NGX" | paste -sd, -)
}
# nchan_run NAME CLIENTS RATE [loadgen args]: publisher started first, for
# the whole window
nchan_run() {
	name=$1 n=$2 rate=$3; shift 3
	[ -n "$NGX" ] || return 1
	"$LG" --publish /pub --port "$NGX_PORT" --msg-file "$FEED" --rate "$rate" \
	    --duration $((DUR + 12)) >"$work/$name.pub" 2>&1 &
	PUB=$!
	timeout 120 "$LG" --port "$NGX_PORT" --clients "$n" --procs 2 \
	    --duration "$DUR" --feed "$FEED" --cpu-pids "$NGX_W" --all-pids "$NGX_W" \
	    "$@" >"$work/$name.out" 2>&1
	stop_pid "$PUB"; PUB=""
	grep '^#' "$work/$name.out" | sed "s/^#/  nchan $name:/" >&2
	runline "nchan $name" "$work/$name.out"
}

# ---- log growth --------------------------------------------------------
# Static and RFC 6962 fake logs growing at 1 to 1,000 entries a second,
# followed by this daemon and then by the previous commit's (built from git
# by growth_bench.js): bytes, requests, latency, 60 s of growth each.
# About 2.5 minutes (the previous commit's build, once, 20 s more).
growth_part() {
	if [ ! -x build/fakelog ] || ! command -v node >/dev/null 2>&1; then
		row "log growth (growth_bench.js): needs build/fakelog and node" \
		    "-" "-" "-" "<= 1.3" "NOT MEASURED"
		return
	fi
	if [ ! -d tests/node/node_modules/ws ]; then
		(cd tests/node && npm ci --no-audit --no-fund --loglevel=error) >&2
	fi
	secs=60
	[ "${BENCH_QUICK:-0}" = 1 ] && secs=20
	log "log growth: tests/bench/growth_bench.js (static and RFC 6962 fake logs at 1 to 1,000 entries/s, ${secs} s each; ours, then the previous commit's)"
	BENCH_GROWTH_SECS=${BENCH_GROWTH_SECS:-$secs} timeout 600 \
	    node tests/bench/growth_bench.js >"$work/growth.out"
	if ! grep -q '^row' "$work/growth.out"; then
		row "log growth (growth_bench.js): failed, see its output above" \
		    "-" "-" "-" "<= 1.3" "NOT MEASURED"
		return
	fi
	awk -F'\t' -v OFS='\t' '$1 == "row" { print $2, $3, $4, $5, $6, $7 }' \
	    "$work/growth.out" >>"$rows"
}

# ---- permessage-deflate (issue 15) ---------------------------------------
# Bytes per message per form (plain frames, the ring's shared stream, each
# message alone), the writer's CPU for the shared streams against the
# renderer's, and worker CPU per delivery: 50 lite clients at 400
# records/s without and with the extension; beside it, what a compressor
# per client (context kept) would add per delivery. About a minute.
worker_ticks() { # comma-separated pids: utime + stime, clock ticks
	for p in $(echo "$1" | tr , ' '); do
		awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null
	done | awk '{ s += $1 } END { print s + 0 }'
}
compress_part() {
	# The daemon's defaults (compression.level 3, keyframe_records 128):
	# levels, strategies and memLevel compared by `compress_bench FEED
	# 4000 matrix` (README, Compression).
	log "compression: build/compress_bench (4,000 records, level 3, keyframe every 128) and build/render_bench"
	"$top/build/compress_bench" "$FEED" 4000 3 128 >"$work/cb.out" || return 1
	"$top/build/render_bench" 2 >"$work/rb.out" 2>/dev/null || return 1
	for f in lite full domains; do
		row "$f: bytes on the wire per message, compressed (shared stream) / plain; ratio plain over compressed" \
		    "$(kv "$work/cb.out" ${f}_shared_bytes)" "$(kv "$work/cb.out" ${f}_plain_bytes)" \
		    "$(kv "$work/cb.out" ${f}_shared_ratio)" "$([ $f = lite ] && echo '>= 5' || echo -)" \
		    "$([ $f = lite ] && met "$(kv "$work/cb.out" lite_shared_ratio)" '>=' 5 || echo -)"
		row "$f: each message compressed alone (the copies not made): ratio plain over compressed" \
		    - - "$(kv "$work/cb.out" ${f}_alone_ratio)" - -
	done
	for f in lite full domains; do
		row "$f: SSE gzip bytes per event, compressed (shared stream) / plain; ratio plain over compressed" \
		    "$(kv "$work/cb.out" ${f}_sse_shared_bytes)" "$(kv "$work/cb.out" ${f}_sse_plain_bytes)" \
		    "$(kv "$work/cb.out" ${f}_sse_shared_ratio)" - -
	done
	zus=$(kv "$work/cb.out" shared_compress_us_per_record)
	rus=$(kv "$work/rb.out" render_us)
	row "ingest CPU per record, us: compressing (3 shared WebSocket streams, all wanted) / rendering (3 forms)" \
	    "$zus" "$rus" "$(ratio "$zus" "$rus")" "<= 0.10" "$(met "$(ratio "$zus" "$rus")" '<=' 0.10)"
	# A stream is compressed only while a client takes it: each alone.
	for w in lite_ws full_ws domains_ws lite_sse all_ws_sse none; do
		wus=$(kv "$work/cb.out" compress_us_per_record_$w)
		row "ingest CPU per record, us: compressing the streams wanted: $w (none: no client takes any) / rendering" \
		    "$wus" "$rus" "$(ratio "$wus" "$rus")" - -
	done
	row "ingest CPU per record for per-message copies, us (not made)" \
	    "$(kv "$work/cb.out" alone_copies_us_per_record)" - - - -
	ours_start 1 400 || return 1
	port=$OURS_PORT
	for mode in plain deflate; do
		node "$top/tests/bench/compress_clients.js" "ws://127.0.0.1:$port/" 50 "$DUR" $mode \
		    >"$work/cc-$mode.out" 2>&1 &
		cpid=$!
		wait_ready "$work/cc-$mode.out"
		t0=$(worker_ticks "$OURS_W")
		wait "$cpid"
		t1=$(worker_ticks "$OURS_W")
		n=$(kv "$work/cc-$mode.out" messages)
		hz=$(getconf CLK_TCK)
		eval "us_$mode=\$(calc \"($t1 - $t0) * 1000000 / $hz / ($n + 1)\")"
		eval "wire_$mode=\$(calc \"$(kv "$work/cc-$mode.out" wire_bytes) / ($n + 1)\")"
	done
	ours_stop
	row "lite, 50 clients at 400/s: worker CPU per delivery, us, compressed / plain" \
	    "$(printf %.2f "$us_deflate")" "$(printf %.2f "$us_plain")" "$(ratio "$us_deflate" "$us_plain")" "<= 1" \
	    "$(met "$(ratio "$us_deflate" "$us_plain")" '<=' 1)"
	row "lite, same run: bytes received per message, compressed / plain" \
	    "$(printf %.0f "$wire_deflate")" "$(printf %.0f "$wire_plain")" "$(ratio "$wire_deflate" "$wire_plain")" - -
	cl=$(calc "$us_plain + $(kv "$work/cb.out" lite_client_compressor_us_per_delivery)")
	row "lite: worker CPU per delivery, us, shared stream / a compressor per client (plain delivery + one deflate per message)" \
	    "$(printf %.2f "$us_deflate")" "$(printf %.2f "$cl")" "$(ratio "$us_deflate" "$cl")" - -
}

if [ "$SUITE" = compress ]; then
	log "work directory $work; compression only"
	compress_part
	echo "| figure | ours | base | ratio | target | met? |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
	log "done in $(elapsed)s (bench/results.md unchanged)"
	exit 0
fi

# Catch-up of 100,000 entries across four logs of two operators, under
# ct_log.operator_requests_per_second, against the ceiling those limits set.
catchup_part() {
	log "catch-up under per-operator limits: tests/bench/catchup_bench.sh"
	timeout 400 tests/bench/catchup_bench.sh >"$work/catchup.out" 2>&1
	row "catch-up of $(kv "$work/catchup.out" catchup_entries) entries behind, 4 RFC 6962 logs of 2 operators, $(kv "$work/catchup.out" catchup_rps) request(s)/s per operator (operator_requests_per_second) of 1,000 entries: entries per second (ceiling: what the limits allow; took $(kv "$work/catchup.out" catchup_ms) ms from the daemon's start)" \
	    "$(kv "$work/catchup.out" catchup_rate)" "$(kv "$work/catchup.out" catchup_ceiling)" \
	    "$(kv "$work/catchup.out" catchup_ratio)" "context" "-"
}

if [ "$SUITE" = catchup ]; then
	log "work directory $work; catch-up only"
	catchup_part
	echo "| figure | ours | ceiling | ratio | target | met? |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
	log "done in $(elapsed)s (bench/results.md unchanged)"
	exit 0
fi

# ---- server-side filters ---------------------------------------------------
# Four rows; about 3 minutes. Filter URLs from filter_paths.py; CPU from
# /proc of the daemon's processes (loadgen --cpu-pids / --all-pids).
fl_run() { # NAME WORKERS CLIENTS RATE [loadgen args]: ours, rate raised once all are in
	name=$1 nw=$2 n=$3 rate=$4; shift 4
	if ! ours_start "$nw" 1; then ours_stop; return 1; fi
	procs=2; [ "$n" -lt 2 ] && procs=1
	timeout 120 "$LG" --port "$OURS_PORT" --clients "$n" --procs "$procs" \
	    --duration "$DUR" --cpu-pids "$OURS_W" --all-pids "$OURS_ALL" "$@" \
	    >"$work/$name.out" 2>&1 &
	lg=$!
	wait_ready "$work/$name.out"
	ours_rate "$rate"
	ch=""
	if [ -n "${FL_CHURN:-}" ]; then
		# loadgen's churn (C, epoll); BENCH_CHURN_GEN=node: the older
		# generator in node, which takes about 3 times its CPU
		if [ "${BENCH_CHURN_GEN:-c}" = node ]; then
			timeout 60 node tests/bench/filter_churn.js "$OURS_PORT" 1000 \
			    $((DUR + 2)) "$FL_CHURN" 500 >"$work/$name.churn" 2>&1 &
		else
			timeout 60 "$LG" --churn 1000 --port "$OURS_PORT" \
			    --duration $((DUR + 2)) --paths-file "$FL_CHURN" --hold 500 \
			    >"$work/$name.churn" 2>&1 &
		fi
		ch=$!
	fi
	wait "$lg"
	[ -z "$ch" ] || wait "$ch"
	grep '^#' "$work/$name.out" | sed "s/^#/  ours $name:/" >&2
	runline "ours $name" "$work/$name.out"
	ours_stop
}
# clients that were refused, or that got records a never-matching filter
# excludes, mean the filters did not run: the row says so
fl_check() { # FILE [0 = no record may arrive]
	e=$(kv "$1" connect_errors); c=$(kv "$1" connected); m=$(kv "$1" messages)
	if [ -z "$c" ]; then echo "NOT MEASURED (no loadgen output)"
	elif [ "${e:-0}" != 0 ] || [ "$c" = 0 ]; then echo "NOT MET ($e clients refused)"
	elif [ "${2:-}" = 0 ] && [ "${m:-0}" != 0 ]; then echo "NOT MET ($m records reached clients whose filters match none: not filtered)"
	fi
}
# filtered clients that got far fewer records than their filters select
# (clients x 1,000/s x the mean match) were not served: NOT MET
fl_short() { # FILE CLIENTS
	pct=$(sed -n 's/.*mean match \([0-9.]*\)%.*/\1/p' "$work/fl-1pct.log")
	awk -v d="$(kv "$1" deliveries_per_s)" -v n="$2" -v p="${pct:-0}" 'BEGIN {
	    e = n * 1000 * p / 100
	    if (d == "" || d < 0.8 * e) printf "NOT MET (filtered clients got %s deliveries/s of %.0f their filters select)", d, e }'
}
filters_part() {
	fp=tests/bench/filter_paths.py
	# 1. Matching alone: one worker, 250 lite clients holding 10, 1,000 or
	# 10,000 distinct terms that match no record, 1,000 records/s.
	for np in 10 1000 10000; do
		python3 "$fp" none "$np" 250 >"$work/fl-none-$np.txt"
		log "filters: matching alone, $np distinct patterns (250 clients, 1 worker, 1,000 records/s)"
		# 6 s of warm-up: the worker compiles its merged matcher on a thread
		# (seconds for thousands of regexes), a one-off, not per record
		fl_run "fl-match-$np" 1 250 1000 --warmup 6 --paths-file "$work/fl-none-$np.txt"
	done
	us() { awk -v c="$(kv "$1" server_cpu_s)" -v w="$(kv "$1" window_s)" \
	    'BEGIN { if (w > 0 && c != "") printf "%.2f", c * 1e6 / (w * 1000) }'; }
	a=$(us "$work/fl-match-10.out"); b=$(us "$work/fl-match-1000.out"); z=$(us "$work/fl-match-10000.out")
	q=$(ratio "$z" "$a")
	m=$(met "$q" "<=" 5)
	for np in 10 1000 10000; do
		x=$(fl_check "$work/fl-match-$np.out" 0); [ -n "$x" ] && m="$x ($np patterns)"
	done
	row "filters, matching alone: worker CPU per record, us, with 10,000 distinct patterns (keywords, domains, regexes 2:2:1, none matching; 250 clients, 1 worker, 1,000 records/s, counted from 6 s after the last connect) against 10 (1,000: ${b:--} us; the 250 clients connected in $(kv "$work/fl-match-10.out" connect_time_s), $(kv "$work/fl-match-1000.out" connect_time_s) and $(kv "$work/fl-match-10000.out" connect_time_s) s)" \
	    "${z:--}" "${a:--}" "$q" "<= 5" "$m"
	# 2. 5,000 clients holding 1,000 distinct filters (each ~1% of records)
	# against the same 5,000 unfiltered, 1,000 records/s, 2 workers.
	python3 "$fp" onepct 1000 "$FEED" >"$work/fl-1pct.txt" 2>"$work/fl-1pct.log"
	log "filters: 5,000 clients, 1,000 distinct filters (~1% each), 1,000 records/s"
	fl_run "fl-5000-filtered" 2 5000 1000 --paths-file "$work/fl-1pct.txt"
	log "filters: the same 5,000 clients unfiltered"
	fl_run "fl-5000-plain" 2 5000 1000
	f=$work/fl-5000-filtered.out; u=$work/fl-5000-plain.out
	o=$(kv "$f" all_cpu_pct); p=$(kv "$u" all_cpu_pct)
	q=$(ratio "$o" "$p")
	m=$(met "$q" "<=" 1); x=$(fl_short "$f" 5000); [ -n "$x" ] && m=$x
	x=$(fl_check "$f"); [ -n "$x" ] && m=$x
	row "filters, 5,000 clients with 1,000 distinct filters ($(sed 's/.*mean match //' "$work/fl-1pct.log")) at 1,000 records/s: CPU of all server processes, % of a core, against the same clients unfiltered ($(kv "$f" deliveries_per_s) against $(kv "$u" deliveries_per_s) deliveries/s)" \
	    "${o:--}" "${p:--}" "$q" "<= 1" "$m"
	fl_churn_part
}
# 3. p99 of 500 filtered clients while 1,000 filtered clients a second
# connect and leave (each stays 0.5 s), against the same run without; the
# filters of the fan-out row ($work/fl-1pct.txt). Alone: run.sh churn.
fl_churn_part() {
	# BENCH_CHURN_RUNS pairs (3), without and with churn in turn: the box's
	# other load moves a single p99 by more than the churn does
	nr=${BENCH_CHURN_RUNS:-3} k=1 no="" yes="" chs="" m=""
	while [ "$k" -le "$nr" ]; do
		log "filters: 500 filtered clients at 1,000 records/s, without churn ($k of $nr)"
		fl_run "fl-churn-no-$k" 2 500 1000 --paths-file "$work/fl-1pct.txt"
		log "filters: the same with 1,000 filtered clients a second connecting and leaving ($k of $nr)"
		FL_CHURN=$work/fl-1pct.txt fl_run "fl-churn-yes-$k" 2 500 1000 --paths-file "$work/fl-1pct.txt"
		n1=$work/fl-churn-no-$k.out y1=$work/fl-churn-yes-$k.out ch=$work/fl-churn-yes-$k.churn
		no="$no $n1" yes="$yes $y1" chs="$chs $ch"
		x=$(fl_short "$n1" 500); [ -n "$x" ] && m="$x without churn"
		x=$(fl_short "$y1" 500); [ -n "$x" ] && m="$x with churn"
		x=$(fl_check "$y1"); [ -n "$x" ] && m=$x
		[ "$(kv "$ch" churn_refused)" = 0 ] && [ "$(kv "$ch" churn_errors)" = 0 ] || m="NOT MET (churn: $(kv "$ch" churn_refused) refused, $(kv "$ch" churn_errors) errors)"
		k=$((k + 1))
	done
	# shellcheck disable=SC2086
	{
		o=$(medn lat_p99_ms $yes); p=$(medn lat_p99_ms $no)
		each=$(for f in $yes; do kv "$f" lat_p99_ms; done | paste -sd/ -)
		eachn=$(for f in $no; do kv "$f" lat_p99_ms; done | paste -sd/ -)
		ups=$(medn churn_per_s $chs); gcpu=$(medn churn_cpu_pct $chs)
		lcpu=$(medn client_cpu_pct $yes); wy=$(medn server_cpu_pct $yes); wn=$(medn server_cpu_pct $no)
		dy=$(medn deliveries_per_s $yes); dn=$(medn deliveries_per_s $no)
	}
	q=$(ratio "$o" "$p")
	[ -n "$m" ] || m=$(met "$q" "<=" 2)
	row "filters, 500 filtered clients at 1,000 records/s: p99 latency, ms, while 1,000 filtered clients a second connect and leave, median of $nr runs (each: $each), against the same without churn, median of $nr runs taken in turn (each: $eachn) (${ups:--} upgrades/s achieved; the churn generator, ${BENCH_CHURN_GEN:-loadgen --churn}, used ${gcpu:--}% of a core of the box's cores and loadgen ${lcpu:--}%; the workers ${wy:--}% with churn, ${wn:--}% without; $dy against $dn deliveries/s)" \
	    "${o:--}" "${p:--}" "$q" "<= 2" "$m"
	# every tenth churn client has a filter of its own that matches every
	# record: how soon after its 101 its first record came (the worst run)
	o="" e=0 np=0 p50="" mx=""
	for ch in $chs; do
		v=$(kv "$ch" first_record_p99_ms)
		if [ -z "$o" ] || awk -v a="$v" -v b="$o" 'BEGIN { exit !(a > b) }'; then
			o=$v p50=$(kv "$ch" first_record_p50_ms) mx=$(kv "$ch" first_record_max_ms)
		fi
		v=$(kv "$ch" probes_without_record); e=$((e + ${v:-1}))
		v=$(kv "$ch" probes); np=$((np + ${v:-0}))
	done
	m=$(met "$o" "<=" 100)
	[ "$e" != 0 ] && m="NOT MET ($e of $np new clients got no record within 2 s)"
	row "filters, a new filtered client (a filter of its own, matching every record) among that churn: first record after its upgrade, p99 of the worst of $nr runs, ms ($np clients in all; that run's p50 $p50, max $mx)" \
	    "${o:--}" "-" "-" "<= 100" "$m"
}

if [ "$SUITE" = filters ] || [ "$SUITE" = churn ]; then
	log "work directory $work; server-side filter rows only ($SUITE)"
	if [ "$SUITE" = churn ]; then
		python3 tests/bench/filter_paths.py onepct 1000 "$FEED" \
		    >"$work/fl-1pct.txt" 2>"$work/fl-1pct.log"
		fl_churn_part
	else
		filters_part
	fi
	echo "| figure | ours | base | ratio | target | met? |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
	log "done in $(elapsed)s (bench/results.md unchanged)"
	exit 0
fi

saturating_part() {
	# 1. Headline: deliveries per worker CPU-second against the raw ceiling.
	# "Input saturating" for certstream is a replay rate far above what the
	# clients can take (2M deliveries/s asked of 2 cores): workers always have
	# work, slow clients are lapped and skip, as in production.
	# Three alternating pairs per size; the ratio is of the medians.
	for n in 500 5000; do
		for k in a b c; do
			log "saturating, $n clients: raw ceiling ($k)"
			raw_run "raw-sat-$n$k" "$n" 0
			log "saturating, $n clients: certstream ($k)"
			ours_run "sat-$n$k" "$n" $((2000000 / n))
		done
		o=$(medn deliveries_per_server_cpu_s "$work/sat-${n}a.out" "$work/sat-${n}b.out" "$work/sat-${n}c.out")
		r=$(medn deliveries_per_server_cpu_s "$work/raw-sat-${n}a.out" "$work/raw-sat-${n}b.out" "$work/raw-sat-${n}c.out")
		q=$(ratio "$o" "$r")
		row "$n lite WS clients, input saturating: deliveries per worker CPU-second, medians of 3 alternating runs (ceiling: raw fan-out, coalesced writev)" \
		    "${o:--}" "${r:--}" "$q" ">= 0.85" "$(met "$q" ">=" 0.85)"
	done
}

if [ "$SUITE" = saturating ]; then
	log "work directory $work, window ${DUR}s per run; the saturating rows only"
	rows=$work/rows-sat.tsv
	: >"$rows"
	saturating_part
	echo "| figure | ours | ceiling | ratio | target | met? |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
	log "done in $(elapsed)s (bench/results.md unchanged)"
	exit 0
fi

# 7. 50,000 idle WebSocket clients: 4 workers, 4 client processes each on
# its own loopback source address (one address has ~28k ephemeral ports).
idle_part() {
	log "50,000 idle WebSocket clients: 4 workers, 4 client processes"
	if ours_start 4 1; then
		sleep 0.5
		MEM_WHAT="idle, 4 workers"
		mem_all "$OURS_ALL" "$OURS_SHM"
		pss0=$MEM_PSS
		sk0=$(sock_mem_kb); sl0=$(slab_kb)
		"$LG" --port "$OURS_PORT" --clients 50000 --procs 4 --spread-src --idle \
		    --duration 6 --warmup 0 --connect-timeout 60 >"$work/c50k.out" 2>&1 &
		lg=$!
		i=0
		until grep -q '^ready' "$work/c50k.out" 2>/dev/null || [ $i -gt 700 ]; do
			sleep 0.1; i=$((i + 1))
		done
		sleep 2
		MEM_WHAT="50,000 idle clients, 4 workers"
		mem_all "$OURS_ALL" "$OURS_SHM"
		sk1=$(sock_mem_kb); sl1=$(slab_kb)
		wait "$lg"
		f=$work/c50k.out
		conn=$(kv "$f" connected)
		t=$(kv "$f" connect_time_s)
		[ "$(kv "$f" all_connected)" = 1 ] || t="$t (not all: $conn)"
		row "50,000 idle WebSocket clients (4 workers, 4 client processes): time to connect all, s" \
		    "$t" "-" "-" "<= 10" "$(met "$(kv "$f" connect_time_s)" "<=" 10)"
		per=$(awk -v a="$MEM_PSS" -v b="$pss0" -v n="${conn:-0}" \
		    'BEGIN { if (n > 0) { v = (a - b) * 1024 / n; printf "%.0f", (v > -0.5 && v < 0.5) ? 0 : v } else print "-" }')
		row "50,000 idle WebSocket clients: user-space memory per connection, bytes (growth of the sum of PSS of all processes, shm segment included, / connections)" \
		    "$per" "-" "-" "<= 4096" "$(met "$per" "<=" 4096)"
		# Idle sockets hold no buffer pages; the count is system-wide, so other
		# sockets closing meanwhile can make it fall: say so rather than print
		# a negative size.
		kper=$(awk -v a="${sk1:-0}" -v b="${sk0:-0}" -v n="${conn:-0}" \
		    'BEGIN { if (n <= 0) print "-"; else if (a < b) printf "0 (the system-wide count fell by %d KB)", b - a;
		        else printf "%.0f", (a - b) * 1024 / n }')
		sper=$(awk -v a="${sl1:-0}" -v b="${sl0:-0}" -v n="${conn:-0}" \
		    'BEGIN { if (n > 0) { v = (a - b) * 1024 / n; printf "%.0f", (v > -0.5 && v < 0.5) ? 0 : v } else print "-" }')
		row "50,000 idle WebSocket clients: kernel memory per connection, bytes: socket buffers (/proc/net/sockstat) / socket, inode, epoll and file objects (/proc/slabinfo), both ends of loopback" \
		    "$kper / $sper" "-" "-" "context" "-"
		printf '| ours 50k idle (4 workers) | %s | connected %s in %s s | | | | %s | | | | |\n' \
		    "$(kv "$f" clients)" "$conn" "$(kv "$f" connect_time_s)" "$(kv "$f" errors)" >>"$runs"
		ours_stop
	fi
}
# Two builds compared in one session. Separate sessions on a shared machine
# disagree by more than the builds do (the raw ceiling's own p99 at 1,000
# msg/s has read 4.1 ms in one and 7.9 ms in another), so each round runs
# the raw ceiling, this build and the older one back to back, the two
# builds' order swapped every round, and each figure is the median of the
# rounds.
versus_part() {
	new=$DAEMON base=$BENCH_BASE
	for k in $(seq "$VERSUS_ROUNDS"); do
		order="new base"; [ $((k % 2)) = 0 ] && order="base new"
		# (ours_run and raw_run set n and rate: these names are the loop's own)
		for vrow in $VERSUS_ROWS; do
			vclients=$vrow vrate=$((2000000 / ${vrow#r})) vraw=0
			[ "$vrow" = r1000 ] && vclients=500 vrate=1000 vraw=1000
			log "versus, round $k: $vrow, raw ceiling"
			raw_run "raw-$vrow-$k" "$vclients" "$vraw"
			for b in $order; do
				if [ "$b" = new ]; then DAEMON=$new; else DAEMON=$base; fi
				log "versus, round $k: $vrow, $b"
				ours_run "$b-$vrow-$k" "$vclients" "$vrate"
			done
		done
	done
	DAEMON=$new
	files() { for k in $(seq "$VERSUS_ROUNDS"); do printf '%s ' "$work/$1-$k.out"; done; }
	for spec in "500 deliveries_per_server_cpu_s >= 500 clients, input saturating: deliveries per worker CPU-second" \
	    "5000 deliveries_per_server_cpu_s >= 5000 clients, input saturating: deliveries per worker CPU-second" \
	    "r1000 lat_p50_ms <= 500 clients at 1,000 msg/s: p50 latency, ms" \
	    "r1000 lat_p99_ms <= 500 clients at 1,000 msg/s: p99 latency, ms"; do
		set -- $spec
		n=$1 key=$2 dir=$3; shift 3
		case " $VERSUS_ROWS " in *" $n "*) ;; *) continue ;; esac
		o=$(medn "$key" $(files "new-$n")); b=$(medn "$key" $(files "base-$n"))
		r=$(medn "$key" $(files "raw-$n"))
		qo=$(ratio "$o" "$r"); qb=$(ratio "$b" "$r")
		# this build / the older one, round by round: the median, and the
		# spread a verdict must clear
		pr=$(for k in $(seq "$VERSUS_ROUNDS"); do
			x=$(kv "$work/new-$n-$k.out" "$key"); y=$(kv "$work/base-$n-$k.out" "$key")
			[ -n "$x" ] && [ -n "$y" ] && awk -v x="$x" -v y="$y" 'BEGIN { if (y > 0) printf "%.3f\n", x / y }'
		done)
		pm=$(echo "$pr" | median); plo=$(echo "$pr" | sort -g | head -1); phi=$(echo "$pr" | sort -g | tail -1)
		v=$(awk -v m="$pm" -v lo="$plo" -v hi="$phi" -v d="$dir" 'BEGIN {
		    if (m == "") { print "-"; exit }
		    if (d == "<=") { t = lo; lo = 1 / hi; hi = 1 / t }  # lower is better
		    if (lo > 1) print "better in every round"
		    else if (hi < 1) print "worse in every round"
		    else print "within the rounds\x27 spread" }')
		v="$v (this / older, round by round: median ${pm:--}, ${plo:--} to ${phi:--})"
		row "$*, medians of $VERSUS_ROUNDS rounds" "$o" "$b" "$r" "$qo / $qb" "$v"
	done
}

if [ "$SUITE" = idle ]; then
	log "work directory $work; the 50,000 idle clients' rows only"
	rows=$work/rows-idle.tsv
	: >"$rows"
	idle_part
	echo "| figure | ours | - | - | target | met? |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
	log "done in $(elapsed)s (bench/results.md unchanged)"
	exit 0
fi

if [ "$SUITE" = versus ]; then
	VERSUS_ROUNDS=${VERSUS_ROUNDS:-5} VERSUS_ROWS=${VERSUS_ROWS:-500 5000 r1000}
	[ -x "${BENCH_BASE:-}" ] || { echo "bench: versus needs BENCH_BASE=path of an older certstreamd" >&2; exit 2; }
	log "work directory $work, window ${DUR}s per run; $DAEMON against $BENCH_BASE"
	rows=$work/rows-versus.tsv
	: >"$rows"
	versus_part
	echo "| figure | this build | older build | raw ceiling | ratios to the ceiling (this / older) | this build is |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
	echo
	echo "Every run (round by round):"
	echo
	echo "| run | clients | deliveries/s | p50 ms | p99 ms | max ms | errors | gaps/skipped | server CPU % | deliveries per server CPU-s | client CPU % |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	cat "$runs"
	log "done in $(elapsed)s (bench/results.md unchanged)"
	exit 0
fi

if [ "$SUITE" = growth ]; then
	log "work directory $work; log growth only"
	growth_part
	echo "| figure | ours | previous commit | ratio | target | met? |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
	log "done in $(elapsed)s (bench/results.md unchanged)"
	exit 0
fi

log "work directory $work, window ${DUR}s per run, suite $SUITE"
core_rows=$work/rows-core.tsv
features_rows=$work/rows-features.tsv
: >"$core_rows"; : >"$features_rows"
if [ "$SUITE" != features ]; then # the core suite: sections 1 to 8
rows=$core_rows

# 1. Headline: deliveries per worker CPU-second against the raw ceiling
# (saturating_part, above).
saturating_part

# 2. The peer. First the same two saturating runs: nchan's publisher posts
# as fast as nchan answers (one connection, so messages stay in feed order
# and gaps can be counted). Both sides are charged every process they run
# (ours: master, ingest and workers), and the target holds only if every
# one of our clients kept up (no gaps). Then a rate every client keeps up
# with, 50,000 deliveries/s, where each delivery is its own write().
nchan_start || log "nchan unavailable: its rows say NOT MEASURED"
for n in 500 5000; do
	log "saturating, $n clients: nchan"
	nchan_run "nchan-sat-$n" "$n" 1000000
	o=$(medn deliveries_per_all_cpu_s "$work/sat-${n}a.out" "$work/sat-${n}b.out" "$work/sat-${n}c.out")
	p=$(kv "$work/nchan-sat-$n.out" deliveries_per_all_cpu_s)
	g=0
	for k in a b c; do v=$(kv "$work/sat-$n$k.out" gaps); g=$((g + ${v:-1})); done
	q=$(ratio "$o" "$p")
	m=$(met "$q" ">=" 3)
	[ "$m" = yes ] && [ "$g" != 0 ] && m="NOT MET ($g gaps)"
	row "$n lite WS clients, input saturating, all keeping up: deliveries per CPU-second of all server processes, ours (median of the 3 runs above; $g gaps) against nchan (publishing as fast as it answers: $(kv "$work/nchan-sat-$n.pub" pub_rate) msg/s; each client got $(calc "$(kv "$work/nchan-sat-$n.out" deliveries_per_s) / $n") msg/s, $(kv "$work/nchan-sat-$n.out" gaps) gaps)" \
	    "${o:--}" "${p:--}" "$q" ">= 3" "$m"
done
for spec in 500:100 5000:10; do
	n=${spec%:*} rate=${spec#*:}
	log "$n clients at $rate msg/s: certstream"
	ours_run "keep-$n" "$n" "$rate"
	log "$n clients at $rate msg/s: nchan"
	nchan_run "nchan-keep-$n" "$n" "$rate"
	log "$n clients at $rate msg/s: raw ceiling"
	raw_run "raw-keep-$n" "$n" "$rate"
	o=$(kv "$work/keep-$n.out" deliveries_per_server_cpu_s)
	p=$(kv "$work/nchan-keep-$n.out" deliveries_per_server_cpu_s)
	r=$(kv "$work/raw-keep-$n.out" deliveries_per_server_cpu_s)
	q=$(ratio "$o" "$p")
	row "$n lite WS clients at $rate msg/s, all keeping up: deliveries per server CPU-second (peer: nchan; the raw ceiling at this rate: ${r:--}, ours/raw $(ratio "$o" "$r")); one write() per delivery, see the notes" \
	    "${o:--}" "${p:--}" "$q" "context" "-"
done
# 500 clients at 100 msg/s is also the CPU and p99 run: two more runs of
# ours and of the raw ceiling, alternating; the targets are checked on
# the medians of three, against the ceiling's median of three
log "500 clients at 100 msg/s: certstream and the raw ceiling, 2 more runs each"
for x in b c; do
	raw_run "raw-keep-500$x" 500 100
	ours_run "keep-500$x" 500 100
done
K500="$work/keep-500.out $work/keep-500b.out $work/keep-500c.out"
R500="$work/raw-keep-500.out $work/raw-keep-500b.out $work/raw-keep-500c.out"
o=$(medn all_cpu_pct $K500)
p=$(kv "$work/nchan-keep-500.out" server_cpu_pct)
r=$(medn server_cpu_pct $R500)
row "500 clients at 100 msg/s: CPU of all certstream processes, % of one core, median of 3 (peer: nchan workers; the raw ceiling's own CPU at this rate, median of 3: ${r:--})" \
    "${o:--}" "${p:--}" "$(ratio "$o" "$p")" "<= 15" "$(met "$o" "<=" 15)"
o=$(medn lat_p99_ms $K500)
r=$(medn lat_p99_ms $R500)
p=$(kv "$work/nchan-keep-500.out" lat_p99_ms)
row "500 clients at 100 msg/s: p99 latency, ms, median of 3 (ceiling: raw server at the same rate, median of 3; peer: nchan, one run)" \
    "${o:--}" "raw ${r:--} / nchan ${p:--}" "$(ratio "$o" "$r")" "<= 5" "$(met "$o" "<=" 5)"

# 3. 500 clients at 1,000 msg/s, then the same with one stalled client.
log "500 clients at 1000 msg/s: certstream"
ours_run "r1000" 500 1000
log "500 clients at 1000 msg/s: raw ceiling"
raw_run "raw-r1000" 500 1000
log "500 clients at 1000 msg/s: nchan"
nchan_run "nchan-r1000" 500 1000
stop_pid "$NGX"; NGX=""
f=$work/r1000.out
o=$(calc "$(kv "$f" deliveries_per_s) / 500"); p=$(calc "$(kv "$work/nchan-r1000.out" deliveries_per_s) / 500")
g=$(kv "$f" gaps)
m=$(met "$o" ">=" 980)
[ "$m" = yes ] && [ "${g:-1}" != 0 ] && m="NOT MET ($g gaps)"
row "500 clients at 1,000 msg/s: messages per second each client received, gap-free (peer: nchan)" \
    "$o" "$p" "$(ratio "$o" "$p")" ">= 1000 held" "$m"
o=$(kv "$f" deliveries_per_server_cpu_s); p=$(kv "$work/nchan-r1000.out" deliveries_per_server_cpu_s)
r=$(kv "$work/raw-r1000.out" deliveries_per_server_cpu_s)
row "500 clients at 1,000 msg/s: deliveries per server CPU-second (peer: nchan, which did not keep up; raw ceiling: ${r:--})" \
    "${o:--}" "${p:--}" "$(ratio "$o" "$p")" "context" "-"
# The stalled-client comparison alternates with and without, five times
# each, and takes the median of the five differences, each between runs a
# few seconds apart: other tenants' bursts hit single runs (three
# identical runs have read p99 10.2, 16.9 and 12.8 ms). The raw ceiling
# runs twice more in between, so the latency rows compare medians.
log "500 clients at 1000 msg/s, one of them stalled: certstream (alternating, 5 of each; 2 more raw runs)"
ours_run "stall" 500 1000 --stall 1
for x in b c d e; do
	ours_run "r1000$x" 500 1000
	case $x in b | c) raw_run "raw-r1000$x" 500 1000 ;; esac
	ours_run "stall$x" 500 1000 --stall 1
done
R1000="$f $work/r1000b.out $work/r1000c.out $work/r1000d.out $work/r1000e.out"
S1000="$work/stall.out $work/stallb.out $work/stallc.out $work/stalld.out $work/stalle.out"
RAW1000="$work/raw-r1000.out $work/raw-r1000b.out $work/raw-r1000c.out"
a=$(medn lat_p99_ms $S1000)
b=$(medn lat_p99_ms $R1000)
d=$(medpairs lat_p99_ms "$work/stall.out" "$f" "$work/stallb.out" "$work/r1000b.out" \
    "$work/stallc.out" "$work/r1000c.out" "$work/stalld.out" "$work/r1000d.out" \
    "$work/stalle.out" "$work/r1000e.out")
# the stalled client never reads, so it adds no latency samples: the p99 is
# the other 499's
row "one stalled client among 500 (1,000 msg/s): p99 of the others minus p99 without it, ms (median of the differences of 5 alternating pairs; medians of the runs: $a with, $b without)" \
    "${d:--}" "-" "-" "<= 5" "$(met "$d" "<=" 5)"
for q in 50:2 99:10; do
	o=$(medn lat_p${q%:*}_ms $R1000)
	r=$(medn lat_p${q%:*}_ms $RAW1000)
	p=$(kv "$work/nchan-r1000.out" lat_p${q%:*}_ms)
	row "500 clients at 1,000 msg/s: p${q%:*} latency, ms, median of 5 runs (ceiling: raw server at the same rate, median of 3; peer: nchan, one run)" \
	    "${o:--}" "raw ${r:--} / nchan ${p:--}" "$(ratio "$o" "$r")" "<= ${q#*:}" "$(met "$o" "<=" "${q#*:}")"
done

# 4. Client count scan at 100 msg/s (the chart), 10,000 clients' p99.
for n in 500 2000 5000 10000; do
	if [ "$n" = 500 ]; then
		f=$work/keep-500.out
		log "500 clients at 100 msg/s: from the nchan comparison run"
	else
		log "$n clients at 100 msg/s: certstream"
		ours_run "scan-$n" "$n" 100
		f=$work/scan-$n.out
	fi
	printf '%s %s %s %s\n' "$n" "$(kv "$f" deliveries_per_s)" "$(kv "$f" lat_p99_ms)" \
	    "$(kv "$f" lat_p50_ms)" >>"$chart"
done
log "10000 clients at 100 msg/s: raw ceiling"
raw_run "raw-scan-10000" 10000 100
printf '500 %s\n10000 %s\n' "$(kv "$work/raw-keep-500.out" lat_p99_ms)" \
    "$(kv "$work/raw-scan-10000.out" lat_p99_ms)" >"$work/chart-raw.dat"
o=$(kv "$work/scan-10000.out" lat_p99_ms); r=$(kv "$work/raw-scan-10000.out" lat_p99_ms)
row "10,000 clients at 100 msg/s: p99 latency, ms (ceiling: raw server at the same rate)" \
    "${o:--}" "raw ${r:--}" "$(ratio "$o" "$r")" "<= 50" "$(met "$o" "<=" 50)"

# 5. A mix of streams (WebSocket lite/full/domains, SSE) stays gap-free.
log "mixed streams, 500 clients at 100 msg/s: certstream"
ours_run "mix" 500 100 --mix '/=4,/full-stream=1,/domains-only=2,/sse?stream=lite=2,/sse?stream=domains=1'
g=$(kv "$work/mix.out" gaps); e=$(kv "$work/mix.out" errors)
row "500 clients, mixed streams (WS lite/full/domains, SSE) at 100 msg/s: gaps + errors" \
    "$(( ${g:-1} + ${e:-1} ))" "-" "-" "0" "$(met "$(( ${g:-1} + ${e:-1} ))" "<=" 0)"

# 6. Memory: idle (2 workers, no clients) and 500 clients under load.
log "memory: idle, 2 workers"
if ours_start 2 100; then
	sleep 1
	MEM_WHAT="idle, 2 workers"
	mem_all "$OURS_ALL" "$OURS_SHM"
	v=$(mb "$MEM_PSS_X")
	row "idle, 2 workers, no clients: memory of all processes, shm segment excluded, MB (sum of PSS; sum of USS $(mb "$MEM_USS"); segment resident $(mb "$MEM_SEG"))" \
	    "$v" "-" "-" "<= 20" "$(met "$v" "<=" 20)"
	log "memory: 500 clients at 100 msg/s"
	"$LG" --port "$OURS_PORT" --clients 500 --procs 2 --duration 4 --feed "$FEED" \
	    >"$work/mem500.out" 2>&1 &
	lg=$!
	i=0
	until grep -q '^ready' "$work/mem500.out" 2>/dev/null || [ $i -gt 200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	sleep 2
	MEM_WHAT="500 clients, 100 msg/s"
	mem_all "$OURS_ALL" "$OURS_SHM"
	wait "$lg"
	v=$(mb "$MEM_PSS_X")
	row "500 clients under load (100 msg/s): memory of all processes, shm segment excluded, MB (sum of PSS; sum of USS $(mb "$MEM_USS"); segment resident $(mb "$MEM_SEG"))" \
	    "$v" "-" "-" "<= 40" "$(met "$v" "<=" 40)"
	ours_stop
fi

# 7. 50,000 idle WebSocket clients (idle_part, above).
idle_part

# 8. The ring alone and the rendering cost (their own programs).
if [ -x build/ring_bench ]; then
	log "ring alone: build/ring_bench"
	timeout 60 build/ring_bench >"$work/ring.out" 2>&1
	o=$(kv "$work/ring.out" ring_records_per_sec)
	c=$(kv "$work/ring.out" ring_reader_cpu_pct_paced)
	row "ring alone, 1 writer, 2 readers woken by eventfd: records/s (reader CPU when paced: ${c:-?}%, no spinning)" \
	    "${o:--}" "-" "-" ">= 1,000,000" "$(met "$o" ">=" 1000000)"
fi
if [ -x build/render_bench ]; then
	log "render cost: build/render_bench"
	timeout 60 build/render_bench >"$work/render.out" 2>&1
	o=$(kv "$work/render.out" render_cost_ratio)
	row "render all three forms vs bare d2i_X509: cost ratio (issue 3)" \
	    "${o:--}" "$(kv "$work/render.out" d2i_per_sec) d2i/s" "-" "context" "-"
fi

if [ -x tests/bench/ingest_bench.sh ] && [ -x build/fakelog ]; then
	log "CT ingest: tests/bench/ingest_bench.sh (fake CT log on loopback)"
	CERTSTREAM_BIN=$DAEMON BENCH_IDLE_SECS=20 timeout 300 tests/bench/ingest_bench.sh >"$work/ingest.out" 2>&1
	o=$(kv "$work/ingest.out" ingest_cpu_rate)
	row "CT ingest from a local fake log, get-entries by 1,000, one core: entries per ingest CPU-second (wall rate $(kv "$work/ingest.out" ingest_wall_rate)/s, bounded by the fake log)" \
	    "${o:--}" "-" "-" "context" "-"
	o=$(kv "$work/ingest.out" ingest_idle_cpu)
	row "CT ingest watching 60 idle logs (tree heads polled every second and verified): CPU, % of one core" \
	    "${o:--}" "-" "-" "context" "-"
	o=$(kv "$work/ingest.out" ingest_dup_ratio)
	row "CT ingest of 3 logs holding the same certificates against 1 log: ingest CPU, 3 logs / 1 (fakelog --same-certs, $(kv "$work/ingest.out" ingest_dup_entries) entries a log; $(kv "$work/ingest.out" ingest_dup_cpu3) ms against $(kv "$work/ingest.out" ingest_dup_cpu1) ms)" \
	    "${o:--}" "-" "-" "<= 1.5" "$(met "$o" "<=" 1.5)"
fi

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
