# Sourced by run.sh: the helpers every part uses (figures, medians, rows,
# memory) and the processes a run starts and always stops (our daemon,
# the raw ceiling, nginx + nchan).
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
wait_ready() { # FILE [SECONDS, 60]: until loadgen says every client is connected
	i=0
	until grep -q '^ready' "$1" 2>/dev/null || [ $i -gt $((${2:-60} * 20)) ]; do
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
