#!/bin/sh
# Checks every golden certstream message (tests/data/golden/**/*.ndjson)
# against the openssl CLI, independently of the code that made it: for the
# leaf and every chain member, as_der is fed to `openssl x509` and sha1sum/
# sha256sum, and subject, issuer, serial, dates, fingerprints, SANs,
# all_domains, signature algorithm, is_ca and the common extensions must
# agree. Prints the file, line, certificate and field of each difference.
# One openssl run costs ~30 ms here, so by default the four navigli2025h2
# tiles (1,034 messages) are sampled, 1 message in GOLDEN_STRIDE (16); every
# other golden is checked whole. GOLDEN_STRIDE=1 checks everything (~75 s).
#   GOLDEN_LIMIT=N   check only the first N messages of each file (quick runs)
set -eu
cd "$(dirname "$0")/../.."
command -v openssl >/dev/null || { echo "openssl CLI missing"; exit 1; }
command -v node >/dev/null || { echo "node missing"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
TMPDIR_GOLDEN="$tmp" node - <<'EOF'
'use strict';
const fs = require('fs');
const path = require('path');
const cp = require('child_process');
const tmp = process.env.TMPDIR_GOLDEN;
const limit = parseInt(process.env.GOLDEN_LIMIT || '0', 10);
const stride = Math.max(1, parseInt(process.env.GOLDEN_STRIDE || '16', 10));

// Bytes that are not valid UTF-8 appear in the goldens as the text \xHH
// (FORMAT.md: escaped, never dropped); do the same to openssl's raw bytes.
function textOf(buf) {
	let out = '';
	let i = 0;
	while (i < buf.length) {
		const c = buf[i];
		let n = 0;
		if (c < 0x80) n = 1;
		else if (c >= 0xc2 && c <= 0xdf) n = 2;
		else if (c >= 0xe0 && c <= 0xef) n = 3;
		else if (c >= 0xf0 && c <= 0xf4) n = 4;
		let ok = n > 0 && i + n <= buf.length;
		for (let k = 1; ok && k < n; k++) ok = (buf[i + k] & 0xc0) === 0x80;
		if (ok && n > 1) {
			const s = buf.slice(i, i + n).toString('utf8');
			const cpnt = s.codePointAt(0);
			ok = !s.includes('\ufffd') &&
			    !(n === 3 && cpnt < 0x800) && !(n === 4 && cpnt < 0x10000);
		}
		if (!ok) {
			out += '\\x' + c.toString(16).padStart(2, '0');
			i++;
			continue;
		}
		out += buf.slice(i, i + n).toString('utf8');
		i += n;
	}
	return out;
}

const crypto = require('crypto');
const execFile = require('util').promisify(cp.execFile);

// "subject=\n    C=US\n    CN=a + CN=b\n" -> [[C,US],[CN,a],[CN,b]]
function parseName(lines) {
	const out = [];
	for (const l of lines) {
		if (l.trim() === '') continue;
		for (const part of l.replace(/^ {4}/, '').split(' + ')) {
			const eq = part.indexOf('=');
			out.push([part.slice(0, eq), part.slice(eq + 1)]);
		}
	}
	return out;
}

const KEYS = ['C', 'ST', 'L', 'O', 'OU', 'CN', 'emailAddress'];
function expectName(attrs) {
	const o = { aggregated: attrs.map(([k, v]) => '/' + k + '=' + v).join('') };
	for (const k of KEYS) {
		const vs = attrs.filter(([a]) => a === k).map(([, v]) => v);
		o[k] = vs.length ? vs.join(', ') : null;
	}
	return o;
}

function civil(y, m, d) {   // days since 1970-01-01, proleptic Gregorian
	y -= m <= 2 ? 1 : 0;
	const era = Math.floor(y / 400);
	const yoe = y - era * 400;
	const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
	const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
	return era * 146097 + doe - 719468;
}
function isoSecs(s) {       // "   1-01-01 00:00:00Z"
	const m = s.trim().match(/^(\d+)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)Z$/);
	if (!m) throw new Error('bad date ' + s);
	return civil(+m[1], +m[2], +m[3]) * 86400 + (+m[4]) * 3600 + (+m[5]) * 60 + (+m[6]);
}

