'use strict';
// Security (issue 7): the token cannot be side-stepped by spelling a path
// differently, no answer echoes client-controlled bytes unescaped, and the
// index page runs under a strict Content-Security-Policy. A client with a
// valid token streams on the same worker throughout and must miss nothing.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const { startDaemon } = require('./lib/daemon');
const c = require('./lib/clients');
const raw = require('./lib/rawclient');

const feed = c.loadFeed(c.feedPath());
const TOKEN = 's3cret-t0ken';
const TOKEN2 = 'second-token';
const CONF = c.confFor(feed.file, {
  rate: 50,
  extra: [
    'auth:',
    '  enabled: true',
    `  tokens: ["${TOKEN}", "${TOKEN2}"]`,
    '  protect_metrics: true',
    '',
  ].join('\n'),
});

function upgrade(target, extra = '') {
  return raw.upgradeRequest(target, raw.wsKey(), extra);
}

function get(target, extra = '', method = 'GET') {
  return `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
}

// Is the bytes' content valid UTF-8?
function utf8Valid(buf) {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch (_) {
    return false;
  }
}

describe('security', () => {
  let d;
  let good;

  before(async () => {
    d = await startDaemon({ workers: 1, conf: CONF });
    good = c.openSseRaw(d.url(`/sse?stream=lite&token=${TOKEN}`));
    await good.ready;
    await c.waitFor(() => good.events.length >= 3, 10000, 'the client with a token streaming');
  });
  after(async () => {
    if (good) good.close();
    if (d) await d.stop('SIGKILL');
  });

  // Each request, sent without a valid token, must be refused with 401:
  // never a 101, never an event stream. Every failure is listed at once.
  async function expectRefused(cases) {
    const bad = [];
    for (const [name, bytes] of cases) {
      const r = await raw.requestHead(d.port, bytes);
      if (r.status !== 401) bad.push(`${name}: ${r.statusLine || r.end}`);
      else if (!/^Bearer/i.test(r.headers['www-authenticate'] || '')) bad.push(`${name}: 401 without WWW-Authenticate: Bearer`);
      else if (JSON.parse(r.body.toString('utf8')).error === undefined) bad.push(`${name}: 401 without a JSON error`);
    }
    assert.deepStrictEqual(bad, [], `not refused with 401:\n  ${bad.join('\n  ')}`);
  }

  const streamPaths = [
    '/', '/full-stream', '/domains-only',
    '//full-stream', '///full-stream', '//', '/%2Ffull-stream', '/%2ffull-stream', '/%2F/full-stream',
    '/./full-stream', '/%2e/full-stream', '/x/../full-stream', '/x/%2E%2E/full-stream', '/../full-stream',
    '/full-stream/', '/full-stream/.', '/full-stream//', '/%66ull-stream', '/full%2Dstream', '/domains%2donly',
    'http://127.0.0.1/full-stream', 'http://127.0.0.1//full-stream',
    '/full-stream?', '/full-stream?token=', '/full-stream?token=wrong', `/full-stream?token=${TOKEN.slice(0, -1)}`,
    `/full-stream?token=${TOKEN}0`, `/full-stream?token=%20${TOKEN}`, `/full-stream?xtoken=${TOKEN}`,
    `/full-stream?token=${TOKEN},${TOKEN2}`, `/full-stream?tokens=${TOKEN}`,
  ];

  it('a WebSocket stream without a valid token is refused, however the path is spelled', async () => {
    await expectRefused(streamPaths.map((p) => [`upgrade ${p}`, upgrade(p)]));
  });

  it('a wrong, empty or misplaced token in a header is refused, with ?token= or without', async () => {
    const headers = [
      'Authorization: Bearer wrong\r\n',
      'Authorization: Bearer \r\n',
      'Authorization: Bearer\r\n',
      'Authorization: \r\n',
      `Authorization: Bearer ${TOKEN}0\r\n`,
      `Authorization: Bearer ${TOKEN.toUpperCase()}\r\n`,
      `Authorization: Basic ${TOKEN}\r\n`,
      `Authorization: Bearer ${TOKEN.slice(0, 6)}\r\n`,
      `X-Token: ${TOKEN}\r\n`,
      `Cookie: token=${TOKEN}\r\n`,
      `X-Authorization: Bearer ${TOKEN}\r\n`,
    ];
    const cases = [];
    for (const h of headers) {
      cases.push([`upgrade /full-stream + ${h.trim()}`, upgrade('/full-stream', h)]);
      cases.push([`upgrade //full-stream?token= + ${h.trim()}`, upgrade('//full-stream?token=', h)]);
      cases.push([`upgrade /full-stream?token=wrong + ${h.trim()}`, upgrade('/full-stream?token=wrong', h)]);
      cases.push([`SSE /sse?stream=full + ${h.trim()}`, get('/sse?stream=full', h)]);
    }
    await expectRefused(cases);
  });

  it('an SSE stream without a valid token is refused, however the path is spelled', async () => {
    const paths = [
      '/sse', '/sse?stream=full', '/sse?stream=domains', '//sse?stream=full', '/%73se?stream=full', '/%2Fsse?stream=full',
      '/sse/?stream=full', '/./sse?stream=full', '/x/../sse?stream=full', 'http://127.0.0.1/sse?stream=full',
      '/sse?stream=full&token=', '/sse?stream=full&token=wrong', `/sse?stream=full&xtoken=${TOKEN}`,
      `/sse?stream=full&lastEventId=0&token=${TOKEN}x`,
    ];
    await expectRefused(paths.map((p) => [`SSE ${p}`, get(p, 'Accept: text/event-stream\r\n')]));
  });

  it('with protect_metrics, /metrics needs the token in every spelling; /health does not', async () => {
    const paths = ['/metrics', '//metrics', '/metrics/', '/%6Detrics', '/./metrics', '/x/../metrics', 'http://127.0.0.1/metrics',
      '/metrics?token=', '/metrics?token=wrong'];
    const cases = paths.map((p) => [`GET ${p}`, get(p)]);
    cases.push(['HEAD /metrics', get('/metrics', '', 'HEAD')]);
    cases.push(['GET /metrics + wrong Bearer', get('/metrics', 'Authorization: Bearer wrong\r\n')]);
    await expectRefused(cases);
    // protect_health is off: health stays open for load balancers.
    assert.strictEqual((await raw.requestHead(d.port, get('/health'))).status, 200);
    assert.strictEqual((await raw.requestHead(d.port, get('/health/deep'))).status, 200);
  });

  // /latest.json and /example.json hand out the newest records: with auth
  // on they take the streams' token (auth.protect_data, default true).
  it('/latest.json and /example.json need the token in every spelling; /health does not', async () => {
    const paths = ['/latest.json', '/example.json', '//latest.json', '/latest.json/', '/%6Catest.json',
      '/./example.json', '/x/../example.json', 'http://127.0.0.1/latest.json', '/latest.json?token=',
      '/latest.json?token=wrong', `/example.json?xtoken=${TOKEN}`];
    const cases = paths.map((p) => [`GET ${p}`, get(p)]);
    cases.push(['HEAD /latest.json', get('/latest.json', '', 'HEAD')]);
    cases.push(['GET /example.json + wrong Bearer', get('/example.json', 'Authorization: Bearer wrong\r\n')]);
    await expectRefused(cases);
    for (const [name, bytes] of [
      ['latest, Bearer', get('/latest.json', `Authorization: Bearer ${TOKEN}\r\n`)],
      ['latest, ?token=', get(`/latest.json?token=${TOKEN2}`)],
      ['example, bare header', get('/example.json', `Authorization: ${TOKEN}\r\n`)],
    ]) {
      const r = await raw.requestHead(d.port, bytes);
      assert.strictEqual(r.status, 200, `${name}: ${r.statusLine || r.end}`);
      assert.doesNotThrow(() => JSON.parse(r.body.toString('utf8')), `${name}: not JSON`);
    }
    assert.strictEqual((await raw.requestHead(d.port, get('/health'))).status, 200);
  });

  it('a valid token is accepted from the header (Bearer or bare) and from ?token=', async () => {
    const ok = [
      ['Bearer header', upgrade('/full-stream', `Authorization: Bearer ${TOKEN}\r\n`), 101],
      ['bare header', upgrade('/full-stream', `Authorization: ${TOKEN}\r\n`), 101],
      ['second token', upgrade('/domains-only', `Authorization: Bearer ${TOKEN2}\r\n`), 101],
      ['?token=', upgrade(`/?token=${TOKEN}`), 101],
      ['?token= percent-encoded', upgrade(`/full-stream?token=${encodeURIComponent(TOKEN).replace('-', '%2D')}`), 101],
      ['SSE ?token=', get(`/sse?stream=full&token=${TOKEN}`), 200],
      ['SSE header', get('/sse?stream=domains', `Authorization: Bearer ${TOKEN}\r\n`), 200],
      ['metrics header', get('/metrics', `Authorization: Bearer ${TOKEN}\r\n`), 200],
      ['metrics ?token=', get(`/metrics?token=${TOKEN2}`), 200],
    ];
    const bad = [];
    for (const [name, bytes, want] of ok) {
      const r = await raw.requestHead(d.port, bytes);
      if (r.status !== want) bad.push(`${name}: ${r.statusLine || r.end}, want ${want}`);
      if (want === 200 && /sse/.test(name) && !/text\/event-stream/.test(r.headers['content-type'] || '')) {
        bad.push(`${name}: not an event stream`);
      }
    }
    assert.deepStrictEqual(bad, [], bad.join('\n'));
  });

  it('refused requests are counted in certstream_auth_failures_total', async () => {
    const metrics = async () => {
      const r = await raw.get(d.url(`/metrics?token=${TOKEN}`));
      const m = /^certstream_auth_failures_total (\d+)$/m.exec(r.body);
      return m ? Number(m[1]) : NaN;
    };
    const before = await metrics();
    for (let i = 0; i < 5; i++) await raw.requestHead(d.port, upgrade('//full-stream?token=nope'));
    assert.strictEqual(await metrics(), before + 5);
  });

  // Client-controlled bytes in every place a request can carry them.
  const MARK = '"\'<script>alert(1)</script>\\';
  const markPct = encodeURIComponent(MARK).replace(/'/g, '%27');
  const echoCases = [
    ['404 path, raw', get(`/nope"'<script>alert(1)</script>`)],
    ['404 path, encoded', get(`/nope${markPct}`)],
    ['404 path, CRLF + header injection', get('/nope%0d%0aSet-Cookie:%20pwned=1%0d%0a')],
    ['404 path, control bytes', get('/nope%01%1b[31m%7f%00')],
    ['404 path, invalid UTF-8', get('/nope%ff%fe%c3%28')],
    ['404 path, long', get(`/${'%3Cscript%3E'.repeat(200)}`)],
    ['400 request line with control bytes', `GET /nope\x01<script> HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['400 SSE stream name', get(`/sse?stream=${markPct}&token=${TOKEN}`)],
    ['400 SSE stream name, CRLF', get(`/sse?stream=lite%0d%0aSet-Cookie:%20pwned=1&token=${TOKEN}`)],
    ['SSE Last-Event-ID', get(`/sse?stream=lite&token=${TOKEN}`, `Last-Event-ID: ${MARK}\r\n`)],
    ['SSE lastEventId', get(`/sse?stream=lite&token=${TOKEN}&lastEventId=${markPct}`)],
    ['index with a query', get(`/?q=${markPct}`)],
    ['index with hostile headers', get('/', `Host: ${MARK}\r\nUser-Agent: ${MARK}\r\nReferer: ${MARK}\r\nOrigin: ${MARK}\r\nX-Forwarded-For: ${MARK}\r\n`)],
    ['obs-text header value', get('/nope', 'User-Agent: \xff\xfe<script>\r\n')],
    ['/health/deep with hostile headers', get('/health/deep', `Origin: ${MARK}\r\nUser-Agent: ${MARK}\r\n`)],
    ['/metrics with hostile headers', get(`/metrics?token=${TOKEN}&x=${markPct}`, `User-Agent: ${MARK}\r\n`)],
    ['/example.json', get(`/example.json?${markPct}`)],
    ['/latest.json', get(`/latest.json?${markPct}`)],
    ['426 /full-stream without upgrade', get(`/full-stream?${markPct}`, `Origin: ${MARK}\r\n`)],
    ['405 method', get(`/health?${markPct}`, '', 'DELETE')],
    ['405 unknown method', get('/health', '', 'X-SCRIPT')],
    ['unknown method on a 404', get(`/nope${markPct}`, '', 'PROPFIND')],
    ['WebSocket bad key', upgrade('/').replace(/Sec-WebSocket-Key: [^\r]+/, `Sec-WebSocket-Key: ${MARK}`)],
    ['WebSocket bad version', upgrade('/').replace('Sec-WebSocket-Version: 13', `Sec-WebSocket-Version: ${MARK}`)],
    ['WebSocket protocol and extensions', upgrade(`/?token=${TOKEN}`, `Sec-WebSocket-Protocol: ${MARK}\r\nSec-WebSocket-Extensions: ${MARK}\r\n`)],
    ['WebSocket on a 404 path', upgrade(`/nope${markPct}`, `Origin: ${MARK}\r\n`)],
    ['431 head', get('/', `X-Big: <script>${'a'.repeat(20000)}\r\n`)],
    ['505 version', `GET /<script> HTTP/1.9\r\nHost: x\r\n\r\n`],
  ];
  for (const [name, bytes] of echoCases) {
    it(`no echo of client bytes: ${name}`, async () => {
      const r = await raw.requestHead(d.port, bytes);
      assert.ok(r.status >= 100, `no answer (${r.end})`);
      // Headers: nothing injected, nothing echoed.
      assert.ok(!('set-cookie' in r.headers), `header injected: ${r.raw.toString('latin1')}`);
      const head = r.raw.subarray(0, r.headLen).toString('latin1');
      assert.doesNotMatch(head, /<script|alert\(1\)|pwned/i, `echoed in the head: ${head}`);
      assert.doesNotMatch(head, /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]/, `control or raw high bytes in the head: ${JSON.stringify(head)}`);
      if (r.status === 101) return;
      const ctype = r.headers['content-type'] || '';
      assert.ok(ctype, `status ${r.status} without Content-Type`);
      let body = r.body;
      if (/event-stream/.test(ctype)) {
        body = Buffer.alloc(0);     // records only: nothing the client sent
      }
      assert.ok(utf8Valid(body), `${r.status} body is not valid UTF-8`);
      const text = body.toString('utf8');
      assert.doesNotMatch(text, /<script>alert|alert\(1\)|pwned/i, `echoed in the ${r.status} body: ${text.slice(0, 300)}`);
      if (/json/.test(ctype)) {
        assert.doesNotThrow(() => JSON.parse(text), `${r.status} body is not valid JSON: ${text.slice(0, 300)}`);
      }
      if (r.status >= 400) {
        assert.match(ctype, /^application\/json/, `${r.status} answered as ${ctype}`);
        assert.strictEqual(typeof JSON.parse(text).error, 'string');
      }
    });
  }

  it('the index page sets a strict Content-Security-Policy and needs nothing it forbids', async () => {
    const r = await raw.requestHead(d.port, get('/'));
    assert.strictEqual(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/html/);
    const csp = r.headers['content-security-policy'];
    assert.ok(csp, 'no Content-Security-Policy');
    assert.ok(!/,/.test(csp), 'more than one policy');
    const dir = {};
    for (const part of csp.split(';')) {
      const [k, ...v] = part.trim().split(/\s+/);
      if (k) dir[k.toLowerCase()] = v;
    }
    const src = (k) => dir[k] || dir['default-src'];
    assert.deepStrictEqual(dir['default-src'], ["'none'"], `default-src ${dir['default-src']}`);
    for (const k of ['script-src', 'style-src', 'connect-src', 'img-src', 'object-src', 'frame-src', 'font-src', 'media-src']) {
      for (const v of src(k) || []) {
        assert.ok(["'self'", "'none'"].includes(v) || /^'(nonce|sha256)-/.test(v),
          `${k} allows ${v}: only 'self', 'none', nonces or hashes`);
      }
    }
    assert.ok(src('object-src').includes("'none'"), 'plugins allowed');
    assert.ok(dir['base-uri'] && ["'none'", "'self'"].includes(dir['base-uri'][0]), 'base-uri not restricted');
    assert.ok(dir['frame-ancestors'] && ["'none'", "'self'"].includes(dir['frame-ancestors'][0]), 'frame-ancestors not restricted (clickjacking)');
    assert.ok(dir['form-action'], 'form-action not restricted');
    assert.strictEqual(r.headers['x-content-type-options'], 'nosniff');
    // The page works under it: no inline script, handler or style, and
    // what it loads is served from the same origin.
    const html = r.body.toString('utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length > 0, 'no script: the page cannot show the stream');
    for (const s of scripts) {
      assert.match(s[1], /\bsrc="\/[^/"][^"]*"/, `script without a same-origin src: ${s[0]}`);
      assert.strictEqual(s[2].trim(), '', 'inline script body');
    }
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'inline event handler');
    assert.doesNotMatch(html, /\sstyle\s*=/i, 'inline style attribute');
    assert.doesNotMatch(html, /<style\b/i, 'inline style block');
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, 'resource from another origin');
    for (const m of html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="(\/[^"]*)"/gi)) {
      const sub = await raw.requestHead(d.port, get(m[1]));
      assert.strictEqual(sub.status, 200, `${m[1]}: ${sub.statusLine}`);
      assert.match(sub.headers['content-type'], /^(text\/(javascript|css)|image\/svg\+xml)/, `${m[1]} as ${sub.headers['content-type']}`);
      assert.strictEqual(sub.headers['x-content-type-options'], 'nosniff', `${m[1]} sniffable`);
    }
    // The script builds the page with textContent, never markup from the
    // stream (a certificate's names are attacker-controlled).
    for (const m of html.matchAll(/<script\b[^>]*\bsrc="(\/[^"]*)"/gi)) {
      const js = (await raw.requestHead(d.port, get(m[1]))).body.toString('utf8');
      assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, m[1]);
    }
    // HEAD gets the same policy.
    const h = await raw.requestHead(d.port, get('/', '', 'HEAD'));
    assert.strictEqual(h.headers['content-security-policy'], csp);
  });

  it('the client with a token received every record while all of the above happened', async () => {
    const deep = await raw.healthDeep(d);
    await c.waitFor(() => Number(good.events[good.events.length - 1].id) >= deep.ring.head - 1, 10000,
      `the good client reaching ring head ${deep.ring.head}`);
    assert.strictEqual(good.error, null);
    assert.ok(!good.ended, 'stream ended');
    const ids = good.events.map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) assert.strictEqual(ids[i], ids[i - 1] + 1, `ids jump from ${ids[i - 1]} to ${ids[i]}`);
    assert.deepStrictEqual(good.comments.filter((x) => /skipped/.test(x.text)), []);
    c.checkInOrder(feed, good.events.map((e) => JSON.parse(e.data)), 'client with a token');
    assert.strictEqual(deep.workers[0].alive, true);
  });

  it('the daemon stops cleanly afterwards, with no sanitizer report', async () => {
    good.close();
    good = null;
    const info = await d.stop('SIGTERM');
    const logs = d.logs();
    d = null;
    const m = /ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/.exec(logs);
    assert.strictEqual(m, null, `sanitizer report in the daemon's output:\n${logs.slice(m ? Math.max(0, m.index - 200) : 0, (m ? m.index : 0) + 3000)}`);
    assert.deepStrictEqual([info.code, info.signal], [0, null], `daemon exit ${JSON.stringify(info)}\n${logs.slice(-2000)}`);
  });
});

describe('security: auth.protect_data: false', () => {
  let d;

  before(async () => {
    d = await startDaemon({
      workers: 1,
      conf: c.confFor(feed.file, {
        rate: 50,
        extra: ['auth:', '  enabled: true', `  tokens: ["${TOKEN}"]`, '  protect_data: false', ''].join('\n'),
      }),
    });
  });
  after(async () => {
    if (d) await d.stop('SIGKILL');
  });

  it('leaves /latest.json and /example.json open, the streams still need the token', async () => {
    assert.strictEqual((await raw.requestHead(d.port, get('/latest.json'))).status, 200);
    assert.strictEqual((await raw.requestHead(d.port, get('/example.json'))).status, 200);
    assert.strictEqual((await raw.requestHead(d.port, get('/sse?stream=lite'))).status, 401);
    assert.strictEqual((await raw.requestHead(d.port, upgrade('/full-stream'))).status, 401);
  });
});
