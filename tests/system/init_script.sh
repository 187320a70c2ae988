#!/bin/sh
# The LSB init script against a temporary prefix: start, status, a second
# start while running, a second instance refused by the pidfile lock,
# reload (good and bad file), log reopen, stop, stop when not running, a
# stale pidfile. Exit 0 = pass.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${CERTSTREAM_BIN:-$top/certstreamd}
init="$top/scripts/certstream.init"
T=$(mktemp -d /tmp/certstream-init-XXXXXX)
fails=0

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
shm=/dev/shm/certstream-init-$port

cleanup() {
	pid=$(cat "$T/run/certstreamd.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -f "$shm"
	rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/sbin" "$T/etc/certstream" "$T/run" "$T/log"
cp "$bin" "$T/sbin/certstreamd"
# A small feed of its own (real certificates, tests/tools/mkfeed.c), so
# the ingest runs whatever tests/data holds.
"$top/build/mkfeed" -n 50 -d 'init%d.example' -u https://log.example/ \
    -N 'init test' >"$T/feed.ndjson" || {
	echo "FAIL: $top/build/mkfeed could not write a feed (make test-build)"
	exit 1
}
cat >"$T/etc/certstream/certstream.conf" <<EOF
host: 127.0.0.1
port: $port
workers: 2
source: replay
shm_name: /certstream-init-$port
replay:
  file: "$T/feed.ndjson"
  rate: 5
ct_log:
  state_file: "$T/state.json"
# T is mode 0700: children dropped to certstream or nobody (user: auto)
# could not read the feed there.
user: root
log:
  target: "$T/log/certstream.log"
EOF
cat >"$T/defaults" <<EOF
PREFIX="$T"
PIDFILE="$T/run/certstreamd.pid"
STOP_TIMEOUT=8
EOF
export CERTSTREAM_DEFAULTS="$T/defaults"
# Only the file configures the daemon in this test.
for v in $(env | sed -n 's/^\(CERTSTREAM_[A-Z_]*\)=.*/\1/p'); do
	[ "$v" = CERTSTREAM_DEFAULTS ] || unset "$v"
done

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE DESCRIPTION COMMAND...
expect() {
	want=$1
	what=$2
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what -> $rc ($out)"; else bad "$what: exit $rc, want $want ($out)"; fi
}

wait_gone() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	! kill -0 "$1" 2>/dev/null
}

expect 3 "status before start" sh "$init" status
expect 0 "stop when not running" sh "$init" stop
expect 0 "start" sh "$init" start
pid=$(cat "$T/run/certstreamd.pid" 2>/dev/null)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then ok "pidfile names a live process ($pid)"; else bad "no live pid in pidfile"; fi
title=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
case "$title" in "certstreamd: master"*) ok "title: $title" ;; *) bad "master title: '$title'" ;; esac
ppid=$(awk '{print $4}' "/proc/$pid/stat")
[ "$ppid" = 1 ] || [ "$(cat /proc/$ppid/comm 2>/dev/null)" != "sh" ] && ok "detached (ppid $ppid)" || bad "not detached (ppid $ppid)"
nkids=$(grep -l "^PPid:[[:space:]]*$pid\$" /proc/[0-9]*/status 2>/dev/null | wc -l)
[ "$nkids" -eq 3 ] && ok "ingest + 2 workers" || bad "children: $nkids, want 3"
[ -e "$shm" ] && ok "segment $shm exists" || bad "no segment $shm"
expect 0 "status while running" sh "$init" status
expect 0 "second start while running" sh "$init" start
[ "$(cat "$T/run/certstreamd.pid")" = "$pid" ] && ok "same pid after second start" || bad "pid changed"
out=$("$T/sbin/certstreamd" -c "$T/etc/certstream/certstream.conf" -p "$T/run/certstreamd.pid" 2>&1)
rc=$?
case "$rc:$out" in 1:*"already running (pid $pid"*) ok "second instance refused: $out" ;; *) bad "second instance: $rc $out" ;; esac

expect 0 "reload" sh "$init" reload
i=0
while ! grep -q 'reload: configuration .* applied' "$T/log/certstream.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'reload: configuration .* applied' "$T/log/certstream.log" && ok "reload applied" || bad "no reload in log"
kill -0 "$pid" 2>/dev/null && ok "still running after reload" || bad "died on reload"