const EXT = {
	'X509v3 Key Usage': 'keyUsage',
	'X509v3 Extended Key Usage': 'extendedKeyUsage',
	'X509v3 Basic Constraints': 'basicConstraints',
	'X509v3 Subject Key Identifier': 'subjectKeyIdentifier',
	'X509v3 Authority Key Identifier': 'authorityKeyIdentifier',
	'Authority Information Access': 'authorityInfoAccess',
	'X509v3 Subject Alternative Name': 'subjectAltName',
	'X509v3 Certificate Policies': 'certificatePolicies',
	'X509v3 CRL Distribution Points': 'crlDistributionPoints',
	'CT Precertificate SCTs': 'ctlSignedCertificateTimestamp',
	'CT Precertificate Poison': 'ctlPoisonByte',
};

const SIG = {
	sha1WithRSAEncryption: 'sha1, rsa', sha224WithRSAEncryption: 'sha224, rsa',
	sha256WithRSAEncryption: 'sha256, rsa', sha384WithRSAEncryption: 'sha384, rsa',
	sha512WithRSAEncryption: 'sha512, rsa', md5WithRSAEncryption: 'md5, rsa',
	'ecdsa-with-SHA1': 'sha1, ecdsa', 'ecdsa-with-SHA224': 'sha224, ecdsa',
	'ecdsa-with-SHA256': 'sha256, ecdsa', 'ecdsa-with-SHA384': 'sha384, ecdsa',
	'ecdsa-with-SHA512': 'sha512, ecdsa', ED25519: 'ed25519', ED448: 'ed448',
	'dsa_with_SHA256': 'sha256, dsa', 'dsaWithSHA1': 'sha1, dsa',
};

let checked = 0, failures = 0;
function fail(where, field, want, got) {
	failures++;
	if (failures <= 40)
		console.log(`${where}: ${field} differs: openssl says ${JSON.stringify(want)}, golden has ${JSON.stringify(got)}`);
}

// -ext with -text would also cut the extensions out of -text: list them all
const EXT_ARG = Object.values(EXT).filter((k) => !k.startsWith('ctl')).join(',') +
    ',ct_precert_poison,ct_precert_scts';
let seq = 0;

