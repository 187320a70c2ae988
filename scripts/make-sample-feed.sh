#!/bin/sh
# Build tests/data/sample-feed.ndjson, the replay feed shipped with the repo:
# REAL certificates from the CT test data (tests/data/real, copied from
# ../shared/testdata/real: see its PROVENANCE.md) rendered by `certstreamd --render`, the same decoder and
# renderer as live ingest. One full certificate_update message per line.
#
#   scripts/make-sample-feed.sh [OUT]
#     CERTSTREAMD=./certstreamd      the binary that renders
#     TESTDATA_REAL=DIR              default: tests/data/real (the repo's
#                                    copy), else ../shared/testdata/real
#
# What goes in (265 records, about 0.8 MB):
#   - RFC 6962 get-entries bodies: Google Icarus entry 120000000 (its index
#     set, as get-entries?start=120000000 returned it), and the real entries
#     of the certificate-transparency-go and scrape-ct-log test data, whose
#     log is not recorded: their source says so (replay:// URL, index from 0);
#   - the first static-ct-api data tile (256 precert entries) of Geomys'
#     navigli2025h2 log; indices from each leaf's leaf_index extension.
# `seen` is fixed so the file is reproducible; replay stamps it anew anyway.
set -eu
cd "$(dirname "$0")/.."
bin=${CERTSTREAMD:-./certstreamd}
if [ -z "${TESTDATA_REAL:-}" ] && [ -f tests/data/real/static-ct/navigli2025h2/tile/data/000 ]; then
	real=tests/data/real
else
	real=${TESTDATA_REAL:-../shared/testdata/real}
fi
out=${1:-tests/data/sample-feed.ndjson}
tmp=$out.tmp.$$
trap 'rm -f "$tmp" "$tmp.in"' EXIT

[ -x "$bin" ] || { echo "make-sample-feed: $bin not built (run make)" >&2; exit 1; }
[ -d "$real" ] || { echo "make-sample-feed: no test data at $real" >&2; exit 1; }
: >"$tmp"

# render URL NAME OPERATOR FILE
render() {
	CERTSTREAM_RENDER_URL=$1 CERTSTREAM_RENDER_NAME=$2 \
	    CERTSTREAM_RENDER_OPERATOR=$3 CERTSTREAM_RENDER_SEEN=1735689600 \
	    "$bin" --render "$4" >>"$tmp" || {
		echo "make-sample-feed: rendering $4 failed" >&2
		exit 1
	}
}

# The Icarus body as the log served it for start=120000000: give the entry
# its index (the renderer counts from 0 otherwise).
sed 's/"entries": *\[{/&"index": 120000000, /' \
    "$real/rfc6962/icarus_get-entries_120000000_DERIVED.json" >"$tmp.in"
grep -q '"index": 120000000' "$tmp.in" || { echo "make-sample-feed: icarus index not set" >&2; exit 1; }
render "https://ct.googleapis.com/icarus/" "Google 'Icarus' log" "Google" "$tmp.in"

for f in ctgo_get-entries_precert_x509 ctgo_scanner_get-entries_4 \
    scrapectlog_get-entries_precert_x509_DERIVED; do
	render "replay://testdata/$f/" "$f (real entries, log not recorded)" "" \
	    "$real/rfc6962/$f.json"
done

render "https://navigli2025h2.skylight.geomys.org/" "Geomys 'Navigli2025h2'" \
    "Geomys" "$real/static-ct/navigli2025h2/tile/data/000"

n=$(wc -l <"$tmp")
size=$(wc -c <"$tmp")
[ "$n" -ge 200 ] || { echo "make-sample-feed: only $n records" >&2; exit 1; }
[ "$size" -lt 2000000 ] || { echo "make-sample-feed: $size bytes, over 2 MB" >&2; exit 1; }
mv "$tmp" "$out"
echo "make-sample-feed: $out: $n records, $size bytes"
