# Sourced by run.sh: the features suite's parts (log growth, compression,
# catch-up, server-side filters); the NATS edge is nats_bench.sh.
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

# Catch-up of 100,000 entries across four logs of two operators, under
# ct_log.operator_requests_per_second, against the ceiling those limits set.
catchup_part() {
	log "catch-up under per-operator limits: tests/bench/catchup_bench.sh"
	timeout 400 tests/bench/catchup_bench.sh >"$work/catchup.out" 2>&1
	row "catch-up of $(kv "$work/catchup.out" catchup_entries) entries behind, 4 RFC 6962 logs of 2 operators, $(kv "$work/catchup.out" catchup_rps) request(s)/s per operator (operator_requests_per_second) of 1,000 entries: entries per second (ceiling: what the limits allow; took $(kv "$work/catchup.out" catchup_ms) ms from the daemon's start)" \
	    "$(kv "$work/catchup.out" catchup_rate)" "$(kv "$work/catchup.out" catchup_ceiling)" \
	    "$(kv "$work/catchup.out" catchup_ratio)" "context" "-"
}

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
