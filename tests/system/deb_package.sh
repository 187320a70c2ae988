#!/bin/sh
# The Debian package: `make deb` builds it, lintian finds no error or
# warning, dpkg installs it into a throwaway root (dpkg --root, maintainer
# scripts run chrootless with DPKG_ROOT set, as dpkg 1.21 does), the
# installed daemon runs from there (-V, -n on the installed configuration),
# and a purge leaves nothing but dpkg's own database. Exit 0 = pass.
#
# Needs root (dpkg --root writes files owned by root). The host's services
# are never touched: the commands the debhelper snippets run against the
# live system (systemctl, deb-systemd-invoke, invoke-rc.d, update-rc.d) are
# no-ops on this test's PATH.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
if [ "$(id -u)" -ne 0 ]; then
	echo "skip: deb_package.sh needs root"
	exit 0
fi
T=$(mktemp -d /tmp/certstream-deb-XXXXXX)
R=$T/root
fails=0
cleanup() { rm -rf "$T"; }
trap cleanup EXIT

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

if ! make --no-print-directory deb >"$T/make.log" 2>&1; then
	tail -30 "$T/make.log"
	echo "FAIL: make deb"
	exit 1
fi
version=$(cat VERSION)
deb=$(ls build/certstream_"$version"_*.deb 2>/dev/null | head -1)
[ -f "$deb" ] && ok "built $deb" || { echo "FAIL: no .deb in build/"; exit 1; }

if lintian --fail-on error,warning --no-tag-display-limit "$deb" >"$T/lintian.log" 2>&1; then
	ok "lintian: no error or warning"
else
	cat "$T/lintian.log"
	bad "lintian"
fi

# The throwaway root: an empty dpkg database and the directories every
# Debian system has that the package's scripts write into (on a real
# system they exist, and they stay after a purge).
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$T/shim" \
	"$R/etc/systemd/system" "$R/var/lib/systemd" "$R/var/log"
: >"$R/var/lib/dpkg/status"
before=$(cd "$R" && find . -mindepth 1 | grep -v '^\./var/lib/dpkg/' | sort)
for c in systemctl deb-systemd-invoke invoke-rc.d update-rc.d; do
	printf '#!/bin/sh\nexit 0\n' >"$T/shim/$c"
	chmod 0755 "$T/shim/$c"
done
dpkg_root() {
	PATH="$T/shim:$PATH" dpkg --root="$R" --force-script-chrootless \
		--force-depends --log="$T/dpkg.log" "$@"
}

if dpkg_root -i "$deb" >"$T/install.log" 2>&1; then
	ok "dpkg --root -i"
else
	cat "$T/install.log"
	bad "dpkg --root -i"
fi
st=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${Status}' certstream 2>/dev/null)
[ "$st" = "install ok installed" ] && ok "installed: $st" || bad "status '$st'"
dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${Conffiles}\n' certstream |
	grep -q '^ /etc/certstream/certstream.conf ' &&
	ok "/etc/certstream/certstream.conf is a conffile" || bad "certstream.conf not a conffile"
for f in usr/sbin/certstreamd etc/certstream/certstream.conf \
	usr/share/certstream/log_list.json lib/systemd/system/certstream.service \
	etc/init.d/certstream etc/logrotate.d/certstream \
	usr/share/man/man8/certstreamd.8.gz usr/share/man/man5/certstream.conf.5.gz; do
	[ -e "$R/$f" ] || bad "/$f not installed"
done
for d in var/lib/certstream var/log/certstream; do
	[ -d "$R/$d" ] && ok "postinst made /$d" || bad "postinst did not make /$d"
done

out=$("$R/usr/sbin/certstreamd" -V 2>&1)
case "$out" in *"$version"*) ok "-V: $out" ;; *) bad "-V said '$out'" ;; esac
out=$("$R/usr/sbin/certstreamd" -n -c "$R/etc/certstream/certstream.conf" 2>&1)
[ $? -eq 0 ] && ok "-n on the installed configuration: $out" || bad "-n: $out"
grep -q '^user: auto ' "$R/etc/certstream/certstream.conf" &&
	grep -q 'state_file: "/var/lib/certstream/state.json"' "$R/etc/certstream/certstream.conf" &&
	ok "installed configuration: user auto, state in /var/lib/certstream" ||
	bad "installed configuration"
grep -q '^User=certstream$' "$R/lib/systemd/system/certstream.service" &&
	grep -q '^ExecStart=/usr/sbin/certstreamd -c /etc/certstream/certstream.conf$' \
		"$R/lib/systemd/system/certstream.service" &&
	ok "unit: User=certstream, /usr/sbin, /etc/certstream" || bad "unit paths or user"

if dpkg_root --purge certstream >"$T/purge.log" 2>&1; then
	ok "dpkg --root --purge"
else
	cat "$T/purge.log"
	bad "dpkg --root --purge"
fi
# Left behind: anything that was not there before, but dpkg's database.
after=$(cd "$R" && find . -mindepth 1 | grep -v '^\./var/lib/dpkg/' | sort)
left=$(printf '%s\n' "$after" | grep -vxF -e "$before")
if [ -z "$left" ]; then
	ok "purge left nothing outside /var/lib/dpkg"
else
	bad "left after purge: $(echo "$left" | tr '\n' ' ')"
fi
st=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${Status}' certstream 2>/dev/null)
[ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] && ok "purged" || bad "status after purge '$st'"

[ "$fails" -eq 0 ] && echo "deb_package: all passed" || echo "deb_package: $fails failed"
[ "$fails" -eq 0 ]
