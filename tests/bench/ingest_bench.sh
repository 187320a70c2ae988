#!/bin/sh
# CT ingest figures, against build/fakelog on 127.0.0.1 (no network):
#   1. entries ingested per second from one RFC 6962 log served with
#      get-entries batches of 1,000: wall time from the first request to the
#      last entry published, and entries per CPU-second of the ingest
#      process (it is single-threaded: one core);
#   2. the CPU the ingest uses watching 60 idle logs (polled every second,
#      tree heads verified), as a percentage of one core;
#   3. copies: the ingest CPU to take in 3 RFC 6962 logs holding the same
#      certificates (fakelog --same-certs, as real CT logs share most of
#      theirs) against the CPU for the same certificates in 1 log. The
#      second and third copies of a certificate are dropped by dedup, so
#      their cost is what the ingest pays before it knows they are copies.
# Prints "name value unit" lines; exit 0 when all three were measured.
#   BENCH_ENTRIES (default 30000), BENCH_IDLE_SECS (default 30),
#   BENCH_DUP_ENTRIES (default 20000), BENCH_DUP_RUNS (pairs, default 3),
#   BENCH_PARTS (default "1 2 3"),
#   CERTSTREAM_BIN (default ./certstreamd: another build to measure)
set -u
cd "$(dirname "$0")/../.." || exit 1
ENTRIES=${BENCH_ENTRIES:-30000}
IDLE=${BENCH_IDLE_SECS:-30}
DUP=${BENCH_DUP_ENTRIES:-20000}
DUP_RUNS=${BENCH_DUP_RUNS:-3}
PARTS=${BENCH_PARTS:-1 2 3}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
TCK=$(getconf CLK_TCK)
BENCH_NAME=ingest_bench
. tests/bench/fakelog.sh

# daemon NAME LOGLIST POLL_MS: start certstreamd, wait for /health
daemon() {
	port=$(free_port)
	cat >"$tmp/$1.conf" <<EOF
source: ct
host: 127.0.0.1
port: $port
workers: 1
user: root
ct_logs_url: "$2"
ct_log:
  state_file: ""
  poll_interval_ms: $3
  batch_size: 1000
  fetch_concurrency: 4
  backfill: 1000000000
dedup:
  enabled: true
EOF
	"${CERTSTREAM_BIN:-./certstreamd}" -c "$tmp/$1.conf" >"$tmp/$1.log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	echo "$port" >"$tmp/$1.port"
	i=0
	until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "ingest_bench: daemon did not start" >&2; exit 1; }
		sleep 0.05
	done
}

deep() {
	curl -sf "http://127.0.0.1:$1/health/deep"
}

ingest_pid() {
	deep "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).ingest.pid))'
}

cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# ingest_cpu_until PORT NLOGS N: the ingest's CPU (ms) from its start until
# each of the NLOGS logs' next_index reaches N. From its start, not from
# when this asks: the ingest fetches as soon as it starts, so a first
# reading taken once the daemon answers left out a varying share of the
# work (four runs of the copies' ratio read 1.07 to 1.68). Start-up and
# idle polling cost it about 20 ms, under 2 % of one log's work.
ingest_cpu_until() {
	ipid=$(ingest_pid "$1")
	c0=0
	while :; do
		k=$(deep "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const l=JSON.parse(s).logs;console.log(l.filter(x=>x.next_index>='"$3"').length)})')
		[ "$k" -ge "$2" ] && break
		sleep 0.05
	done
	c1=$(cpu_ticks "$ipid")
	echo $(( (c1 - c0) * 1000 / TCK ))
}

ok=1
if part 1; then
# -- 1. throughput -----------------------------------------------------
fakelog big --rfc6962 big --initial-size "$ENTRIES" --grow-per-sec 0 --batch-cap 1000
fport=$(cat "$tmp/big.port")
t0=$(date +%s%N)
daemon tput "http://127.0.0.1:$fport/loglist.json" 100
port=$(cat "$tmp/tput.port")
ipid=$(ingest_pid "$port")
c0=0    # from the ingest's start: see ingest_cpu_until
n=0
while :; do
	n=$(deep "$port" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const l=JSON.parse(s).logs;console.log(l.length?l[0].next_index:0)})')
	[ "$n" -ge "$ENTRIES" ] && break
	sleep 0.05
