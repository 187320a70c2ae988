#!/bin/sh
# leaf_cert.tbs_sha256 against Debian's python3-cryptography, code this
# project did not write: Certificate.tbs_precertificate_bytes is the TBS
# without the SCT list extension (RFC 6962 §3.2), and tbs_certificate_bytes
# the TBS as it is. For every certificate rendered here, `certstreamd
# --render` must print sha256 of the one that applies:
#   - a certificate with an SCT list: tbs_precertificate_bytes;
#   - a precertificate (critical poison): the same, after its 21-byte
#     poison extension is swapped in place for a 21-byte SCT list
#     extension (cryptography only removes SCT lists; no length changes);
#   - any other: tbs_certificate_bytes.
# Certificates: a precertificate and its certificate made now with the
# openssl CLI (same TBS but poison <-> SCT list; both must print one value,
# and a third certificate another), tests/data/real/certs, the fakelog
# certificates, the sample feed's leaves (full-stream as_der) and every
# golden leaf. About 2 s.
set -eu
cd "$(dirname "$0")/../.."
bin=${CERTSTREAM_BIN:-./certstreamd}
[ -x "$bin" ] || { echo "tbs_sha256: $bin not built"; exit 1; }
command -v openssl >/dev/null || { echo "tbs_sha256: openssl CLI missing"; exit 1; }
py=
for p in /usr/bin/python3 python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c \
	    'from cryptography import x509; x509.Certificate.tbs_precertificate_bytes' \
	    2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || { echo "tbs_sha256: python3-cryptography missing (scripts/install-deps.sh test)"; exit 1; }
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

# The pair: one base certificate, re-signed with the same key, serial,
# names and dates; only the extension list differs. The poison sits in the
# middle so that removing it is not just cutting the tail.
cat > "$tmp/ext.cnf" <<'EOF'
[pre]
keyUsage = critical, digitalSignature
1.3.6.1.4.1.11129.2.4.3 = critical, DER:05:00
subjectAltName = DNS:pair.example, DNS:www.pair.example
[fin]
keyUsage = critical, digitalSignature
1.3.6.1.4.1.11129.2.4.2 = DER:04:0a:00:08:00:06:00:00:00:00:00:00
subjectAltName = DNS:pair.example, DNS:www.pair.example
[other]
keyUsage = critical, digitalSignature
1.3.6.1.4.1.11129.2.4.2 = DER:04:0a:00:08:00:06:00:00:00:00:00:00
subjectAltName = DNS:other.example
EOF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$tmp/key.pem" 2>/dev/null
openssl req -x509 -new -key "$tmp/key.pem" -subj /CN=pair.example -days 30 \
    -set_serial 0x5eed -out "$tmp/base.pem" 2>/dev/null
for s in pre fin other; do
	openssl x509 -in "$tmp/base.pem" -signkey "$tmp/key.pem" -preserve_dates \
	    -clrext -extfile "$tmp/ext.cnf" -extensions "$s" -out "$tmp/$s.pem" 2>/dev/null
done

TMP_TBS="$tmp" BIN="$bin" "$py" - <<'EOF'
import base64, glob, hashlib, json, os, subprocess, sys, warnings
import cryptography
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

tmp, binary = os.environ["TMP_TBS"], os.environ["BIN"]
warnings.simplefilter("ignore")   # e.g. the zlint negative serial
# The poison extension as CAs write it: SEQUENCE { OID .4.3, critical TRUE,
# OCTET STRING { NULL } }, and an SCT list extension of the same 21 bytes.
POISON = bytes.fromhex("3013060a2b06010401d679020403" "0101ff" "04020500")
SWAP = bytes.fromhex("3013060a2b06010401d679020402" "0405" "0403" "0001ff")
POISON_OID = bytes.fromhex("060a2b06010401d679020403")
assert len(POISON) == len(SWAP) == 21


def expected(der):
    if POISON_OID in der:
        if der.count(POISON) != 1:
            raise ValueError("poison extension not in its usual encoding")
        der = der.replace(POISON, SWAP)
    cert = x509.load_der_x509_certificate(der)
    try:
        tbs = cert.tbs_precertificate_bytes
    except ValueError:     # no SCT list: nothing to remove
        tbs = cert.tbs_certificate_bytes
    return hashlib.sha256(tbs).hexdigest()


def pem(der):
    b = base64.encodebytes(der).decode()
    return "-----BEGIN CERTIFICATE-----\n" + b + "-----END CERTIFICATE-----\n"


def der_of(path):
    data = open(path, "rb").read()
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    return data


certs = []     # (name, der)
for s in ("pre", "fin", "other"):
    certs.append(("pair:" + s, der_of(os.path.join(tmp, s + ".pem"))))
for f in sorted(glob.glob("tests/data/real/certs/*")):
    certs.append((f, der_of(f)))
for f in sorted(glob.glob("tests/data/fakelog/certs/*.pem")):
    certs.append((f, der_of(f)))
for i, line in enumerate(open("tests/data/sample-feed.ndjson")):
    m = json.loads(line)
    certs.append(("sample-feed:%d" % (i + 1),
                  base64.b64decode(m["data"]["leaf_cert"]["as_der"])))

bundle = os.path.join(tmp, "all.pem")
with open(bundle, "w") as f:
    for _, der in certs:
        f.write(pem(der))
out = subprocess.run([binary, "--render", bundle], check=True,
                     capture_output=True).stdout.decode().splitlines()
if len(out) != len(certs):
    sys.exit("rendered %d messages for %d certificates" % (len(out), len(certs)))
got = {}
bad = 0
for (name, der), line in zip(certs, out):
    leaf = json.loads(line)["data"]["leaf_cert"]
    if base64.b64decode(leaf["as_der"]) != der:
        sys.exit("%s: rendered out of order" % name)
    got[name] = leaf["tbs_sha256"]
    want = expected(der)
    if leaf["tbs_sha256"] != want:
        bad += 1
        print("%s: tbs_sha256 %s, cryptography says %s" % (name, leaf["tbs_sha256"], want))

# every golden leaf (made by the same --render, pinned by check_render)
ngold = 0
for f in sorted(glob.glob("tests/data/golden/**/*.ndjson", recursive=True)):
    for i, line in enumerate(open(f)):
        leaf = json.loads(line)["data"]["leaf_cert"]
        want = expected(base64.b64decode(leaf["as_der"]))
        ngold += 1
        if leaf.get("tbs_sha256") != want:
            bad += 1
            print("%s:%d: tbs_sha256 %s, cryptography says %s" % (f, i + 1, leaf.get("tbs_sha256"), want))

pre, fin, other = got["pair:pre"], got["pair:fin"], got["pair:other"]
if pre != fin:
    bad += 1
    print("pair: precertificate %s, certificate %s: not equal" % (pre, fin))
if other in (pre, fin):
    bad += 1
    print("pair: another certificate has the same tbs_sha256 %s" % other)
if len(set(got.values())) < 10:
    bad += 1
    print("only %d distinct values" % len(set(got.values())))
print("%d rendered and %d golden leaves checked against python3-cryptography %s, "
      "%d differences" % (len(certs), ngold,
                          cryptography.__version__, bad))
sys.exit(1 if bad else 0)
EOF
