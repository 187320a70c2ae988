'use strict';
// A stacked area chart of certificates a second, drawn on a <canvas>: one
// area per group (operator or log), one-second buckets over a sliding
// window, and a dashed line for a second series (what the daemon ingests).
// Small enough to own: no chart library, nothing to fetch or vet.
(function () {
  // Colour-blind-friendly (Okabe-Ito), then grey for "other"; app.css
  // gives the legend's .c0 to .c7 the same colours.
  var PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9',
    '#d55e00', '#f0e442', '#999999'];
  var MAX_GROUPS = PALETTE.length - 1;

  function RateChart(canvas, seconds) {
    this.canvas = canvas;
    this.seconds = seconds;
    this.buckets = new Map();   // whole second -> Map(group -> count)
    this.line = new Map();      // whole second -> value
  }

  // One certificate of group seen at t (Unix seconds).
  RateChart.prototype.add = function (group, t) {
    var s = Math.floor(t), b = this.buckets.get(s);
    if (!b) { b = new Map(); this.buckets.set(s, b); }
    b.set(group, (b.get(group) || 0) + 1);
  };

  RateChart.prototype.setLine = function (t, v) {
    this.line.set(Math.floor(t), v);
  };

  RateChart.prototype.clear = function () {
    this.buckets.clear();
  };

  // The window's complete seconds: [from, to]; groups by total, the
  // smallest folded into "other"; rows[i][g] = count of group g in second
  // from + i.
  RateChart.prototype.series = function (now) {
    var to = Math.floor(now) - 1, from = to - this.seconds + 1;
    var totals = new Map(), rows = [], self = this;
    this.buckets.forEach(function (b, s) {
      if (s < from - 1) { self.buckets.delete(s); return; }
      if (s > to) return;
      b.forEach(function (n, g) { totals.set(g, (totals.get(g) || 0) + n); });
    });
    this.line.forEach(function (v, s) { if (s < from - 1) self.line.delete(s); });
    var groups = Array.from(totals.keys()).sort(function (a, b) {
      return totals.get(b) - totals.get(a) || (a < b ? -1 : 1);
    });
    var other = groups.length > MAX_GROUPS;
    var shown = other ? groups.slice(0, MAX_GROUPS - 1) : groups;
    var index = new Map(shown.map(function (g, i) { return [g, i]; }));
    var ng = shown.length + (other ? 1 : 0);
    for (var s = from; s <= to; s++) {
      var row = new Array(ng).fill(0), b = this.buckets.get(s);
      if (b) b.forEach(function (n, g) {
        var i = index.has(g) ? index.get(g) : ng - 1;
        row[i] += n;
      });
      rows.push(row);
    }
    var names = shown.slice();
    if (other) names.push('other');
    return { from: from, to: to, groups: names, rows: rows,
      colourIndex: function (i) { return other && i === ng - 1 ? MAX_GROUPS : i; },
      colour: function (i) { return PALETTE[this.colourIndex(i)]; },
      // each group's rate over the last 10 s
      recent: names.map(function (g, i) {
        return rows.slice(-10).reduce(function (a, r) { return a + r[i]; }, 0) / Math.min(10, rows.length || 1);
      }) };
  };

  function niceMax(v) {
    if (v <= 1) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v))), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  // Draw the window ending now; returns the series drawn (for a legend).
  RateChart.prototype.draw = function (now) {
    var c = this.canvas, ctx = c.getContext('2d');
    var dpr = window.devicePixelRatio || 1;
    var w = c.clientWidth || 600, h = c.clientHeight || 200;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    var sr = this.series(now), n = sr.rows.length, top = 0, i, g, s;
    var lineAt = [];
    for (i = 0; i < n; i++) {
      top = Math.max(top, sr.rows[i].reduce(function (a, x) { return a + x; }, 0));
      var lv = this.line.get(sr.from + i);
      lineAt.push(lv === undefined ? null : lv);
      if (lv !== undefined) top = Math.max(top, lv);
    }
    var ymax = niceMax(top);
    var left = 44, right = 8, up = 8, bottom = 20;
    var pw = Math.max(10, w - left - right), ph = Math.max(10, h - up - bottom);
    var x = function (k) { return left + (n <= 1 ? 0 : k * pw / (n - 1)); };
    var y = function (v) { return up + ph - v * ph / ymax; };

    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#555';
    ctx.strokeStyle = '#ddd';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (i = 0; i <= 4; i++) {
      var v = ymax * i / 4, yy = Math.round(y(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(left, yy); ctx.lineTo(left + pw, yy); ctx.stroke();
      ctx.fillText(String(Math.round(v * 100) / 100), left - 4, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (s = 0; s <= this.seconds; s += 60) {
      var k = n - 1 - s;
      if (k < 0) break;
      ctx.fillText(s === 0 ? 'now' : '−' + s / 60 + ' min', x(k), up + ph + 4);
    }
    // Areas, bottom group first: each between its base and base + count.
    var base = new Array(n).fill(0);
    for (g = 0; g < sr.groups.length; g++) {
      ctx.beginPath();
      for (i = 0; i < n; i++) ctx.lineTo(x(i), y(base[i] + sr.rows[i][g]));
      for (i = n - 1; i >= 0; i--) ctx.lineTo(x(i), y(base[i]));
      ctx.closePath();
      ctx.fillStyle = sr.colour(g);
      ctx.globalAlpha = 0.85;
      ctx.fill();
      ctx.globalAlpha = 1;
      for (i = 0; i < n; i++) base[i] += sr.rows[i][g];
    }
    // The ingest line, where known.
    ctx.strokeStyle = '#222';
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    var pen = false;
    for (i = 0; i < n; i++) {
      if (lineAt[i] === null) continue;
      if (pen) ctx.lineTo(x(i), y(lineAt[i])); else ctx.moveTo(x(i), y(lineAt[i]));
      pen = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
    return sr;
  };

  window.RateChart = RateChart;
})();
