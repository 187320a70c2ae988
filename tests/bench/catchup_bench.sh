#!/bin/sh
# Catch-up under per-operator limits, against build/fakelog on 127.0.0.1:
# four RFC 6962 logs of two operators (two fake log processes, one
# operator each), BENCH_CATCHUP_ENTRIES entries behind in all (default
# 100,000), fetched with get-entries of 1,000 entries and
# ct_log.operator_requests_per_second = BENCH_CATCHUP_RPS (default 1: at
# 2,000 entries a second the limit binds; the ingest alone takes about
# 3,700 a second here, so at 20 the row would measure the ingest's CPU).
# The ceiling those limits allow is 2 operators x RPS x 1,000 entries a
# second; the figure is the entries per second the daemon took, from its
# start to every log's last entry published.
# Prints "name value unit" lines; exit 0 when it was measured.
set -u
cd "$(dirname "$0")/../.." || exit 1
TOTAL=${BENCH_CATCHUP_ENTRIES:-100000}
RPS=${BENCH_CATCHUP_RPS:-1}
PER=$((TOTAL / 4))
tmp=$(mktemp -d /tmp/catchup-bench.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

[ -x build/fakelog ] && [ -x certstreamd ] || {
	echo "catchup_bench: build certstreamd and build/fakelog first" >&2
	exit 1
}

fakelog() {
	name=$1
	shift
	build/fakelog --port 0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids="$pids $!"
	i=0
	while ! grep -q '^listening' "$tmp/$name.out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 1200 ] && { echo "catchup_bench: fakelog $name did not start" >&2; exit 1; }
		sleep 0.1
	done
	sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.out" >"$tmp/$name.port"
}

fakelog opa --rfc6962 a1 --rfc6962 a2 --real none --initial-size "$PER" \
    --grow-per-sec 0 --batch-cap 1000
fakelog opb --rfc6962 b1 --rfc6962 b2 --real none --initial-size "$PER" \
    --grow-per-sec 0 --batch-cap 1000 --seed other
# one list, two operators (each fake log names its one operator alike)
node -e '
const http = require("http");
const get = (p) => new Promise((r) => http.get(`http://127.0.0.1:${p}/loglist.json`, (s) => {
  let b = ""; s.on("data", (d) => b += d); s.on("end", () => r(JSON.parse(b))); }));
Promise.all([get(process.argv[1]), get(process.argv[2])]).then(([x, y]) => {
  x.operators[0].name = "Operator A";
  y.operators[0].name = "Operator B";
  require("fs").writeFileSync(process.argv[3], JSON.stringify({ operators: [...x.operators, ...y.operators] }));
});' "$(cat "$tmp/opa.port")" "$(cat "$tmp/opb.port")" "$tmp/list.json"

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cat >"$tmp/d.conf" <<EOF
source: ct
host: 127.0.0.1
port: $port
workers: 1
user: root
ct_logs_url: "$tmp/list.json"
ct_log:
  state_file: ""
  poll_interval_ms: 200
  batch_size: 1000
  fetch_concurrency: 8
  operator_requests_per_second: $RPS
  backfill: 1000000000
dedup:
  enabled: false
EOF
t0=$(date +%s%N)
./certstreamd -c "$tmp/d.conf" >"$tmp/d.log" 2>&1 &
pids="$pids $!"
done_logs=0
i=0
while [ "$done_logs" -lt 4 ]; do
	i=$((i + 1))
	[ $i -gt 6000 ] && { echo "catchup_bench: not caught up in 300 s" >&2; exit 1; }
	sleep 0.05
	done_logs=$(curl -sf "http://127.0.0.1:$port/health/deep" 2>/dev/null | node -e '
let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
  try { console.log(JSON.parse(s).logs.filter((l) => l.next_index >= Number(process.argv[1])).length); }
  catch (_) { console.log(0); } });' "$PER")
	[ -n "$done_logs" ] || done_logs=0
done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
ceiling=$((2 * RPS * 1000))
echo "catchup_entries $TOTAL entries"
echo "catchup_rps $RPS requests/s"
echo "catchup_ms $ms ms"
echo "catchup_rate $(( TOTAL * 1000 / ms )) entries/s"
echo "catchup_ceiling $ceiling entries/s"
echo "catchup_ratio $(awk -v a=$((TOTAL * 1000 / ms)) -v b=$ceiling 'BEGIN { printf "%.2f", a / b }')"
