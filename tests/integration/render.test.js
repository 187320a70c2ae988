'use strict';
// certstreamd --render over every input in tests/data/golden/MANIFEST:
// each output line is strict JSON, validates against the JSON Schema of
// FORMAT.md (tests/data/schema/certstream.schema.json) and equals its golden.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const Ajv = require('../node/node_modules/ajv');

const top = path.resolve(__dirname, '../..');
const bin = process.env.CERTSTREAM_BIN || path.join(top, 'certstreamd');
const schema = JSON.parse(fs.readFileSync(path.join(top, 'tests/data/schema/certstream.schema.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);

const manifest = fs.readFileSync(path.join(top, 'tests/data/golden/MANIFEST'), 'utf8')
	.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));

function render(input, env) {
	return spawnSync(bin, ['--render', input], {
		env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 60000,
	});
}

test('every --render output validates against the schema and equals its golden', () => {
	let messages = 0;
	for (const [input, golden, url, name, op, start] of manifest) {
		const r = render(path.join(top, 'tests/data', input), {
			CERTSTREAM_RENDER_SEEN: '1700000000.123456', CERTSTREAM_RENDER_URL: url,
			CERTSTREAM_RENDER_NAME: name, CERTSTREAM_RENDER_OPERATOR: op,
			CERTSTREAM_RENDER_START: start,
		});
		assert.strictEqual(r.status, 0, `${input}: exit ${r.status}: ${r.stderr}`);
		const lines = r.stdout.split('\n').filter((l) => l.length);
		const want = fs.readFileSync(path.join(top, 'tests/data/golden', golden), 'utf8')
			.split('\n').filter((l) => l.length);
		assert.strictEqual(lines.length, want.length, `${input}: message count`);
		lines.forEach((line, i) => {
			const m = JSON.parse(line);
			const ok = validate(m);
			assert.ok(ok, `${input} message ${i + 1}: ${ajv.errorsText(validate.errors)}`);
			// full stream: as_der and chain present
			assert.ok(typeof m.data.leaf_cert.as_der === 'string', `${input}: as_der`);
			assert.ok(Array.isArray(m.data.chain), `${input}: chain`);
			assert.strictEqual(line, want[i], `${input} message ${i + 1} differs from ${golden}`);
			messages++;
		});
	}
	assert.strictEqual(messages, 1072);
});

test('lite and dns_entries shapes derived from a rendered entry validate too', () => {
	const r = render(path.join(top, 'tests/data/real/rfc6962/ctgo_get-entries_precert_x509.json'),
		{ CERTSTREAM_RENDER_SEEN: '1.5', CERTSTREAM_RENDER_URL: 'https://l/', CERTSTREAM_RENDER_NAME: 'L' });
	assert.strictEqual(r.status, 0, r.stderr);
	const full = JSON.parse(r.stdout.split('\n')[0]);
	const lite = JSON.parse(JSON.stringify(full));
	delete lite.data.chain;
	delete lite.data.leaf_cert.as_der;
	assert.ok(validate(lite), ajv.errorsText(validate.errors));
	const dns = { message_type: 'dns_entries', data: full.data.leaf_cert.all_domains,
		cert_index: full.data.cert_index, seen: full.data.seen,
		source: { url: full.data.source.url, name: full.data.source.name } };
	assert.ok(validate(dns), ajv.errorsText(validate.errors));
	assert.ok(validate({ message_type: 'heartbeat', timestamp: 1703808000.1 }));
});

test('the schema rejects what FORMAT.md forbids', () => {
	const r = render(path.join(top, 'tests/data/real/certs/zlint_ecdsaP256.pem'), { CERTSTREAM_RENDER_SEEN: '2' });
	assert.strictEqual(r.status, 0, r.stderr);
	const good = JSON.parse(r.stdout);
	assert.ok(validate(good), ajv.errorsText(validate.errors));
	const mutations = [
		(m) => { delete m.data.leaf_cert.subject.CN; },                 // a missing key breaks clients
		(m) => { m.data.leaf_cert.serial_number = '4:31'; },
		(m) => { m.data.leaf_cert.not_after = '2026-01-01'; },
		(m) => { m.data.leaf_cert.sha256 = m.data.leaf_cert.sha1; },
		(m) => { m.data.leaf_cert.extensions.ctlPoisonByte = 'NULL'; },
		(m) => { m.data.update_type = 'Precert'; },
		(m) => { m.data.source.type = 'tiles'; },
		(m) => { delete m.data.leaf_cert.all_domains; },
		(m) => { delete m.data.leaf_cert.as_der; },                     // chain without as_der
		(m) => { m.data.leaf_cert.all_domains.push(m.data.leaf_cert.all_domains[0]); },
		(m) => { delete m.data.leaf_cert.tbs_sha256; },
		(m) => { m.data.leaf_cert.tbs_sha256 = m.data.leaf_cert.tbs_sha256.toUpperCase(); },
		(m) => { m.data.leaf_cert.tbs_sha256 = m.data.leaf_cert.sha256; },
		(m) => { m.data.chain = [{ ...m.data.leaf_cert }]; delete m.data.chain[0].all_domains; },
	];
	mutations.forEach((mut, i) => {
		const m = JSON.parse(JSON.stringify(good));
		mut(m);
		assert.ok(!validate(m), `mutation ${i} accepted`);
	});
});

test('--render reports a bad entry with its index and still renders the rest', () => {
	const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'render-'));
	const body = JSON.parse(fs.readFileSync(path.join(top, 'tests/data/real/rfc6962/ctgo_scanner_get-entries_4.json'), 'utf8'));
	body.entries[1].leaf_input = body.entries[1].leaf_input.slice(0, 40);   // truncated leaf
	const f = path.join(tmp, 'entries.json');
	fs.writeFileSync(f, JSON.stringify(body));
	const r = render(f, { CERTSTREAM_RENDER_SEEN: '3', CERTSTREAM_RENDER_START: '100' });
	fs.rmSync(tmp, { recursive: true });
	assert.strictEqual(r.status, 1);
	assert.match(r.stderr, /entry 101: truncated/);
	const idx = r.stdout.split('\n').filter((l) => l).map((l) => JSON.parse(l).data.cert_index);
	assert.deepStrictEqual(idx, [100, 102, 103]);
});
