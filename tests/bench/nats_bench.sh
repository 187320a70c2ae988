#!/bin/sh
# tests/bench/run.sh nats: the edge against the single box.
# A nats-server, the fake CT log growing at RATE entries/s, one ingest node
# (source: ct, nats.publish: true: it is also the single box, serving its
# own ring) and one edge (source: nats). The same loadgen clients read the
# box, then the edge, for DUR seconds each, PAIRS times in turn (medians
# reported, and each pair's ratio); both get the same certificates at the
# same rate; then the edge's lite (/) and domains forms the same
# way; then a second edge joins and the NATS server's CPU is taken again
# over DUR seconds. Prints, and writes to $1 (a results file) if given:
#   - deliveries per worker CPU-second, edge / box, full form; the edge's
#     lite and domains forms;
#   - bytes per message as sent (frames, plain), each form;
#   - latency from `seen` (stamped by the ingest node) p50 and p99 on each,
#     and the difference: what the hop through NATS adds;
#   - the NATS server's CPU per record with one edge (the edge's window)
#     and with two.
# CERTSTREAM_BIN: the daemon (default ./certstreamd). About 2 minutes
# (BENCH_NATS_PAIRS=1: 80 s).
# All on 127.0.0.1; every process started here is stopped here.
set -u
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
LG=$top/build/loadgen
FL=$top/build/fakelog
DAEMON=${CERTSTREAM_BIN:-$top/certstreamd}
NS=${NATS_SERVER:-/usr/sbin/nats-server}
RATE=${BENCH_NATS_RATE:-400}
CLIENTS=${BENCH_NATS_CLIENTS:-200}
DUR=${BENCH_NATS_DUR:-10}
PAIRS=${BENCH_NATS_PAIRS:-3}
out=${1:-}
for f in "$LG" "$FL" "$DAEMON" "$NS"; do
	[ -x "$f" ] || { echo "bench nats: missing $f" >&2; exit 1; }
done
work=$top/build/bench/nats-$$
mkdir -p "$work"
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 1
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kv() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
workers_of() { # master pid -> comma list of worker pids
	w=""
	for p in $(pgrep -P "$1"); do
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		cs-worker*) w="${w:+$w,}$p" ;;
		esac
	done
	echo "$w"
}
wait_http() { i=0; until curl -s -o /dev/null "http://127.0.0.1:$1/health"; do i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1; done; }

NP=$(free_port)
"$NS" -js -a 127.0.0.1 -p "$NP" -sd "$work/js" >"$work/nats.log" 2>&1 &
NSP=$!; PIDS="$PIDS $NSP"
"$FL" --port 0 --rfc6962 b1 --initial-size 100 --grow-per-sec "$RATE" >"$work/fl.out" 2>&1 &
PIDS="$PIDS $!"
i=0; until grep -q listening "$work/fl.out" || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
FLP=$(grep -o 'listening 127.0.0.1:[0-9]*' "$work/fl.out" | cut -d: -f2)
curl -s "http://127.0.0.1:$FLP/loglist.json" >"$work/list.json"

conf() { # port extra
	cat <<EOC
host: "127.0.0.1"
port: $1
workers: 1
user: root
log_level: warn
shm_name: "/csbench-nats-$$-$1"
connection_limit:
  enabled: false
nats:
  url: "nats://127.0.0.1:$NP"
$2
EOC
}
BP=$(free_port); EP=$(free_port)
conf "$BP" "  publish: true
source: ct
ct_logs_url: \"$work/list.json\"
ct_log:
  state_file: \"$work/state.json\"
  poll_interval_ms: 200
dedup:
  enabled: false" >"$work/box.conf"
