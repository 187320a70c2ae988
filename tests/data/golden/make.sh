#!/bin/sh
# (Re)makes every golden listed in MANIFEST with `certstreamd --render`.
# A golden is only trusted after tests/system/golden_openssl.sh has checked
# it field by field against the openssl CLI; review the diff before commit.
#   tests/data/golden/make.sh [BINARY]      (from the repository top)
set -eu
bin=${1:-./certstreamd}
cd "$(dirname "$0")/../../.."
grep -v '^#' tests/data/golden/MANIFEST | while IFS='	' read -r in out url name op start; do
	mkdir -p "tests/data/golden/$(dirname "$out")"
	CERTSTREAM_RENDER_SEEN=1700000000.123456 CERTSTREAM_RENDER_URL="$url" \
	CERTSTREAM_RENDER_NAME="$name" CERTSTREAM_RENDER_OPERATOR="$op" \
	CERTSTREAM_RENDER_START="$start" \
	    $bin --render "tests/data/$in" > "tests/data/golden/$out"
	echo "$out: $(wc -l < "tests/data/golden/$out") messages"
done
