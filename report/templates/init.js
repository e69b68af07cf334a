/* memsnap report: draws the charts from the JSON data block, and wires the
   node picker, sortable tables and evidence links. Allowed by its sha256 in
   the page's Content-Security-Policy; it makes no network request. Every
   string from a bundle reaches the DOM as text (textContent, or escaped
   before it enters an ECharts tooltip, the one place ECharts takes HTML),
   or inside a cluster report's compressed fragments (node detail, finding
   lists and evidence, table rows), which html/template escaped. */
(function () {
  "use strict";

  function escapeHTML(s) {
    return String(s).replace(/[&<>"'`]/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  }

  function fmtBytes(v) {
    var n = Number(v);
    if (!isFinite(n)) { return "—"; }
    var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    var i = 0, a = Math.abs(n);
    while (a >= 1024 && i < units.length - 1) { a /= 1024; i++; }
    return (n < 0 ? "-" : "") + (i === 0 ? String(a) : a.toFixed(1)) + " " + units[i];
  }

  function scalar(v) {
    return Array.isArray(v) ? v[0] : v;
  }

  function axisTooltip(spec) {
    return function (params) {
      if (!Array.isArray(params)) { params = [params]; }
      var head = params.length ? escapeHTML(params[0].axisValueLabel || params[0].name || "") : "";
      var rows = params.map(function (p) {
        // A time axis carries [ms, value] pairs.
        var v = spec.kind === "time" && Array.isArray(p.value) ? p.value[1] : scalar(p.value);
        if (v === "-" || v === undefined || v === null) { return ""; }
        var shown = spec.bytesAxis ? fmtBytes(v) + " (" + escapeHTML(v) + " B)" : escapeHTML(v);
        return "<br>" + p.marker + escapeHTML(p.seriesName) + ": <b>" + shown + "</b>";
      });
      return head + rows.join("");
    };
  }

  function oomTooltip(params) {
    return escapeHTML(params.name) + "<br>" + params.marker + escapeHTML(params.seriesName);
  }

  var charts = [];

  function drawCharts(specs) {
    if (typeof echarts === "undefined") { return; }
    specs.forEach(function (spec) {
      var el = document.getElementById(spec.id);
      if (!el) { return; }
      el.style.height = Math.max(120, spec.height) + "px";
      var option = spec.option;
      option.tooltip = option.tooltip || {};
      option.tooltip.confine = true;
      if (spec.kind === "oom") {
        option.tooltip.trigger = "item";
        option.tooltip.formatter = oomTooltip;
      } else {
        option.tooltip.trigger = "axis";
        option.tooltip.axisPointer = { type: spec.kind === "time" ? "line" : "shadow" };
        option.tooltip.formatter = axisTooltip(spec);
      }
      if (spec.bytesAxis) {
        var axes = option[spec.bytesAxis + "Axis"] || [];
        (Array.isArray(axes) ? axes : [axes]).forEach(function (ax) {
          ax.axisLabel = ax.axisLabel || {};
          ax.axisLabel.formatter = fmtBytes;
        });
      }
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      charts.push(chart);
    });
  }

  function resizeCharts() {
    charts.forEach(function (c) { c.resize(); });
  }

  function pageCharts() {
    var block = document.getElementById("memsnap-charts");
    return block ? JSON.parse(block.textContent) || [] : [];
  }

  // A cluster report carries its nodes' detail (their part of the
  // per-node sections, and their charts) as base64url of gzipped JSON, ten
  // nodes a blob; the browser's own DecompressionStream inflates it, no
  // network involved. loadNode inserts a node's part once, into the
  // placeholders, and resolves when drawn.
  var loaded = {};
  var inflated = new WeakMap();

  function inflate(text) {
    var b64 = text.trim().replace(/-/g, "+").replace(/_/g, "/");
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }

  // loadJSON inflates a compressed JSON block of the page once, however
  // many nodes or <details> read from it.
  function loadJSON(blob) {
    if (!blob) { return Promise.resolve({}); }
    if (!inflated.has(blob)) {
      inflated.set(blob, inflate(blob.textContent).then(JSON.parse));
    }
    return inflated.get(blob);
  }

  function loadNode(index) {
    if (loaded[index]) { return loaded[index]; }
    // data-bundle-detail lists the chunk's bundle indices.
    var blob = document.querySelector('script[data-bundle-detail~="' + CSS.escape(index) + '"]');
    if (!blob) { return Promise.resolve(); }
    loaded[index] = loadJSON(blob).then(function (detail) {
      var at = detail.nodes.indexOf(Number(index));
      if (at < 0) { return; }
      document.querySelectorAll(".lazy-detail").forEach(function (slot) {
        // The fragments were escaped by html/template for this context.
        var parts = detail.sections[slot.getAttribute("data-section")] || [];
        slot.insertAdjacentHTML("beforeend", parts[at] || "");
        slot.querySelectorAll("table.sortable").forEach(wireSorting);
      });
      drawCharts(detail.charts[at] || []);
    });
    return loaded[index];
  }

  // A cluster report carries what the reader opens on demand compressed:
  // a finding group's full node and pod lists and its other findings, a
  // finding's evidence table. Each closed <details class="lazy-z"> names
  // the blob (data-z-in) holding its fragment, keyed by its id; the blob is
  // inflated once, when the reader first opens one of them.
  var zLoaded = new WeakMap();

  function loadZ(d) {
    if (zLoaded.has(d)) { return zLoaded.get(d); }
    var p = loadJSON(document.getElementById(d.getAttribute("data-z-in") || "")).then(function (frags) {
      // Rendered by html/template for this context, as the page is.
      d.querySelector(".lazy-body").insertAdjacentHTML("beforeend", frags[d.id] || "");
    });
    zLoaded.set(d, p);
    return p;
  }

  function wireLazyZ() {
    document.querySelectorAll("details.lazy-z").forEach(function (d) {
      d.addEventListener("toggle", function () {
        if (d.open) { loadZ(d); }
      });
    });
  }

  // A cluster report's owners and OOM tables carry their rows past the
  // first compressed (data-rest-z on the table): inserted once, when the
  // reader asks for them or sorts the table (a sort is over every row).
  var rowsLoaded = new WeakMap();

  function loadRows(table) {
    var z = table.getAttribute("data-rest-z");
    if (!z) { return Promise.resolve(); }
    if (rowsLoaded.has(table)) { return rowsLoaded.get(table); }
    var p = inflate(z).then(function (html) {
      // Rendered by html/template for this context, as the page is.
      table.tBodies[0].insertAdjacentHTML("beforeend", html);
      // Rows of a node (data-bundle) follow the node picker.
      var picker = document.getElementById("node-picker");
      if (picker && picker.value !== "all") { showNode(picker.value); }
      document.querySelectorAll('button[data-rows-of="' + CSS.escape(table.id) + '"]').forEach(function (b) {
        b.parentNode.hidden = true;
      });
    });
    rowsLoaded.set(table, p);
    return p;
  }

  function wireMoreRows() {
    document.querySelectorAll("button[data-rows-of]").forEach(function (b) {
      b.addEventListener("click", function () {
        var table = document.getElementById(b.getAttribute("data-rows-of"));
        if (table) { loadRows(table); }
      });
    });
  }

  function showNode(want) {
    document.querySelectorAll("[data-bundle]").forEach(function (el) {
      // A finding group spans nodes: shown for any of them.
      var of = (el.getAttribute("data-bundles") || el.getAttribute("data-bundle")).split(" ");
      var show = want === "all" || of.indexOf(want) >= 0;
      el.classList.toggle("hidden-by-picker", !show);
    });
    document.querySelectorAll(".lazy-hint").forEach(function (el) {
      el.hidden = want !== "all";
    });
    resizeCharts();
  }

  function pickNode(want) {
    var picker = document.getElementById("node-picker");
    if (picker) { picker.value = want; }
    var done = want === "all" ? Promise.resolve() : loadNode(want);
    return done.then(function () {
      showNode(want);
      document.documentElement.setAttribute("data-memsnap-node", want);
    });
  }

  function wirePicker() {
    var picker = document.getElementById("node-picker");
    if (!picker) { return; }
    picker.addEventListener("change", function () { pickNode(picker.value); });
  }

  function wireSorting(table) {
    if (table.hasAttribute("data-sort-wired")) { return; }
    table.setAttribute("data-sort-wired", "");
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, col) {
      var button = th.querySelector("button[data-sort]");
      if (!button) { return; }
      button.addEventListener("click", function () {
        loadRows(table).then(function () { sortBy(th, col, button.getAttribute("data-sort") === "num"); });
      });
    });

    function sortBy(th, col, numeric) {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col], y = b.cells[col], r;
        if (numeric) {
          r = Number(x.getAttribute("data-v")) - Number(y.getAttribute("data-v"));
        } else {
          r = x.textContent.localeCompare(y.textContent);
        }
        return asc ? r : -r;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }
  }

  // An evidence link points into a closed <details>: open it, then scroll.
  // In a cluster report the target may be in a node's detail not yet
  // inserted (#bundle-N, #ex-N-k): pick that node first.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    var m = /^(?:bundle|ex)-(\d+)/.exec(id || "");
    if (!el && m && document.querySelector(".lazy-detail")) {
      return pickNode(m[1]).then(openTarget);
    }
    if (el && el.tagName === "DETAILS") {
      el.open = true;
    }
    if (el) { el.scrollIntoView(); }
    if (el && el.classList.contains("lazy-z")) {
      return loadZ(el);
    }
    return Promise.resolve();
  }

  drawCharts(pageCharts());
  wirePicker();
  wireLazyZ();
  wireMoreRows();
  document.querySelectorAll("table.sortable").forEach(wireSorting);
  // The ready marker a benchmark or test waits for: the page is rendered,
  // its charts drawn, and the node of the address (if any) inserted.
  openTarget().then(function () {
    document.documentElement.setAttribute("data-memsnap-ready", "1");
  });
  window.addEventListener("hashchange", openTarget);
  window.addEventListener("resize", resizeCharts);
  window.addEventListener("beforeprint", resizeCharts);
})();
