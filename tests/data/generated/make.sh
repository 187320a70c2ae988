#!/bin/sh
# Makes the generated test certificates with the openssl CLI (OpenSSL 3.0).
# Run once; the results are checked in (keys are thrown away), so the
# goldens built from them stay stable. Run from this directory.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ossl() { openssl "$@" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }; }
# req's string_mask lives in its config file
reqcnf() {
	printf '[req]\ndistinguished_name = dn\nstring_mask = %s\nutf8 = yes\n[dn]\n' "$1" > "$tmp/req.cnf"
	echo "$tmp/req.cnf"
}

# Teletex (T61String): Latin-1 text with a string mask that forbids UTF-8/BMP
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k" -sha256 -days 30 \
	-config "$(reqcnf nombstr)" -subj "/C=DE/O=Müller Straße GmbH/CN=t61.example" \
	-addext "subjectAltName=DNS:t61.example" -out t61_subject.pem
# BMPString: non-Latin text with the pkix mask (PrintableString or BMPString)
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k" -sha256 -days 30 \
	-config "$(reqcnf pkix)" -subj "/O=日本語テスト株式会社/OU=Ünïcödé/CN=bmp.example" \
	-addext "subjectAltName=DNS:bmp.example" -out bmp_subject.pem
# 1,000 SANs
sans=$(i=0; while [ $i -lt 1000 ]; do printf 'DNS:h%d.many.example,' $i; i=$((i+1)); done)
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/k" \
	-sha256 -days 30 -subj "/CN=h0.many.example" \
	-addext "subjectAltName=${sans%,}" -out san_1000.pem
# notAfter 9999-12-31 23:59:59 (GeneralizedTime), through `openssl ca`
mkdir -p "$tmp/ca"
: > "$tmp/ca/index.txt"
echo 01 > "$tmp/ca/serial"
cat > "$tmp/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
dir = $tmp/ca
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha384
policy = p
copy_extensions = copy
unique_subject = no
[p]
commonName = supplied
CNF
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$tmp/k384" \
	-subj "/CN=forever.example" -addext "subjectAltName=DNS:forever.example" -out "$tmp/r.csr"
ossl ca -batch -config "$tmp/ca.cnf" -selfsign -keyfile "$tmp/k384" -in "$tmp/r.csr" \
	-startdate 20250101000000Z -enddate 99991231235959Z -notext -out expiry_9999.pem
# about 200 KiB: one private extension of 204,800 bytes
big=$(head -c 102400 /dev/zero | od -An -v -tx1 | tr -d ' \n' | sed 's/00/ab/g')
printf '[req]\ndistinguished_name = dn\nx509_extensions = x\n[dn]\n[x]\nsubjectAltName = DNS:big.example\n1.3.6.1.4.1.99999.1 = DER:%s%s\n' \
	"$big" "$big" > "$tmp/big.cnf"
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k" -sha256 -days 30 \
	-config "$tmp/big.cnf" -subj "/CN=big.example" -out big_200k.pem
# Ed25519 signature
ossl req -x509 -newkey ed25519 -nodes -keyout "$tmp/k" -days 30 \
	-subj "/CN=ed25519.example" -addext "subjectAltName=DNS:ed25519.example" -out ed25519.pem
# RSA-PSS signature, SHA-256
ossl req -x509 -newkey rsa-pss -pkeyopt rsa_keygen_bits:2048 -nodes -keyout "$tmp/k" \
	-sha256 -sigopt rsa_pss_saltlen:32 -days 30 -subj "/CN=pss.example" \
	-addext "subjectAltName=DNS:pss.example" -out rsa_pss.pem
# ECDSA P-521 with SHA-512
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-521 -nodes -keyout "$tmp/k" \
	-sha512 -days 30 -subj "/CN=p521.example" -addext "subjectAltName=DNS:p521.example" \
	-out ecdsa_p521_sha512.pem
# two CNs in one multi-valued RDN, IP and e-mail SANs (not domains), a duplicate
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k" -sha256 -days 30 \
	-multivalue-rdn -subj "/CN=a.multi.example+CN=b.multi.example/O=Multi" \
	-addext "subjectAltName=DNS:a.multi.example,IP:192.0.2.7,IP:2001:db8::7,email:x@multi.example,DNS:c.multi.example" \
	-addext "basicConstraints=critical,CA:FALSE" -out multi_cn_ip_email.pem
# a CA: its CN is not a domain
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k" -sha256 -days 30 \
	-subj "/CN=Example Root CA/O=Example" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "subjectAltName=DNS:ca.example" -out ca_cert.pem
ls -la *.pem
