/* tocsin console: keyboard, dashboards (uPlot, SVG gauges, HTML bars), explore. No framework, no CDN. */
(function () {
  "use strict";
  var $ = function (s, root) { return (root || document).querySelector(s); };
  var $$ = function (s, root) { return Array.prototype.slice.call((root || document).querySelectorAll(s)); };
  var PALETTE = ["#3b7dd8", "#e8743b", "#19a979", "#945ecf", "#ed4a7b", "#13a4b4", "#bf9c00", "#6c8893", "#d4526e", "#5899da"];
  var COLOURS = { warning: "#d29b00", critical: "#d32f2f" };

  // ---- units: the same table as tocsin.views.units (the tests compare both) ----
  function num(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return strip(v.toFixed(1));
    if (a >= 0.01) return strip(v.toFixed(2));
    return String(Number(v.toPrecision(2)));
  }
  function strip(s) { return s.indexOf(".") < 0 ? s : s.replace(/0+$/, "").replace(/\.$/, ""); }
  var SI = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  var IEC = [[Math.pow(2, 50), "PiB"], [Math.pow(2, 40), "TiB"], [Math.pow(2, 30), "GiB"], [Math.pow(2, 20), "MiB"], [1024, "KiB"]];
  function short(v) { for (var i = 0; i < SI.length; i++) if (Math.abs(v) >= SI[i][0]) return num(v / SI[i][0]) + SI[i][1]; return num(v); }
  function dur(v) {
    var a = Math.abs(v);
    if (a === 0) return "0s";
    if (a < 1e-6) return num(v * 1e9) + " ns";
    if (a < 1e-3) return num(v * 1e6) + " µs";
    if (a < 1) return num(v * 1e3) + " ms";
    if (a < 60) return num(v) + " s";
    if (a < 3600) return num(v / 60) + " min";
    if (a < 86400) return num(v / 3600) + " h";
    return num(v / 86400) + " d";
  }
  function bytes(v, table, unit) { for (var i = 0; i < table.length; i++) if (Math.abs(v) >= table[i][0]) return num(v / table[i][0]) + " " + table[i][1]; return num(v) + " " + unit; }
  var SUFFIX = { reqps: " req/s", rps: " req/s", ops: " ops/s", cps: " c/s", wps: " wr/s", rpm: " rpm" };
  var SCALE = { ms: 1e-3, us: 1e-6, ns: 1e-9, m: 60, h: 3600, d: 86400 };
  function fmt(v, unit) {
    if (v === null || v === undefined || Number.isNaN(v)) return "no data";
    if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞";
    if (unit === "s" || unit in SCALE) return dur(v * (SCALE[unit] || 1));
    if (unit === "percent") return num(v) + "%";
    if (unit === "percentunit") return num(v * 100) + "%";
    if (unit === "bytes") return bytes(v, IEC, "B");
    if (unit === "decbytes") return bytes(v, SI.map(function (x) { return [x[0], x[1] + "B"]; }), "B");
    if (unit === "bits" || unit === "bps" || unit === "Bps") {
      var base = unit === "bits" ? "b" : unit === "bps" ? "b/s" : "B/s";
      return Math.abs(v) < 1000 ? short(v) + " " + base : short(v) + base;
    }
    if (unit in SUFFIX) return short(v) + SUFFIX[unit];
    if (unit === "currencyUSD") return "$" + short(v);
    if (unit === "currencyEUR") return short(v) + " €";
    if (unit === "celsius") return num(v) + " °C";
    if (unit === "dateTimeAsIso") return new Date(v * 1000).toISOString().replace("T", " ").slice(0, 19);
    if (unit === "none") return num(v);
    return short(v);
  }
  window.tocsinFormat = fmt;
  $$(".num[data-unit]").forEach(function (el) { el.textContent = fmt(Number(el.textContent), el.dataset.unit); });

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  var STATUS_TEXT = { ok: "✓ OK", warning: "◆ WARNING", critical: "▲ CRITICAL", nodata: "– NO DATA" };

  // ---- keyboard ----
  var help = $(".help-toggle"), keys = $("#keys");
  function toggleHelp() { keys.hidden = !keys.hidden; help.setAttribute("aria-expanded", String(!keys.hidden)); }
  if (help) help.addEventListener("click", toggleHelp);
  var items = function () { return $$(".panel[tabindex], tr.alert-row, tr.silence, tr.target, tr.rule"); };
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
      if (ev.key === "Escape") t.blur();
      return;
    }
    if (ev.key === "?") { toggleHelp(); return; }
    if (ev.key === "/") { var s = $("[data-search], input[name=from]"); if (s) { ev.preventDefault(); s.focus(); } return; }
    if (ev.key === "j" || ev.key === "k") {
      var list = items(); if (!list.length) return;
      var i = list.indexOf(document.activeElement);
      i = ev.key === "j" ? Math.min(i + 1, list.length - 1) : Math.max(i - 1, 0);
      if (!list[i].hasAttribute("tabindex")) list[i].setAttribute("tabindex", "-1");
      list[i].focus(); list[i].scrollIntoView({ block: "nearest" }); return;
    }
    if ((ev.key === "[" || ev.key === "]") && dash) { shiftRange(ev.key === "]" ? 1 : -1); return; }
    if (ev.key === "R" && dash) { load(); return; }
    var link = $("nav a[data-key='" + ev.key + "']");
    if (link) { location.href = link.href; }
  });

  // ---- "/" : Alertmanager's links (#/alerts, #/silences/new?filter=...) open the console's pages ----
  if ($("#index-redirect")) {
    var h = location.hash.replace(/^#/, "");
    var target = "/dashboards";
    if (h.indexOf("/silences/new") === 0) target = "/silences/new" + (h.split("?")[1] ? "?" + h.split("?")[1] : "");
    else if (h.indexOf("/silences") === 0) target = "/silences";
    else if (h.indexOf("/alerts") === 0) target = "/alerts";
    location.replace(target);
  }

  // ---- charts ----
  function thresholdHook(panel) {
    var lines = panel.thresholds;
    return function (u) {
      if (!lines) return;
      var ctx = u.ctx;
      ["warning", "critical"].forEach(function (level) {
        var v = lines[level];
        if (v === null || v === undefined) return;
        var y = u.valToPos(v, "y", true);
        if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
        ctx.save();
        ctx.strokeStyle = COLOURS[level]; ctx.lineWidth = 2 * devicePixelRatio;
        ctx.setLineDash(level === "warning" ? [8, 6] : []);
        ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
        ctx.fillStyle = COLOURS[level]; ctx.font = (11 * devicePixelRatio) + "px sans-serif";
        ctx.textAlign = "right";  // at the right end: the axis labels are on the left
        ctx.fillText(level + " " + fmt(v, panel.unit), u.bbox.left + u.bbox.width - 4, y - 4 * devicePixelRatio);
        ctx.restore();
      });
    };
  }

  function timeseries(body, panel, data, width, onZoom) {
    if (!data.series.length) { body.appendChild(el("p", { class: "loading" }, "no data in this range")); return false; }
    var lines = panel.thresholds || {};
    var lo = panel.min, hi = panel.max;
    // the legend shows the hovered sample, else each series' latest one (as Grafana's "last" does)
    var latest = data.series.map(function (s) { for (var k = s.values.length - 1; k >= 0; k--) if (s.values[k] !== null) return s.values[k]; return null; });
    var legendValue = function (u, v, si, idx) {
      if (idx === null || idx === undefined) v = latest[si - 1];
      return v === null || v === undefined ? "–" : fmt(v, panel.unit);
    };
    var series = [{}].concat(data.series.map(function (s, i) {
      var samples = s.values.filter(function (v) { return v !== null; }).length;
      return { label: s.name, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
        points: { show: samples < width / 8, size: 5 }, value: legendValue };
    }));
    var opts = {
      width: width, height: 190, series: series, legend: { show: data.series.length <= 12 },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true }, y: { range: function (u, min, max) {
        var ts = [lines.warning, lines.critical].filter(function (x) { return x !== null && x !== undefined; });
        min = Math.min.apply(null, [min].concat(ts)); max = Math.max.apply(null, [max].concat(ts));
        if (lo !== null && lo !== undefined) min = lo;
        if (hi !== null && hi !== undefined) max = hi;
        if (min === max) { max = min + 1; }
        return [min, max + (max - min) * 0.05];
      } } },
      axes: [{}, { size: 84, values: function (u, vals) { return vals.map(function (v) { return fmt(v, panel.unit); }); } }],
      hooks: { draw: [thresholdHook(panel)], setSelect: [function (u) {
        if (u.select.width < 5) return;
        onZoom(u.posToVal(u.select.left, "x"), u.posToVal(u.select.left + u.select.width, "x"));
      }] }
    };
    new uPlot(opts, [data.t].concat(data.series.map(function (s) { return s.values; })), body);
    if (data.dropped) body.appendChild(el("p", { class: "muted" }, "+" + data.dropped + " more series not drawn"));
    return true;
  }

  function stat(body, panel, data) {
    var box = el("div", { class: "stat status-" + data.status }, fmt(data.value, panel.unit));
    box.appendChild(el("div", { class: "badge " + data.status }, STATUS_TEXT[data.status]));
    body.appendChild(box);
    if (data.rows.length > 1) {
      var ul = el("ul", { class: "stat-rows" });
      data.rows.forEach(function (r) { ul.appendChild(el("li", {}, r.name + ": " + fmt(r.value, panel.unit) + " (" + STATUS_TEXT[r.status] + ")")); });
      body.appendChild(ul);
    }
    return data.value !== null;
  }

  function gauge(body, panel, data) {
    var v = data.value, lo = panel.min === null ? 0 : panel.min;
    var lines = panel.thresholds || {};
    var hi = panel.max !== null ? panel.max : (Math.max(lines.critical || 0, lines.warning || 0, v || 0) * 1.25 || 1);
    var frac = function (x) { return Math.max(0, Math.min(1, (x - lo) / ((hi - lo) || 1))); };
    var arc = function (a, b) {
      var p = function (f) { var ang = Math.PI * (1 - f); return [100 + 80 * Math.cos(ang), 100 - 80 * Math.sin(ang)]; };
      var s = p(a), e = p(b);
      return "M" + s[0].toFixed(2) + " " + s[1].toFixed(2) + " A80 80 0 0 1 " + e[0].toFixed(2) + " " + e[1].toFixed(2);
    };
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 200 120"); svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", panel.title + ": " + fmt(v, panel.unit) + ", " + STATUS_TEXT[data.status]);
    function path(d, colour, w) { var p = document.createElementNS(ns, "path"); p.setAttribute("d", d); p.setAttribute("stroke", colour); p.setAttribute("stroke-width", w); p.setAttribute("fill", "none"); svg.appendChild(p); }
    path(arc(0, 1), "#8884", 14);
    ["warning", "critical"].forEach(function (level) {
      if (lines[level] === null || lines[level] === undefined) return;
      var f = frac(lines[level]);
      var other = level === "warning" && lines.critical !== null && lines.critical !== undefined ? frac(lines.critical) : (lines.direction === "below" ? 0 : 1);
      path(lines.direction === "below" ? arc(other < f ? other : 0, f) : arc(f, other > f ? other : 1), COLOURS[level], 4);
    });
    if (v !== null) path(arc(0, Math.max(frac(v), 0.003)), data.status === "ok" ? "#19a979" : (COLOURS[data.status] || "#888"), 14);
    var text = document.createElementNS(ns, "text");
    text.setAttribute("x", "100"); text.setAttribute("y", "96"); text.setAttribute("text-anchor", "middle");
    text.setAttribute("font-size", "22"); text.setAttribute("font-weight", "700"); text.setAttribute("fill", "currentColor");
    text.textContent = fmt(v, panel.unit); svg.appendChild(text);
    var box = el("div", { class: "gauge" }); box.appendChild(svg);
    box.appendChild(el("p", { class: "badge " + data.status, style: "display:table;margin:0 auto" }, STATUS_TEXT[data.status]));
    body.appendChild(box);
    return v !== null;
  }

  function bars(body, panel, data) {
    var items = [];
    if (data.period) {
      var labelOf = function (t) {
        var d = new Date((t - data.period) * 1000);
        return data.period >= 86400 ? d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" }) : d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
      };
      data.series.forEach(function (s) {
        data.t.forEach(function (t, i) { items.push({ name: (data.series.length > 1 ? s.name + " · " : "") + labelOf(t), value: s.values[i] }); });
      });
    } else {
      items = data.rows.map(function (r) { return { name: r.name, value: r.value }; });
    }
    if (!items.length) { body.appendChild(el("p", { class: "loading" }, "no data")); return false; }
    var max = Math.max.apply(null, items.map(function (x) { return x.value || 0; }).concat([1e-12]));
    var ul = el("ul", { class: "bars" });
    items.forEach(function (x) {
      var li = el("li");
      li.appendChild(el("span", {}, x.name));
      var track = el("span", { class: "track", "aria-hidden": "true" });
      track.appendChild(el("span", { class: "fill", style: "display:block;width:" + (100 * Math.max(x.value || 0, 0) / max).toFixed(1) + "%" }));
      li.appendChild(track); li.appendChild(el("span", { class: "value" }, fmt(x.value, panel.unit)));
      ul.appendChild(li);
    });
    var total = el("li", { class: "total" });
    total.appendChild(el("span", {}, "Total")); total.appendChild(el("span")); total.appendChild(el("span", {}, fmt(data.total, panel.unit)));
    ul.appendChild(total);
    body.appendChild(ul);
    return true;
  }

  function table(body, panel, data) {
    if (!data.rows.length) { body.appendChild(el("p", { class: "loading" }, "no data")); return false; }
    var keys = {};
    data.rows.forEach(function (r) { Object.keys(r.labels).forEach(function (k) { if (k !== "__name__") keys[k] = 1; }); });
    keys = Object.keys(keys).sort();
    var t = el("table", { class: "rows" }), head = el("tr");
    keys.concat(["value", "status"]).forEach(function (k) { head.appendChild(el("th", { scope: "col" }, k)); });
    t.appendChild(el("thead")).appendChild(head);
    var tb = el("tbody"); t.appendChild(tb);
    data.rows.forEach(function (r) {
      var tr = el("tr");
      keys.forEach(function (k) { tr.appendChild(el("td", {}, r.labels[k] || "")); });
      tr.appendChild(el("td", {}, fmt(r.value, panel.unit)));
      tr.appendChild(el("td")).appendChild(el("span", { class: "badge " + r.status }, STATUS_TEXT[r.status]));
      tb.appendChild(tr);
    });
    body.appendChild(t);
    return true;
  }

  // the data request leaves before uPlot has loaded; drawing waits for it (both scripts are deferred)
  function chartsReady(value) {
    if (window.uPlot) return value;
    return new Promise(function (resolve) { document.addEventListener("DOMContentLoaded", function () { resolve(value); }); });
  }

  var DRAW = { timeseries: timeseries, stat: stat, gauge: gauge, bars: bars, table: table };

  // ---- dashboards ----
  var cfgNode = $("#dashboard-config"), dash = cfgNode ? JSON.parse(cfgNode.textContent) : null;
  var timer = null, generation = 0;

  function params(extra) {
    var q = new URLSearchParams({ from: dash.from, to: dash.to, refresh: dash.refresh });
    for (var k in extra || {}) q.set(k, extra[k]);
    return q;
  }
  function zoom(a, b) { location.search = params({ from: String(Math.floor(a)), to: String(Math.ceil(b)) }).toString(); }
  var LADDER = ["5m", "15m", "1h", "3h", "6h", "12h", "24h", "2d", "7d", "30d"];
  function shiftRange(dir) {
    var m = /^now-(\w+)$/.exec(dash.from), i = m ? LADDER.indexOf(m[1]) : 4;
    i = Math.max(0, Math.min(LADDER.length - 1, (i < 0 ? 4 : i) + dir));
    location.search = params({ from: "now-" + LADDER[i], to: "now" }).toString();
  }

  function load() {
    var mine = ++generation, started = performance.now();
    var nodes = $$(".panel", $("#panels"));
    var widths = nodes.map(function (n) { return Math.max(Math.floor($(".body", n).clientWidth), 100); });
    var url = "/api/dashboards/" + encodeURIComponent(dash.slug) + "?" + new URLSearchParams({ from: dash.from, to: dash.to, widths: widths.join(",") });
    return fetch(url, { headers: { accept: "application/json" } }).then(function (r) { return r.json(); }).then(chartsReady).then(function (answer) {
      if (mine !== generation) return;
      if (answer.error) { $("#updated").textContent = "error: " + answer.error; return; }
      var drawn = 0;
      answer.panels.forEach(function (data, i) {
        var node = nodes[i], panel = dash.panels[i], body = $(".body", node), state = $(".state", node);
        body.textContent = "";
        node.classList.remove("status-ok", "status-warning", "status-critical", "status-nodata");
        if (data.error) {
          body.appendChild(el("p", { class: "error-text", role: "alert" }, "✗ " + data.error));
          body.dataset.state = "error"; state.textContent = "✗ ERROR"; state.className = "state badge critical";
          return;
        }
        var has = DRAW[panel.kind](body, panel, data, widths[i], zoom);
        var status = data.status || (has ? "ok" : "nodata");
        node.classList.add("status-" + status);
        state.textContent = STATUS_TEXT[status]; state.className = "state badge " + status;
        body.dataset.state = has ? "drawn" : "empty";
        drawn += has ? 1 : 0;
      });
      var took = performance.now() - started;
      $("#updated").textContent = "updated " + new Date().toLocaleTimeString() + " · " + drawn + "/" + nodes.length + " panels with data · " + Math.round(took) + " ms";
      document.body.dataset.painted = String(took);
      // the frame after the DOM and canvases changed: what the benchmark's "last panel painted" reads
      requestAnimationFrame(function () { document.body.dataset.paintedAt = String(performance.now()); });
      document.body.dataset.loads = String((Number(document.body.dataset.loads) || 0) + 1);
    }).catch(function (err) { $("#updated").textContent = "could not load: " + err; });
  }

  function every(text) {
    var m = /^(\d+)(s|m|h)$/.exec(text || "");
    return m ? Number(m[1]) * { s: 1000, m: 60000, h: 3600000 }[m[2]] : 0;
  }

  if (dash) {
    load().then(function () {
      if (location.hash) { var target = document.getElementById(location.hash.slice(1)); if (target) { target.scrollIntoView(); target.focus(); } }
    });
    var period = every(dash.refresh);
    if (period) timer = setInterval(function () { if (!document.hidden) load(); }, Math.max(period, 1000));
    var resized = null;
    window.addEventListener("resize", function () { clearTimeout(resized); resized = setTimeout(load, 300); });
  }

  // ---- explore ----
  var ex = $("#explore-config");
  if (ex) {
    var conf = JSON.parse(ex.textContent), input = $("#q"), list = $("#completions"), names = null, picked = -1;
    fetch("/api/metric-names").then(function (r) { return r.json(); }).then(function (n) { names = Array.isArray(n) ? n : []; });
    var wordAt = function () {
      var upto = input.value.slice(0, input.selectionStart), m = /[a-zA-Z_:][a-zA-Z0-9_:]*$/.exec(upto);
      return m ? { word: m[0], start: upto.length - m[0].length } : null;
    };
    var close = function () { list.hidden = true; input.setAttribute("aria-expanded", "false"); picked = -1; };
    var choose = function (name) {
      var w = wordAt(); if (!w) return;
      var end = input.selectionStart;
      input.value = input.value.slice(0, w.start) + name + input.value.slice(end);
      input.selectionStart = input.selectionEnd = w.start + name.length; close();
    };
    input.addEventListener("input", function () {
      var w = wordAt();
      if (!names || !w || w.word.length < 2) { close(); return; }
      var found = names.filter(function (n) { return n.indexOf(w.word) >= 0; }).slice(0, 30);
      list.textContent = "";
      found.forEach(function (n, i) {
        var li = el("li", { role: "option", id: "opt-" + i, "aria-selected": "false" }, n);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(n); });
        list.appendChild(li);
      });
      list.hidden = !found.length; input.setAttribute("aria-expanded", String(!!found.length)); picked = -1;
    });
    input.addEventListener("keydown", function (e) {
      var opts = $$("li", list);
      if (list.hidden || !opts.length) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        picked = (picked + (e.key === "ArrowDown" ? 1 : -1) + opts.length) % opts.length;
        opts.forEach(function (o, i) { o.setAttribute("aria-selected", String(i === picked)); });
        input.setAttribute("aria-activedescendant", opts[picked].id);
      } else if ((e.key === "Enter" || e.key === "Tab") && picked >= 0) { e.preventDefault(); choose(opts[picked].textContent); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", close);
    if (conf.q) {
      var body = $("#explore-graph .body"), status = $("#explore-status");
      status.textContent = "running…";
      var width = Math.max(body.clientWidth, 300);
      fetch("/api/query?" + new URLSearchParams({ q: conf.q, from: conf.from, to: conf.to, width: String(width) }))
        .then(function (r) { return r.json(); }).then(chartsReady).then(function (a) {
          if (a.error) { status.textContent = "✗ " + a.error; status.className = "meta error-text"; return; }
          status.textContent = a.count + " series · step " + a.step + "s";
          var fake = { unit: "short", thresholds: null, min: null, max: null, title: "explore" };
          if (a.graph) timeseries(body, fake, a.graph, width, function (x, y) { location.search = new URLSearchParams({ q: conf.q, from: String(Math.floor(x)), to: String(Math.ceil(y)) }).toString(); });
          else body.appendChild(el("p", { class: "muted" }, "not a range vector: see the table"));
          var tb = $("#explore-table tbody");
          a.rows.forEach(function (r) {
            var tr = el("tr");
            var names = Object.keys(r.labels).filter(function (k) { return k !== "__name__"; }).sort();
            tr.appendChild(el("td")).appendChild(el("code", {}, (r.labels.__name__ || "") + "{" + names.map(function (k) { return k + '="' + r.labels[k] + '"'; }).join(", ") + "}"));
            tr.appendChild(el("td", {}, r.value));
            tb.appendChild(tr);
          });
          document.body.dataset.painted = "1";
        });
    }
  }
})();
