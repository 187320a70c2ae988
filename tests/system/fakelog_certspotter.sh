#!/bin/sh
# Debian's certspotter, a real CT monitor, reads the fake RFC 6962 logs:
# every STH signature verifies, every entry downloads, the Merkle tree it
# builds from the entries equals the signed root (its verified_position
# reaches the tree size), every generated certificate is matched by a
# watchlist on .fakelog.test, nothing is reported malformed, and a log
# whose STH signature is bad is refused (so the pass above means
# something). Bounded: about 5 s, 50 s at most. Loopback only.
set -u
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
bin=${FAKELOG_BIN:-$top/build/fakelog}
size=2500
real=1032        # real corpus entries: they name no .fakelog.test domain
tmp=$(mktemp -d)
fl_pid=
cs_pid=

cleanup() {
	[ -n "$cs_pid" ] && kill "$cs_pid" 2>/dev/null
	[ -n "$fl_pid" ] && kill "$fl_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*"
	for f in fl.err cs.err; do
		[ -f "$tmp/$f" ] && { echo "--- $f"; tail -n 20 "$tmp/$f"; }
	done
	exit 1
}

command -v certspotter >/dev/null || fail "certspotter is not installed"
[ -x "$bin" ] || fail "$bin not built"

"$bin" --rfc6962 cs1 --rfc6962 cs2 --rfc6962 csbad --initial-size "$size" \
    --fault csbad:badsig:0 >"$tmp/fl.out" 2>"$tmp/fl.err" &
fl_pid=$!
port=
i=0
while [ $i -lt 100 ]; do
	port=$(sed -n 's/^listening 127\.0\.0\.1://p' "$tmp/fl.out")
	[ -n "$port" ] && break
	sleep 0.1
	i=$((i + 1))
done
[ -n "$port" ] || fail "fakelog did not start"
base="http://127.0.0.1:$port"

# certspotter 0.16 reads -logs from a file unless it is https.
curl -sf "$base/loglist.json" >"$tmp/loglist.json" || fail "no /loglist.json"
printf '.fakelog.test\n' >"$tmp/watchlist"

# Its state directory per log is the log ID in base64url without padding.
state_of() {
	id=$(awk -v n="$1" '$1 == "log" && $2 == n { print $5 }' "$tmp/fl.out" |
	    tr '+/' '-_' | tr -d '=')
	echo "$tmp/state/logs/$id"
}
verified() {
	f="$(state_of "$1")/state.json"
	[ -f "$f" ] || { echo 0; return; }
	node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1]));
	    console.log(s.verified_position ? s.verified_position.size : 0)' "$f"
}

certspotter -logs "$tmp/loglist.json" -state_dir "$tmp/state" \
    -watchlist "$tmp/watchlist" -stdout -no_save -verbose \
    >"$tmp/cs.out" 2>"$tmp/cs.err" &
cs_pid=$!

i=0
while [ $i -lt 90 ]; do
	[ "$(verified cs1)" = "$size" ] && [ "$(verified cs2)" = "$size" ] &&
	    grep -q 'csbad/: STH returned by server has invalid signature' \
		"$tmp/cs.err" && break
	sleep 0.5
	i=$((i + 1))
done
kill "$cs_pid" 2>/dev/null
wait "$cs_pid" 2>/dev/null
cs_pid=

for l in cs1 cs2; do
	v=$(verified $l)
	[ "$v" = "$size" ] || fail "$l: certspotter verified $v of $size entries"
	bad=$(ls "$(state_of $l)/malformed_entries" 2>/dev/null | wc -l)
	[ "$bad" -eq 0 ] || fail "$l: $bad entries certspotter calls malformed"
	n=$(grep -c "Log Entry = [0-9]* @ $base/$l/\$" "$tmp/cs.out")
	want=$((size - real))
	[ "$n" -eq "$want" ] ||
	    fail "$l: $n watchlist matches, want one per generated entry ($want)"
	echo "ok: $l: $v entries verified, $n generated certificates matched"
done

grep -q 'csbad/: STH returned by server has invalid signature' "$tmp/cs.err" ||
    fail "csbad: a bad STH signature was not noticed"
[ "$(verified csbad)" = 0 ] || fail "csbad: entries verified under a bad STH"
echo "ok: csbad: bad STH signature refused"

# Nothing else went wrong (stopping certspotter cancels its tasks).
others=$(grep -i 'error\|invalid\|fail' "$tmp/cs.err" | grep -v 'csbad/' |
    grep -v 'context canceled')
[ -z "$others" ] || fail "certspotter reported: $others"
echo "ok: certspotter read the fake logs with no other error"
exit 0
