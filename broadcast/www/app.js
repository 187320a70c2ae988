'use strict';
// The index page's logic: one WebSocket to the lite stream (the filter and
// the token from the URL fragment, resumed with ?since= after any drop),
// the feed table rendered once per animation frame, a certificate's detail
// (its full form fetched by id from /full-stream), and the health view
// (/health/deep every two seconds, the rate chart). Everything from the
// stream is put in the page with textContent: a certificate's names are
// written by whoever asked for it.
(function () {
  var FILTERS = ['domain', 'keyword', 'regex', 'issuer', 'log', 'operator', 'type'];
  var MAX_ROWS = 100;          // rows kept in the table
  var MAX_NEW = 50;            // rows added by one update (more: the newest)
  var HEALTH_MS = 2000;
  var RENDER_MS = 200;
  var BACKOFF_MIN_MS = 500, BACKOFF_MAX_MS = 15000;

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    conn: $('conn'), rate: $('rate'), ingestRate: $('ingest-rate'), count: $('count'),
    gaps: $('gaps'), pause: $('pause'), pausedNote: $('paused-note'), pending: $('pending'),
    form: $('filter'), clear: $('clear'), filterError: $('filter-error'),
    wsUrl: $('ws-url'), curl: $('curl-cmd'), share: $('share'),
    rows: $('rows'), detail: $('detail'), detailClose: $('detail-close'),
    fields: $('detail-fields'), sans: $('detail-sans'), ext: $('detail-ext'),
    chain: $('detail-chain'), chainNote: $('detail-chain-note'), der: $('detail-der'),
    healthStatus: $('health-status'), chart: $('chart'), legend: $('legend'),
    groupBy: $('group-by'), logRows: $('log-rows'), logsNote: $('logs-note'),
  };

  // ---- state in the URL fragment: filters, token, chart grouping ----

  var state = readFragment();

  function readFragment() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ''));
    var s = { filter: {}, token: p.get('token') || '', group: p.get('group') === 'log' ? 'log' : 'operator' };
    FILTERS.forEach(function (k) { var v = p.get(k); if (v) s.filter[k] = v; });
    return s;
  }

  function fragmentOf(s, withToken) {
    var p = new URLSearchParams();
    FILTERS.forEach(function (k) { if (s.filter[k]) p.set(k, s.filter[k]); });
    if (s.group !== 'operator') p.set('group', s.group);
    if (withToken && s.token) p.set('token', s.token);
    return p.toString();
  }

  // The filter as the server takes it, in a fixed order.
  function filterQuery(f) {
    var p = new URLSearchParams();
    FILTERS.forEach(function (k) { if (f[k]) p.set(k, f[k]); });
    return p;
  }

  function origin(scheme) {
    var tls = location.protocol === 'https:';
    return (scheme === 'ws' ? (tls ? 'wss://' : 'ws://') : (tls ? 'https://' : 'http://')) + location.host;
  }

  function withQuery(path, p) {
    var q = p.toString();
    return path + (q ? '?' + q : '');
  }

  // What a client should use for this view (token included when set: it
  // is what the server will ask for).
  function showUrls() {
    var p = filterQuery(state.filter);
    if (state.token) p.set('token', state.token);
    el.wsUrl.textContent = withQuery(origin('ws') + '/', p);
    el.curl.textContent = 'curl -N "' + withQuery(origin('http') + '/sse', p) + '"';
    var frag = fragmentOf(state, false);
    el.share.href = location.pathname + (frag ? '#' + frag : '');
  }

  function fillForm() {
    FILTERS.forEach(function (k) { el.form.elements[k].value = state.filter[k] || ''; });
    el.form.elements.token.value = state.token;
    el.groupBy.value = state.group;
  }

  function applyState(s) {
    var before = JSON.stringify([state.filter, state.token]);
    state = s;
    var frag = fragmentOf(state, true);
    if (location.hash.replace(/^#/, '') !== frag)
      history.replaceState(null, '', location.pathname + location.search + (frag ? '#' + frag : ''));
    fillForm();
    showUrls();
    if (JSON.stringify([state.filter, state.token]) !== before) restartFeed();
  }

  el.form.addEventListener('submit', function (e) {
    e.preventDefault();
    var s = { filter: {}, token: el.form.elements.token.value.trim(), group: state.group };
    FILTERS.forEach(function (k) { var v = el.form.elements[k].value.trim(); if (v) s.filter[k] = v; });
    applyState(s);
  });
  el.clear.addEventListener('click', function () {
    applyState({ filter: {}, token: state.token, group: state.group });
  });
  el.groupBy.addEventListener('change', function () {
    applyState({ filter: state.filter, token: state.token, group: el.groupBy.value });
    chart.clear();
  });
  window.addEventListener('hashchange', function () { applyState(readFragment()); });

  // ---- the stream ----

  var ws = null, lastId = null, attempt = 0, retryTimer = null, opened = false;
  var received = 0, gapsSeen = 0, gapsSkipped = 0;
  var arrivals = [];           // arrival times (ms) of the last 5 s
  var feedStart = Date.now();  // when this filter's feed started

  function setConn(st, text) {
    el.conn.dataset.state = st;
    el.conn.textContent = text;
  }

  function streamUrl() {
    var p = filterQuery(state.filter);
    if (lastId !== null) p.set('since', String(lastId));
    p.set('gaps', '1');
    if (state.token) p.set('token', state.token);
    return withQuery(origin('ws') + '/', p);
  }

  function restartFeed() {
    lastId = null;           // a new filter starts live
    received = 0;
    arrivals.length = 0;
    feedStart = Date.now();
    gapsSeen = gapsSkipped = 0;
    queue.length = 0;
    clearRows();
    chart.clear();
    el.gaps.hidden = true;
    attempt = 0;
    connect();
  }

  function connect() {
    clearTimeout(retryTimer);
    if (ws) { ws.onclose = ws.onerror = ws.onmessage = null; ws.close(); }
    el.filterError.hidden = true;
    opened = false;
    setConn('connecting', lastId === null ? 'connecting' : 'reconnecting, resuming after ' + lastId);
    var sock = ws = new WebSocket(streamUrl());
    sock.onopen = function () {
      opened = true;
      attempt = 0;
      setConn('live', 'live');
    };
    sock.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (x) { return; }
      if (m.message_type === 'certificate_update') onCert(m);
      else if (m.message_type === 'gap') onGap(m);
    };
    sock.onclose = function () {
      if (sock !== ws) return;
      if (!opened) explainRefusal();
      scheduleRetry();
    };
  }

  function scheduleRetry() {
    // Exponential back-off with jitter, so a restarted server is not met
    // by every page at the same instant.
    var ms = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt));
    ms = Math.round(ms * (0.75 + Math.random() * 0.5));
    attempt++;
    var until = Date.now() + ms;
    var tick = function () {
      var left = Math.max(0, until - Date.now());
      setConn('down', 'disconnected: retrying in ' + Math.ceil(left / 1000) + ' s' +
        (lastId !== null ? ', will resume after ' + lastId : ''));
      retryTimer = left > 0 ? setTimeout(tick, Math.min(left, 1000)) : setTimeout(connect, 0);
    };
    tick();
  }

  // A WebSocket refused at the upgrade says nothing to the page: ask the
  // same question over plain HTTP (/latest.json takes the stream's filters
  // and token) to show the server's reason (bad filter, missing token).
  function explainRefusal() {
    var p = filterQuery(state.filter);
    if (state.token) p.set('token', state.token);
    fetch(withQuery('/latest.json', p), { cache: 'no-store' }).then(function (r) {
      if (r.status !== 400 && r.status !== 401) return null;
      return r.json().then(function (j) {
        el.filterError.textContent = (r.status === 401 ? 'The server wants a token: ' : 'The server refused the filter: ') +
          (j && j.error ? j.error : 'HTTP ' + r.status);
        el.filterError.hidden = false;
        // A refused filter will be refused again: wait for a new one.
        if (r.status === 400) {
          clearTimeout(retryTimer);
          setConn('down', 'stopped: change the filter and Apply');
        }
      });
    }).catch(function () { /* the server is down: the back-off says so */ });
  }

  function onGap(m) {
    gapsSeen++;
    gapsSkipped += Number(m.skipped) || 0;
    el.gaps.hidden = false;
    // skipped 0: a resume across a clean restart, whose losses (if any)
    // the new run cannot count
    el.gaps.textContent = (gapsSkipped > 0 ? gapsSkipped + ' missed' : 'some may be missed') +
      ' (' + gapsSeen + ' gap' + (gapsSeen > 1 ? 's' : '') + ')';
    el.gaps.title = 'ids ' + m.from_id + ' to ' + m.to_id + ' were not delivered';
  }

  function onCert(m) {
    if (typeof m.id === 'number') {
      if (lastId !== null && m.id <= lastId) return;   // already shown
      lastId = m.id;
    }
    received++;
    var now = Date.now();
    arrivals.push(now);
    var d = m.data || {}, src = d.source || {};
    chart.add(groupOf(src), now / 1000);
    if (paused) pendingN++;
    queue.push(m);
    if (queue.length > MAX_NEW) notShown += queue.splice(0, queue.length - MAX_NEW).length;
    scheduleRender();
  }

  function groupOf(src) {
    if (state.group === 'log') return src.name || src.url || 'unknown log';
    return src.operator || src.name || 'unknown operator';
  }

  // ---- the feed table, rendered once per frame ----

  var queue = [];              // received, not yet in the table
  var paused = false, frame = 0, pendingN = 0, notShown = 0;
  var byId = new Map();        // id -> message, for rows in the table

  // At most one table update per animation frame, and at most five a
  // second: each update lays the table out again. Past 250 certificates a
  // second the table shows the newest 50 of each update (a sample no one
  // could read in full anyway); every one is still counted and charted,
  // and resumes start after the newest.
  var lastRender = 0;

  function scheduleRender() {
    if (!frame && !paused) frame = requestAnimationFrame(render);
    if (paused) el.pending.textContent = String(pendingN);
  }

  function render(t) {
    frame = 0;
    if (t - lastRender < RENDER_MS) { frame = requestAnimationFrame(render); return; }
    lastRender = t;
    el.count.textContent = String(received);
    if (paused || queue.length === 0) return;
    var frag = document.createDocumentFragment();
    var now = Date.now() / 1000;
    for (var i = queue.length - 1; i >= 0; i--) frag.appendChild(rowFor(queue[i], now));
    queue.length = 0;
    if (notShown > 0) {
      // the table says where it skipped: older rows are below
      var tr = document.createElement('tr'), td = cell(tr, '… ' + notShown + ' more received, not shown', 'skip');
      tr.className = 'skip';
      td.colSpan = 5;
      frag.appendChild(tr);
      notShown = 0;
    }
    el.rows.insertBefore(frag, el.rows.firstChild);
    while (el.rows.rows.length > MAX_ROWS) {
      var last = el.rows.lastChild;
      byId.delete(Number(last.dataset.id));
      el.rows.removeChild(last);
    }
  }

  function clearRows() {
    empty(el.rows);
    byId.clear();
    pendingN = notShown = 0;
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function issuerName(is) {
    if (!is) return '';
    return is.O && is.CN && is.O !== is.CN ? is.O + ' · ' + is.CN : (is.O || is.CN || is.aggregated || '');
  }

  function rowFor(m, now) {
    var d = m.data, lc = d.leaf_cert || {}, src = d.source || {};
    var tr = document.createElement('tr');
    tr.dataset.id = String(m.id);
    tr.dataset.seen = String(d.seen);
    cell(tr, age(now - d.seen), 'age');
    // A row is one tab stop (Enter or Space opens it), not a button per
    // row: form controls cost far more to lay out, hundreds a second.
    tr.tabIndex = 0;
    var doms = lc.all_domains || [];
    var td = cell(tr, doms.length ? doms.slice(0, 3).join(' ') + (doms.length > 3 ? ' +' + (doms.length - 3) : '') :
      (lc.subject && lc.subject.aggregated) || '(no name)', 'dom');
    td.title = doms.join('\n');
    cell(tr, issuerName(lc.issuer));
    cell(tr, src.name || src.url || '');
    var precert = d.update_type === 'PrecertLogEntry';
    cell(tr, precert ? 'precert' : 'cert', precert ? 'type precert' : 'type cert');
    byId.set(m.id, m);
    return tr;
  }

  function openRow(e) {
    var tr = e.target.closest('tr');
    if (tr && byId.has(Number(tr.dataset.id))) showDetail(byId.get(Number(tr.dataset.id)));
  }
  el.rows.addEventListener('click', openRow);
  el.rows.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    openRow(e);
  });

  function age(s) {
    if (!(s >= 0)) s = 0;
    if (s < 60) return Math.floor(s) + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    if (s < 86400) return Math.floor(s / 3600) + ' h';
    return Math.floor(s / 86400) + ' d';
  }

  el.pause.addEventListener('click', function () {
    paused = !paused;
    el.pause.textContent = paused ? 'Resume' : 'Pause';
    el.pause.setAttribute('aria-pressed', String(paused));
    el.pausedNote.hidden = !paused;
    pendingN = 0;
    el.pending.textContent = '0';
    if (!paused) scheduleRender();
  });

  // ---- the detail panel ----

  var detailId = null;

  function def(dl, k, v) {
    if (v === null || v === undefined || v === '') return;
    var dt = document.createElement('dt'), dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = v;
    dl.appendChild(dt);
    dl.appendChild(dd);
    return dd;
  }

  function when(t) {
    return typeof t === 'number' ? new Date(t * 1000).toISOString().replace('.000Z', 'Z') : '';
  }

  function empty(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function showDetail(m) {
    var d = m.data, lc = d.leaf_cert || {}, src = d.source || {};
    detailId = m.id;
    empty(el.fields); empty(el.sans); empty(el.ext); empty(el.chain);
    def(el.fields, 'Subject', lc.subject && lc.subject.aggregated);
    def(el.fields, 'Issuer', lc.issuer && lc.issuer.aggregated);
    def(el.fields, 'Not before', when(lc.not_before));
    def(el.fields, 'Not after', when(lc.not_after));
    def(el.fields, 'Type', d.update_type === 'PrecertLogEntry' ? 'precertificate' : 'certificate');
    def(el.fields, 'Serial', lc.serial_number);
    def(el.fields, 'SHA-256', lc.sha256);
    def(el.fields, 'SHA-1', lc.sha1);
    def(el.fields, 'TBS SHA-256', lc.tbs_sha256);
    def(el.fields, 'Signature', lc.signature_algorithm);
    def(el.fields, 'CA', lc.is_ca ? 'yes' : 'no');
    def(el.fields, 'Log', (src.name || '') + (src.operator ? ' (' + src.operator + ')' : ''));
    def(el.fields, 'Log URL', src.url);
    def(el.fields, 'Entry', d.cert_index !== undefined ? String(d.cert_index) : '');
    def(el.fields, 'Logged', when(d.submission_timestamp));
    def(el.fields, 'Seen', when(d.seen));
    def(el.fields, 'Record id', String(m.id));
    (lc.all_domains || []).forEach(function (n) {
      var li = document.createElement('li');
      li.textContent = n;
      el.sans.appendChild(li);
    });
    var ext = lc.extensions || {};
    Object.keys(ext).forEach(function (k) {
      def(el.ext, k, ext[k] === true ? 'true' : String(ext[k]));
    });
    el.der.hidden = true;
    if (el.der.href) URL.revokeObjectURL(el.der.href);
    el.der.removeAttribute('href');
    el.chainNote.textContent = 'fetching the full form (chain, DER) from /full-stream…';
    el.detail.hidden = false;
    el.detail.scrollTop = 0;
    fetchFull(m.id);
  }

  // The full form of record id: a /full-stream client resumed just before
  // it gets it first, while the server's ring still holds it.
  function fetchFull(id) {
    var p = new URLSearchParams();
    p.set('since', String(id - 1));
    if (state.token) p.set('token', state.token);
    var sock = new WebSocket(withQuery(origin('ws') + '/full-stream', p));
    var done = false;
    var finish = function (note) {
      if (done) return;
      done = true;
      sock.onmessage = sock.onclose = null;
      sock.close();
      if (detailId === id && note) el.chainNote.textContent = note;
    };
    var timer = setTimeout(function () { finish('the full form did not come within 5 s'); }, 5000);
    sock.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (x) { return; }
      if (m.message_type !== 'certificate_update') return;
      clearTimeout(timer);
      if (m.id !== id) { finish('the server no longer holds this record (its ring moved on): no chain or DER'); return; }
      finish(null);
      if (detailId === id) showFull(m);
    };
    sock.onclose = function () { clearTimeout(timer); finish('the full form could not be fetched'); };
  }

  function showFull(m) {
    var d = m.data, lc = d.leaf_cert || {}, chain = d.chain || [];
    el.chainNote.textContent = chain.length ? '' : 'the log gave no chain';
    chain.forEach(function (c) {
      var li = document.createElement('li');
      li.textContent = (c.subject && c.subject.aggregated) || '?';
      var small = document.createElement('small');
      small.textContent = ' issued by ' + ((c.issuer && c.issuer.aggregated) || '?') +
        ', valid to ' + when(c.not_after) + ', SHA-256 ' + (c.sha256 || '');
      li.appendChild(small);
      el.chain.appendChild(li);
    });
    if (lc.as_der) {
      var bin = atob(lc.as_der), bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      el.der.href = URL.createObjectURL(new Blob([bytes], { type: 'application/pkix-cert' }));
      el.der.download = (lc.sha256 || 'certificate').replace(/:/g, '').toLowerCase() + '.der';
      el.der.textContent = 'Download DER (' + bytes.length + ' bytes)';
      el.der.hidden = false;
    }
  }

  el.detailClose.addEventListener('click', function () {
    el.detail.hidden = true;
    detailId = null;
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !el.detail.hidden) el.detailClose.click();
  });

  // ---- health: /health/deep, the chart, the log table ----

  var chart = new window.RateChart(el.chart, 300);

  function pollHealth() {
    var p = new URLSearchParams();
    if (state.token) p.set('token', state.token);
    fetch(withQuery('/health/deep', p), { cache: 'no-store' }).then(function (r) {
      return r.json();   // 503 (unhealthy) is JSON too
    }).then(function (h) {
      el.healthStatus.textContent = h.status + ', up ' + age(h.uptime_secs) +
        ', ' + (h.connections ? h.connections.total : 0) + ' clients';
      el.healthStatus.dataset.state = h.status;
      var ir = h.ingest ? h.ingest.certificates_per_second : null;
      el.ingestRate.textContent = typeof ir === 'number' ? ir.toFixed(1) : '–';
      if (typeof ir === 'number') chart.setLine(Date.now() / 1000, ir);
      drawLogs(h.logs || []);
    }).catch(function () {
      el.healthStatus.textContent = 'unreachable';
      el.healthStatus.dataset.state = 'unhealthy';
    });
  }

  function drawLogs(logs) {
    var frag = document.createDocumentFragment(), now = Date.now() / 1000;
    logs.forEach(function (l) {
      var tr = document.createElement('tr');
      var name = cell(tr, l.name || l.url);
      name.title = l.url || '';
      cell(tr, l.state, 'state ' + l.state);
      cell(tr, num(l.tree_size), 'n');
      cell(tr, num(l.lag_entries), 'n');
      var dl = l.ingest_delay_ms || {};
      cell(tr, dl.count ? ms(dl.p50) + ' / ' + ms(dl.p99) : '–', 'n');
      cell(tr, l.last_success ? age(now - l.last_success) + ' ago' : 'never');
      cell(tr, num(l.errors), 'n');
      cell(tr, l.last_error || '', 'err');
      frag.appendChild(tr);
    });
    empty(el.logRows);
    el.logRows.appendChild(frag);
    el.logsNote.textContent = logs.length ? '' :
      'No CT log is watched (the replay source, or an empty log list).';
  }

  function num(v) { return typeof v === 'number' ? v.toLocaleString('en-US') : '–'; }
  function ms(v) {
    if (typeof v !== 'number') return '–';
    if (v < 1000) return v + ' ms';
    if (v < 120000) return (v / 1000).toFixed(1) + ' s';
    if (v < 7200000) return Math.round(v / 60000) + ' min';
    return v < 172800000 ? Math.round(v / 3600000) + ' h' : Math.round(v / 86400000) + ' d';
  }

  function drawLegend(sr) {
    var frag = document.createDocumentFragment();
    sr.groups.forEach(function (g, i) {
      var li = document.createElement('li'), sw = document.createElement('span');
      sw.className = 'swatch c' + sr.colourIndex(i);
      li.appendChild(sw);
      li.appendChild(document.createTextNode(g + ' ' + sr.recent[i].toFixed(1) + '/s'));
      frag.appendChild(li);
    });
    var li = document.createElement('li'), sw = document.createElement('span');
    sw.className = 'swatch line';
    li.appendChild(sw);
    li.appendChild(document.createTextNode('ingested (all logs, before any filter)'));
    frag.appendChild(li);
    empty(el.legend);
    el.legend.appendChild(frag);
  }

  // Once a second: the rate, the ages, the chart.
  function tick() {
    var now = Date.now();
    var k = 0;
    while (k < arrivals.length && arrivals[k] < now - 5000) k++;
    arrivals.splice(0, k);   // one splice: thousands a second arrive
    // over the last 5 s, or since the feed started if that is shorter
    var span = Math.min(5, Math.max(1, (now - feedStart) / 1000));
    el.rate.textContent = (arrivals.length / span).toFixed(1);
    el.count.textContent = String(received);
    var rows = el.rows.rows;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].dataset.seen) rows[i].cells[0].textContent = age(now / 1000 - Number(rows[i].dataset.seen));
    }
    drawLegend(chart.draw(now / 1000));
  }

  fillForm();
  showUrls();
  connect();
  pollHealth();
  setInterval(pollHealth, HEALTH_MS);
  setInterval(tick, 1000);
  tick();
})();
