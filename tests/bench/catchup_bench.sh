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
BENCH_NAME=catchup_bench
. tests/bench/fakelog.sh

fakelog opa --rfc6962 a1 --rfc6962 a2 --real none --initial-size "$PER" \
    --grow-per-sec 0 --batch-cap 1000
fakelog opb --rfc6962 b1 --rfc6962 b2 --real none --initial-size "$PER" \
    --grow-per-sec 0 --batch-cap 1000 --seed other
# one list, two operators (each fake log names its one operator alike)
loglist_merge "$tmp/list.json" "$(cat "$tmp/opa.port"):Operator A" \
    "$(cat "$tmp/opb.port"):Operator B"
port=$(free_port)
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
