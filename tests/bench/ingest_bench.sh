#!/bin/sh
# CT ingest figures, against build/fakelog on 127.0.0.1 (no network):
#   1. entries ingested per second from one RFC 6962 log served with
#      get-entries batches of 1,000: wall time from the first request to the
#      last entry published, and entries per CPU-second of the ingest
#      process (it is single-threaded: one core);
#   2. the CPU the ingest uses watching 60 idle logs (polled every second,
#      tree heads verified), as a percentage of one core.
# Prints "name value unit" lines; exit 0 when both were measured.
#   BENCH_ENTRIES (default 30000), BENCH_IDLE_SECS (default 30)
set -u
cd "$(dirname "$0")/../.." || exit 1
ENTRIES=${BENCH_ENTRIES:-30000}
IDLE=${BENCH_IDLE_SECS:-30}
TCK=$(getconf CLK_TCK)
tmp=$(mktemp -d /tmp/ingest-bench.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

[ -x build/fakelog ] && [ -x certstreamd ] || {
	echo "ingest_bench: build certstreamd and build/fakelog first" >&2
	exit 1
}

# fakelog NAME ARGS...: start one, wait for its port (in $tmp/NAME.port)
fakelog() {
	name=$1
	shift
	build/fakelog --port 0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids="$pids $!"
	i=0
	while ! grep -q '^listening' "$tmp/$name.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 1200 ] && { echo "ingest_bench: fakelog $name did not start" >&2; exit 1; }
		sleep 0.1
	done
	sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out" >"$tmp/$name.port"
}

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

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
	./certstreamd -c "$tmp/$1.conf" >"$tmp/$1.log" 2>&1 &
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

# -- 1. throughput -----------------------------------------------------
fakelog big --rfc6962 big --initial-size "$ENTRIES" --grow-per-sec 0 --batch-cap 1000
fport=$(cat "$tmp/big.port")
t0=$(date +%s%N)
daemon tput "http://127.0.0.1:$fport/loglist.json" 100
port=$(cat "$tmp/tput.port")
ipid=$(ingest_pid "$port")
c0=$(cpu_ticks "$ipid")
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

# -- 2. idle CPU, 60 logs ---------------------------------------------
a=""
b=""
for i in $(seq 1 30); do a="$a --rfc6962 a$i"; b="$b --rfc6962 b$i"; done
# shellcheck disable=SC2086
fakelog idle1 $a --initial-size 10 --grow-per-sec 0
# shellcheck disable=SC2086
fakelog idle2 $b --initial-size 10 --grow-per-sec 0
node -e '
const http = require("http");
const get = (p) => new Promise((r) => http.get(`http://127.0.0.1:${p}/loglist.json`, (s) => {
  let b = ""; s.on("data", (d) => b += d); s.on("end", () => r(JSON.parse(b))); }));
Promise.all([get(process.argv[1]), get(process.argv[2])]).then(([x, y]) => {
  require("fs").writeFileSync(process.argv[3], JSON.stringify({ operators: [...x.operators, ...y.operators] }));
});' "$(cat "$tmp/idle1.port")" "$(cat "$tmp/idle2.port")" "$tmp/idle.json"
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
[ "$nlogs" -eq 60 ]