conf "$EP" "source: nats" >"$work/edge.conf"
"$DAEMON" -c "$work/box.conf" >"$work/box.log" 2>&1 &
BOX=$!; PIDS="$PIDS $BOX"
"$DAEMON" -c "$work/edge.conf" >"$work/edge.log" 2>&1 &
EDGE=$!; PIDS="$PIDS $EDGE"
wait_http "$BP" && wait_http "$EP" || { echo "bench nats: daemons did not start" >&2; tail "$work"/*.log >&2; exit 1; }
sleep 3 # the log's backlog streamed; from here RATE entries/s

run() { # name port master [path]
	timeout 120 "$LG" --port "$2" --clients "$CLIENTS" --procs 1 --mix "${4:-/full-stream}=1" \
	    --duration "$DUR" --warmup 2 --cpu-pids "$(workers_of "$3")" >"$work/$1.out" 2>&1
	grep '^#' "$work/$1.out" | sed "s/^#/  $1:/" >&2
}
# Box and edge in turn, PAIRS times (the box is shared: a load change
# during one window moves one side only); the medians are the figures, the
# per-pair ratios their spread. The NATS server's CPU per record is taken
# over the edge windows (it feeds the one edge then).
nrecv() { curl -s "http://127.0.0.1:$1/metrics" | awk '$1 == "certstream_nats_received_total" { print $2 }'; }
nt=0; rt=0; k=1
while [ "$k" -le "$PAIRS" ]; do
	run "box$k" "$BP" "$BOX"
	n0=$(cpu_ticks "$NSP"); r0=$(nrecv "$EP")
	run "edge$k" "$EP" "$EDGE"
	n1=$(cpu_ticks "$NSP"); r1=$(nrecv "$EP")
	nt=$((nt + n1 - n0)); rt=$((rt + r1 - r0)); k=$((k + 1))
done
# the median run of each side (by deliveries per CPU-second) gives its figures
median_of() { # prefix -> the name of its median run
	for f in "$work/$1"[0-9]*.out; do
		echo "$(kv "$f" deliveries_per_server_cpu_s) $(basename "$f" .out)"
	done | sort -n | awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }'
}
cp "$work/$(median_of box).out" "$work/box.out"
cp "$work/$(median_of edge).out" "$work/edge.out"
pairs=$(k=1; while [ "$k" -le "$PAIRS" ]; do
	awk -v b="$(kv "$work/box$k.out" deliveries_per_server_cpu_s)" \
	    -v e="$(kv "$work/edge$k.out" deliveries_per_server_cpu_s)" -v k="$k" \
	    'BEGIN { printf "%s%.2f", (k > 1 ? " " : ""), (b > 0 ? e / b : 0) }'
	k=$((k + 1)); done)
run lite "$EP" "$EDGE" /
run domains "$EP" "$EDGE" /domains-only
# A second edge (new records only): the NATS server's CPU with two.
E2P=$(free_port)
conf "$E2P" "source: nats" >"$work/edge2.conf"
"$DAEMON" -c "$work/edge2.conf" >"$work/edge2.log" 2>&1 &
PIDS="$PIDS $!"
wait_http "$E2P" || { echo "bench nats: edge 2 did not start" >&2; exit 1; }
sleep 2
recv() { curl -s "http://127.0.0.1:$1/metrics" | awk '$1 == "certstream_nats_received_total" { print $2 }'; }
m0=$(cpu_ticks "$NSP"); q0=$(recv "$EP"); u0=$(recv "$E2P")
sleep "$DUR"
m1=$(cpu_ticks "$NSP"); q1=$(recv "$EP"); u1=$(recv "$E2P")
hz=$(getconf CLK_TCK)

bd=$(kv "$work/box.out" deliveries_per_server_cpu_s); ed=$(kv "$work/edge.out" deliveries_per_server_cpu_s)
ld=$(kv "$work/lite.out" deliveries_per_server_cpu_s); dd=$(kv "$work/domains.out" deliveries_per_server_cpu_s)
bpm() { awk -v b="$(kv "$1" bytes)" -v m="$(kv "$1" messages)" 'BEGIN { printf "%.0f", (m > 0 ? b / m : 0) }'; }
fb=$(bpm "$work/edge.out"); lb=$(bpm "$work/lite.out"); db=$(bpm "$work/domains.out")
l50=$(kv "$work/lite.out" lat_p50_ms); l99=$(kv "$work/lite.out" lat_p99_ms)
b50=$(kv "$work/box.out" lat_p50_ms); b99=$(kv "$work/box.out" lat_p99_ms)
e50=$(kv "$work/edge.out" lat_p50_ms); e99=$(kv "$work/edge.out" lat_p99_ms)
res=$(awk -v bd="$bd" -v ed="$ed" -v b50="$b50" -v b99="$b99" -v e50="$e50" -v e99="$e99" \
    -v n="$nt" -v hz="$hz" -v r="$rt" -v pairs="$pairs" -v ld="$ld" -v dd="$dd" -v fb="$fb" -v lb="$lb" -v db="$db" \
    -v l50="$l50" -v l99="$l99" -v m="$((m1 - m0))" -v q="$((q1 - q0))" -v u="$((u1 - u0))" 'BEGIN {
	printf "| deliveries per worker CPU-second, full (median of %d) | %s | %s | %.2f (pairs: %s) |\n", split(pairs, x, " "), ed, bd, (bd > 0 ? ed / bd : 0), pairs
	printf "| deliveries per worker CPU-second, lite / domains | %s / %s | | |\n", ld, dd
	printf "| bytes per message sent, full / lite / domains (plain frames) | %s / %s / %s B | | |\n", fb, lb, db
	printf "| latency p50 (ms, from seen) | %s | %s | %+.2f ms |\n", e50, b50, e50 - b50
	printf "| latency p99 (ms, from seen) | %s | %s | %+.2f ms |\n", e99, b99, e99 - b99
	printf "| latency p50 / p99, lite (ms) | %s / %s | | |\n", l50, l99
	printf "| NATS server CPU per record, one edge | %.1f us (%d records, %.2f CPU-s) | | |\n", (r > 0 ? n / hz / r * 1e6 : 0), r, n / hz
	printf "| NATS server CPU per record, two edges | %.1f us (%d and %d records, %.2f CPU-s) | | |\n", (q > 0 ? m / hz / q * 1e6 : 0), q, u, m / hz
}')
{
	echo "## Edge through NATS against the single box"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD 2>/dev/null)."
	echo "$CLIENTS clients on /full-stream, $RATE certificates/s from the fake CT log, $DUR s windows, one worker each."
	echo
	echo "| figure | edge | box | edge vs box |"
	echo "|---|---|---|---|"
	echo "$res"
} | tee "${out:-/dev/null}"
