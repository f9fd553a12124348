/* tocsin frontend beacon: First Contentful Paint, Time to Interactive, JS errors and API call timings,
 * sent to the tocsin endpoint that served this script (or data-endpoint="..."). No dependencies, no
 * cookies, nothing but timings, counts, the page path and the paths of same-origin API calls.
 *
 * Time to Interactive is approximated the way Lighthouse defines it, without its network rule: the end of
 * the last long task (>= 50 ms) before a 5 s quiet window after First Contentful Paint, or
 * domContentLoadedEventEnd when later. Long tasks need the Long Tasks API (Chromium); elsewhere TTI is
 * domContentLoadedEventEnd.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__tocsinBeacon) return;
  window.__tocsinBeacon = true;
  var endpoint = script.getAttribute("data-endpoint") || script.src.split("?")[0];
  var QUIET_MS = Number(script.getAttribute("data-quiet-ms")) || 5000;
  var FLUSH_MS = Number(script.getAttribute("data-flush-ms")) || 10000;
  var MAX_API = 50;
  var state = { fcp: null, tti: null, errors: 0, api: [], lastLongTaskEnd: 0, timingSent: false };

  function seconds(ms) { return Math.round(ms) / 1000; }

  function send(final) {
    var body = { page: location.pathname, errors: state.errors, api: state.api.splice(0, MAX_API) };
    if (!state.timingSent && state.fcp !== null && (state.tti !== null || final)) {
      body.fcp = seconds(state.fcp);
      if (state.tti !== null) body.tti = seconds(state.tti);
      state.timingSent = true;
    }
    state.errors = 0;
    if (body.fcp === undefined && !body.errors && !body.api.length) return;
    var text = JSON.stringify(body);
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, new Blob([text], { type: "text/plain" }))) return;
    try { originalFetch(endpoint, { method: "POST", body: text, keepalive: true, credentials: "omit" }); } catch (e) {}
  }

  // First Contentful Paint
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (entry) {
        if (entry.name === "first-contentful-paint" && state.fcp === null) { state.fcp = entry.startTime; armTti(); }
      });
    }).observe({ type: "paint", buffered: true });
  } catch (e) {}

  // Long tasks, for Time to Interactive
  var longTasks = false;
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (entry) {
        state.lastLongTaskEnd = Math.max(state.lastLongTaskEnd, entry.startTime + entry.duration);
      });
      armTti();
    }).observe({ type: "longtask", buffered: true });
    longTasks = true;
  } catch (e) {}

  var ttiTimer = null;
  function armTti() {
    if (state.tti !== null || state.fcp === null) return;
    clearTimeout(ttiTimer);
    ttiTimer = setTimeout(function () {
      var nav = performance.getEntriesByType("navigation")[0];
      var dcl = nav ? nav.domContentLoadedEventEnd : 0;
      state.tti = Math.max(state.fcp, dcl, longTasks ? state.lastLongTaskEnd : 0);
      send(false);
    }, QUIET_MS);
  }

  // JavaScript errors
  window.addEventListener("error", function (event) { if (event.error || event.message) state.errors++; });
  window.addEventListener("unhandledrejection", function () { state.errors++; });

  // API calls (same origin only: other hosts' paths are not ours to label)
  function record(url, method, status, started) {
    try {
      var parsed = new URL(url, location.href);
      if (parsed.origin !== location.origin || parsed.pathname === new URL(endpoint, location.href).pathname) return;
      if (state.api.length < MAX_API * 4) {
        state.api.push({ path: parsed.pathname, method: (method || "GET").toUpperCase(), status: status,
                         duration: seconds(performance.now() - started) });
      }
    } catch (e) {}
  }
  var originalFetch = window.fetch ? window.fetch.bind(window) : null;
  if (originalFetch) {
    window.fetch = function (input, init) {
      var started = performance.now();
      var url = typeof input === "string" ? input : (input && input.url) || String(input);
      var method = (init && init.method) || (input && input.method) || "GET";
      return originalFetch(input, init).then(function (response) {
        record(url, method, response.status, started); return response;
      }, function (error) { record(url, method, 0, started); throw error; });
    };
  }
  var open = XMLHttpRequest.prototype.open, xsend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__tocsin = { method: method, url: url };
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    var xhr = this, info = xhr.__tocsin, started = performance.now();
    if (info) xhr.addEventListener("loadend", function () { record(info.url, info.method, xhr.status, started); });
    return xsend.apply(this, arguments);
  };

  setInterval(function () { send(false); }, FLUSH_MS);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") send(true); });
  window.addEventListener("pagehide", function () { send(true); });
})();
