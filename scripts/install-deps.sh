#!/bin/sh
# Install the Debian packages certstream needs. Idempotent and quiet when
# everything is already there.
#   scripts/install-deps.sh          build dependencies only
#   scripts/install-deps.sh test     + what `make test` needs
#   scripts/install-deps.sh bench    + what `make bench` needs
#   scripts/install-deps.sh deb      build dependencies + what `make deb` needs
set -eu

BUILD="gcc make pkg-config libevent-dev libcurl4-openssl-dev libssl-dev \
libjson-c-dev libyaml-dev zlib1g-dev libhyperscan-dev libnats-dev"
TEST="check valgrind clang libclang-rt-14-dev openssl curl prometheus \
certspotter python3 python3-cryptography python3-websockets python3-websocket logrotate chromium \
nats-server"
BENCH="nginx libnginx-mod-nchan gnuplot"
# make deb (and tests/system/deb_package.sh in make test)
DEB="debhelper dpkg-dev fakeroot lintian adduser"

want="$BUILD"
case "${1:-build}" in
build) ;;
test) want="$BUILD $TEST $DEB" ;;
bench) want="$BUILD $TEST $DEB $BENCH" ;;
deb) want="$BUILD $DEB" ;;
*) echo "usage: $0 [build|test|bench|deb]" >&2; exit 2 ;;
esac
# node (for the real JS client tests) may come from Debian or be present already
if { [ "${1:-build}" = test ] || [ "${1:-build}" = bench ]; } && ! command -v node >/dev/null 2>&1; then
	want="$want nodejs npm"
fi

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