// One openssl run per certificate (parsed fields, then -text), several
// at a time; digests by node's own crypto.
async function checkCert(where, c, isLeaf) {
	const der = Buffer.from(c.as_der, 'base64');
	const f = path.join(tmp, `c${seq++}.der`);
	fs.writeFileSync(f, der);
	const { stdout } = await execFile('openssl', ['x509', '-inform', 'DER', '-in', f,
	    '-noout', '-serial', '-subject', '-issuer', '-dates', '-dateopt', 'iso_8601',
	    '-nameopt', 'sep_multiline,sname,utf8,esc_ctrl', '-ext', EXT_ARG, '-text'],
	    { encoding: 'buffer', maxBuffer: 1 << 26 });
	fs.unlinkSync(f);
	const cut = stdout.indexOf('\nCertificate:\n');
	const head = cut >= 0 ? stdout.slice(0, cut + 1) : stdout;
	const text = cut >= 0 ? stdout.slice(cut).toString('latin1') : '';
	const lines = textOf(head).split('\n');
	const sections = {};
	let cur = null;
	for (const l of lines) {
		if (/^ {4}/.test(l) || (cur && l === '')) { if (cur) sections[cur].push(l); continue; }
		const m = l.match(/^([^=:]+)[=:] ?(.*)$/);
		if (!m) continue;
		cur = m[1];
		sections[cur] = m[2] === '' || m[2] === 'critical' ? [] : [m[2]];
	}
	const eq = (field, want, got) => {
		if (JSON.stringify(want) !== JSON.stringify(got)) fail(where, field, want, got);
	};
	eq('serial_number', sections.serial[0], c.serial_number);
	eq('subject', expectName(parseName(sections.subject)), c.subject);
	eq('issuer', expectName(parseName(sections.issuer)), c.issuer);
	eq('not_before', isoSecs(sections.notBefore[0]), c.not_before);
	eq('not_after', isoSecs(sections.notAfter[0]), c.not_after);
	const sha1 = crypto.createHash('sha1').update(der).digest('hex');
	const sha256 = crypto.createHash('sha256').update(der).digest('hex');
	const colon = (h) => h.toUpperCase().match(/../g).join(':');
	eq('sha1', colon(sha1), c.sha1);
	eq('fingerprint', colon(sha1), c.fingerprint);
	eq('sha256', colon(sha256), c.sha256);
	// extensions openssl -ext names: value text, 4-space indent removed
	for (const [hdr, key] of Object.entries(EXT)) {
		if (!(hdr in sections)) continue;
		const want = sections[hdr].map((l) => l.replace(/^ {4}/, '')).join('\n').replace(/\s+$/, '');
		if (key === 'ctlPoisonByte') eq('extensions.' + key, true, c.extensions[key]);
		else eq('extensions.' + key, want, c.extensions[key]);
	}
	const isCa = 'X509v3 Basic Constraints' in sections &&
	    /^CA:TRUE/.test(sections['X509v3 Basic Constraints'].join('').trim());
	eq('is_ca', isCa, c.is_ca);
	// signature algorithm from -text
	const sm = text.match(/\n {4}Signature Algorithm: (\S+)/);
	let sig = sm ? SIG[sm[1]] : undefined;
	if (sm && sm[1] === 'rsassaPss') {
		const hm = text.match(/\n {4}Signature Algorithm: rsassaPss[\s\S]*?Hash Algorithm: (\S+)/);
		sig = (hm ? hm[1] : 'sha1') + ', rsa-pss';
	}
	eq('signature_algorithm', sig === undefined ? '(unmapped ' + (sm && sm[1]) + ')' : sig, c.signature_algorithm);
	const poison = 'CT Precertificate Poison' in sections;
	eq('extensions.ctlPoisonByte', poison ? true : undefined, c.extensions.ctlPoisonByte);
	if (isLeaf) {
		const doms = [];
		if (!isCa)
			for (const [k, v] of parseName(sections.subject))
				if (k === 'CN' && v !== '') doms.push(v);
		const san = (sections['X509v3 Subject Alternative Name'] || []).join('').trim();
		for (const part of san ? san.split(', ') : [])
			if (part.startsWith('DNS:')) doms.push(part.slice(4));
		eq('all_domains', [...new Set(doms)], c.all_domains);
	} else if ('all_domains' in c) {
		fail(where, 'all_domains', undefined, c.all_domains);
	}
	checked++;
}

const root = 'tests/data/golden';
const files = [];
(function walk(d) {
	for (const e of fs.readdirSync(d, { withFileTypes: true })) {
		const p = path.join(d, e.name);
		if (e.isDirectory()) walk(p);
		else if (e.name.endsWith('.ndjson')) files.push(p);
	}
})(root);
if (files.length === 0) { console.log('no goldens'); process.exit(1); }
let messages = 0;
const jobs = [];
for (const file of files.sort()) {
	const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length);
	if (lines.length === 0) fail(file, 'file', 'messages', 'none');
	lines.slice(0, limit || lines.length).forEach((line, i) => {
		if (lines.length > 50 && i % stride !== 0) return;
		const m = JSON.parse(line);
		const d = m.data;
		jobs.push([`${file}:${i + 1} leaf_cert`, d.leaf_cert, true]);
		(d.chain || []).forEach((c, k) => jobs.push([`${file}:${i + 1} chain[${k}]`, c, false]));
		messages++;
	});
}
(async () => {
	let next = 0;
	const worker = async () => {
		while (next < jobs.length) {
			const j = jobs[next++];
			try {
				await checkCert(...j);
			} catch (e) {
				fail(j[0], 'openssl run', 'success', String(e.message).split('\n')[0]);
			}
		}
	};
	await Promise.all([worker(), worker(), worker(), worker()]);
	console.log(`${files.length} golden files, ${messages} messages, ${checked} certificates checked against openssl, ${failures} differences`);
	process.exit(failures ? 1 : 0);
})();
EOF
