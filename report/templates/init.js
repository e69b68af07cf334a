/* memsnap report: draws the charts from the JSON data block, and wires the
   node picker, sortable tables and evidence links. Allowed by its sha256 in
   the page's Content-Security-Policy; it makes no network request. Every
   string from a bundle reaches the DOM as text (textContent, or escaped
   before it enters an ECharts tooltip, the one place ECharts takes HTML). */
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

  function drawCharts() {
    var block = document.getElementById("memsnap-charts");
    if (!block || typeof echarts === "undefined") { return; }
    var specs = JSON.parse(block.textContent) || [];
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

  function wirePicker() {
    var picker = document.getElementById("node-picker");
    if (!picker) { return; }
    picker.addEventListener("change", function () {
      var want = picker.value;
      document.querySelectorAll("[data-bundle]").forEach(function (el) {
        var show = want === "all" || el.getAttribute("data-bundle") === want;
        el.classList.toggle("hidden-by-picker", !show);
      });
      resizeCharts();
    });
  }

  function wireSorting() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      var headers = table.querySelectorAll("thead th");
      headers.forEach(function (th, col) {
        var button = th.querySelector("button[data-sort]");
        if (!button) { return; }
        button.addEventListener("click", function () {
          var numeric = button.getAttribute("data-sort") === "num";
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
        });
      });
    });
  }

  // An evidence link points into a closed <details>: open it, then scroll.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") {
      el.open = true;
      el.scrollIntoView();
    }
  }

  drawCharts();
  wirePicker();
  wireSorting();
  openTarget();
  window.addEventListener("hashchange", openTarget);
  window.addEventListener("resize", resizeCharts);
  window.addEventListener("beforeprint", resizeCharts);
})();
