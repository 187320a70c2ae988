/*
 * `certstreamd --render FILE`: CT entries in a file to full certstream
 * messages on `out`, one per line, through the same leaf decoder and
 * renderer as live ingest. FILE ("-" is stdin) is recognised by content:
 *
 *   - an RFC 6962 get-entries body {"entries":[{leaf_input, extra_data}]}:
 *     entries carry no index, so the first is CERTSTREAM_RENDER_START
 *     (default 0) and each next one +1,
 *     unless an entry has an "index" member (then that one is used and
 *     counting continues from it);
 *   - NDJSON, one {"leaf_input","extra_data","index"} object per line
 *     (index optional, counted as above);
 *   - a static-ct-api data tile (binary TileLeaf records): indices from
 *     each leaf's leaf_index; chains are not resolved (no issuers at hand);
 *   - one or more certificates, PEM or DER: each shown as an x509_entry
 *     with index START, START+1, ... and submission_timestamp 0.
 *
 * source comes from CERTSTREAM_RENDER_URL, CERTSTREAM_RENDER_NAME,
 * CERTSTREAM_RENDER_OPERATOR (default ""); seen is now, or
 * CERTSTREAM_RENDER_SEEN (Unix seconds) for reproducible output.
 * An entry that fails is reported on stderr with its index and skipped.
 * Returns 0 when every entry rendered, 1 when some failed, 2 when the
 * file cannot be read or recognised.
 */
#ifndef INGEST_RENDER_CLI_H
#define INGEST_RENDER_CLI_H

#include <stdio.h>

int render_cli_main(const char *path, FILE *out);

#endif