done
t1=$(date +%s%N)
c1=$(cpu_ticks "$ipid")
ms=$(( (t1 - t0) / 1000000 ))
cpu_ms=$(( (c1 - c0) * 1000 / TCK ))
[ "$cpu_ms" -gt 0 ] || cpu_ms=1
echo "ingest_entries $ENTRIES entries"
echo "ingest_wall_rate $(( ENTRIES * 1000 / ms )) entries/s"
echo "ingest_cpu_rate $(( ENTRIES * 1000 / cpu_ms )) entries/cpu-s"
echo "ingest_cpu_time $cpu_ms ms"
fi

if part 2; then
# -- 2. idle CPU, 60 logs ---------------------------------------------
a=""
b=""
for i in $(seq 1 30); do a="$a --rfc6962 a$i"; b="$b --rfc6962 b$i"; done
# shellcheck disable=SC2086
fakelog idle1 $a --initial-size 10 --grow-per-sec 0
# shellcheck disable=SC2086
fakelog idle2 $b --initial-size 10 --grow-per-sec 0
loglist_merge "$tmp/idle.json" "$(cat "$tmp/idle1.port")" \
    "$(cat "$tmp/idle2.port")"
daemon idle "$tmp/idle.json" 1000
port=$(cat "$tmp/idle.port")
sleep 3
nlogs=$(deep "$port" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).logs.length))')
ipid=$(ingest_pid "$port")
c0=$(cpu_ticks "$ipid")
sleep "$IDLE"
c1=$(cpu_ticks "$ipid")
echo "ingest_idle_logs $nlogs logs"
echo "ingest_idle_cpu $(awk -v t=$((c1 - c0)) -v hz="$TCK" -v s="$IDLE" 'BEGIN { printf "%.2f", 100 * t / hz / s }') %"
[ "$nlogs" -eq 60 ] || ok=0
fi

if part 3; then
# -- 3. three copies of each certificate against one ---------------------
fakelog one --rfc6962 d1 --real none --initial-size "$DUP" --grow-per-sec 0 --batch-cap 1000
fakelog three --rfc6962 d1 --rfc6962 d2 --rfc6962 d3 --same-certs --real none \
	--initial-size "$DUP" --grow-per-sec 0 --batch-cap 1000
# DUP_RUNS pairs, one log then three, each from a fresh daemon (nothing in
# dedup); the ratio is of the medians
all1="" all3=""
for k in $(seq "$DUP_RUNS"); do
	daemon "done$k" "http://127.0.0.1:$(cat "$tmp/one.port")/loglist.json" 100
	all1="$all1 $(ingest_cpu_until "$(cat "$tmp/done$k.port")" 1 "$DUP")"
	kill "$dpid" 2>/dev/null
	daemon "dthree$k" "http://127.0.0.1:$(cat "$tmp/three.port")/loglist.json" 100
	all3="$all3 $(ingest_cpu_until "$(cat "$tmp/dthree$k.port")" 3 "$DUP")"
	kill "$dpid" 2>/dev/null
done
med() { echo "$@" | tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
cpu1=$(med $all1)
cpu3=$(med $all3)
[ "$cpu1" -gt 0 ] || cpu1=1
echo "ingest_dup_entries $DUP entries"
echo "ingest_dup_cpu1 $cpu1 ms"
echo "ingest_dup_cpu3 $cpu3 ms"
echo "ingest_dup_runs $DUP_RUNS pairs: 1 log$all1 ms; 3 logs$all3 ms"
echo "ingest_dup_ratio $(awk -v a="$cpu3" -v b="$cpu1" 'BEGIN { printf "%.2f", a / b }')"
fi
[ "$ok" = 1 ]