cp "$T/etc/certstream/certstream.conf" "$T/good.conf"
echo "bogus_key: 1" >>"$T/etc/certstream/certstream.conf"
expect 1 "reload with a bad file" sh "$init" reload
kill -HUP "$pid"
i=0
while ! grep -q 'reload refused' "$T/log/certstream.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "reload refused, running configuration kept: .*certstream.conf:[0-9]*: bogus_key: unknown key" "$T/log/certstream.log" &&
	ok "bad reload refused and logged" || bad "bad reload not logged"
kill -0 "$pid" 2>/dev/null && ok "still running after a bad reload" || bad "died on a bad reload"
cp "$T/good.conf" "$T/etc/certstream/certstream.conf"

mv "$T/log/certstream.log" "$T/log/certstream.log.1"
kill -USR1 "$pid"
i=0
while ! grep -q 'log reopened' "$T/log/certstream.log" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'log reopened' "$T/log/certstream.log" 2>/dev/null && ok "SIGUSR1 reopened the log" || bad "log not reopened"
sleep 0.3
nkids=$(grep -l "^PPid:[[:space:]]*$pid\$" /proc/[0-9]*/status 2>/dev/null | wc -l)
[ "$nkids" -eq 3 ] && ! grep -q 'restart' "$T/log/certstream.log" && ok "children survived SIGUSR1" || bad "children after SIGUSR1: $nkids"

expect 0 "stop" sh "$init" stop
wait_gone "$pid" && ok "master gone" || bad "master still running"
[ ! -e "$T/run/certstreamd.pid" ] && ok "pidfile removed" || bad "pidfile left"
[ ! -e "$shm" ] && ok "segment removed" || bad "segment left"
grep -q 'stopped' "$T/log/certstream.log" && ok "stop logged" || bad "no stop in log"
expect 3 "status after stop" sh "$init" status
expect 0 "stop when stopped" sh "$init" stop
expect 7 "reload when stopped" sh "$init" reload

echo 999999 >"$T/run/certstreamd.pid"
expect 1 "status with a stale pidfile" sh "$init" status
expect 0 "start over a stale pidfile" sh "$init" start
pid=$(cat "$T/run/certstreamd.pid")
expect 0 "restart" sh "$init" restart
wait_gone "$pid" && ok "old master gone after restart" || bad "old master survived restart"
pid=$(cat "$T/run/certstreamd.pid")
kill -0 "$pid" 2>/dev/null && ok "new master $pid running" || bad "nothing running after restart"
expect 0 "stop" sh "$init" stop
expect 2 "bad usage" sh "$init" frobnicate

mv "$T/etc/certstream/certstream.conf" "$T/etc/certstream/x"
echo "port: 0" >"$T/etc/certstream/certstream.conf"
expect 6 "start with an invalid config" sh "$init" start

# -d with a relative pidfile: written by the detached master, removed at stop.
mv "$T/etc/certstream/x" "$T/etc/certstream/certstream.conf"
(cd "$T/run" && "$T/sbin/certstreamd" -d -c ../etc/certstream/certstream.conf -p rel.pid)
rc=$?
pid=$(cat "$T/run/rel.pid" 2>/dev/null)
[ $rc -eq 0 ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ok "-d with a relative pidfile ($pid)" || bad "-d relative pidfile: rc $rc pid '$pid'"
[ -n "$pid" ] && kill -TERM "$pid"
[ -n "$pid" ] && wait_gone "$pid" && [ ! -e "$T/run/rel.pid" ] && ok "relative pidfile removed at stop" || bad "relative pidfile left"

# The systemd unit and the logrotate file, where the tools exist.
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|/usr/local/sbin/certstreamd|$T/sbin/certstreamd|g" "$top/scripts/certstream.service" >"$T/certstream.service"
	out=$(systemd-analyze verify "$T/certstream.service" 2>&1)
	[ $? -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify" || bad "systemd-analyze verify: $out"
else
	echo "skip: systemd-analyze not installed"
fi
if command -v logrotate >/dev/null 2>&1; then
	logrotate -d -s "$T/lr.state" "$top/scripts/certstream.logrotate" >"$T/lr.out" 2>&1 &&
		ok "logrotate -d" || bad "logrotate -d: $(tail -3 "$T/lr.out")"
else
	echo "skip: logrotate not installed"
fi

[ "$fails" -eq 0 ] && echo "init_script: all passed" || echo "init_script: $fails failed"
[ "$fails" -eq 0 ]
