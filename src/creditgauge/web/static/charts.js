// Charts of the dashboard, drawn from the JSON API (the same documents as the CLI's --json). Amounts arrive as exact
// decimal strings; they become numbers here only to place bars on a canvas, never to compute a figure we show.
(function () {
  "use strict";
  var PALETTE = ["#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16",
    "#f97316", "#64748b"];
  var MAX_SERIES = 9; // the rest is stacked as "other"
  var charts = [];

  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function days(since, until) {
    var out = [], d = new Date(since + "T00:00:00Z"), end = new Date(until + "T00:00:00Z");
    while (d < end) { out.push(d.toISOString().slice(0, 10)); d.setUTCDate(d.getUTCDate() + 1); }
    return out;
  }

  function baseOptions(stacked, unit) {
    var grid = css("--line"), text = css("--muted");
    return {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { color: text, boxWidth: 12 } },
        tooltip: { callbacks: { label: function (item) {
          return item.dataset.label + ": " + item.formattedValue + (unit ? " " + unit : "");
        } } }
      },
      scales: {
        x: { stacked: stacked, grid: { display: false }, ticks: { color: text, maxRotation: 0, autoSkipPadding: 12 } },
        y: { stacked: stacked, grid: { color: grid }, ticks: { color: text }, beginAtZero: true }
      }
    };
  }

  function canvasIn(box, title, testid) {
    var wrap = document.createElement("div");
    var heading = document.createElement("p");
    heading.className = "chart-title";
    heading.textContent = title;
    var holder = document.createElement("div");
    holder.className = "chart-box";
    var canvas = document.createElement("canvas");
    canvas.setAttribute("data-testid", testid);
    holder.appendChild(canvas);
    wrap.appendChild(heading);
    wrap.appendChild(holder);
    box.appendChild(wrap);
    return canvas;
  }

  function empty(box, text) {
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = text;
    box.appendChild(p);
  }

  // Stacked daily spend, one chart per currency (amounts in different currencies are never stacked together).
  function drawSpend(box, report) {
    var group = box.dataset.group, labels = days(box.dataset.since, box.dataset.until);
    var perCurrency = {};
    report.rows.forEach(function (row) {
      if (row.amount === null) return;  // not reported yet: a gap in the chart, never a bar of 0
      var key = row[group] === null || row[group] === undefined ? "(none)" : String(row[group]);
      var c = perCurrency[row.currency] = perCurrency[row.currency] || { totals: {}, cells: {} };
      var amount = Number(row.amount);
      c.totals[key] = (c.totals[key] || 0) + amount;
      c.cells[key + "\u0000" + row.day] = (c.cells[key + "\u0000" + row.day] || 0) + amount;
    });
    var currencies = Object.keys(perCurrency).sort();
    if (!currencies.length) { empty(box, "No spend in this range."); return; }
    box.textContent = "";
    currencies.forEach(function (currency) {
      var c = perCurrency[currency];
      var keys = Object.keys(c.totals).sort(function (a, b) { return c.totals[b] - c.totals[a]; });
      var shown = keys.slice(0, MAX_SERIES), rest = keys.slice(MAX_SERIES);
      var datasets = shown.map(function (key, i) {
        return { label: key, backgroundColor: PALETTE[i % PALETTE.length], borderWidth: 0,
          data: labels.map(function (day) { return c.cells[key + "\u0000" + day] || 0; }) };
      });
      if (rest.length) {
        datasets.push({ label: "other (" + rest.length + ")", backgroundColor: PALETTE[PALETTE.length - 1],
          data: labels.map(function (day) {
            return rest.reduce(function (sum, key) { return sum + (c.cells[key + "\u0000" + day] || 0); }, 0);
          }) });
      }
      var canvas = canvasIn(box, "Daily spend in " + currency + " by " + group.replace("_", " "), "chart-" + currency);
      charts.push(new Chart(canvas, { type: "bar", data: { labels: labels, datasets: datasets },
        options: baseOptions(true, currency) }));
    });
  }

  // Daily tokens stacked by kind (input split into uncached, cache read and cache write), requests as a line.
  function drawUsage(box, report) {
    var labels = days(box.dataset.since, box.dataset.until), byDay = {};
    report.rows.forEach(function (row) { byDay[row.day] = row; });
    if (!report.rows.length) { empty(box, "No usage in this range."); return; }
    box.textContent = "";
    function series(pick) { return labels.map(function (day) { return byDay[day] ? pick(byDay[day]) : 0; }); }
    var datasets = [
      { label: "input (uncached)", backgroundColor: PALETTE[0],
        data: series(function (r) { return r.input_tokens - r.cached_input_tokens - r.cache_write_tokens; }) },
      { label: "cached input", backgroundColor: PALETTE[5], data: series(function (r) { return r.cached_input_tokens; }) },
      { label: "cache write", backgroundColor: PALETTE[4], data: series(function (r) { return r.cache_write_tokens; }) },
      { label: "output", backgroundColor: PALETTE[1], data: series(function (r) { return r.output_tokens; }) },
      { label: "requests", type: "line", yAxisID: "requests", borderColor: PALETTE[3], backgroundColor: PALETTE[3],
        pointRadius: 0, borderWidth: 2, data: series(function (r) { return r.requests; }) }
    ];
    var options = baseOptions(true, "");
    options.scales.requests = { position: "right", beginAtZero: true, grid: { display: false },
      ticks: { color: css("--muted") } };
    var canvas = canvasIn(box, "Daily tokens by kind, and requests", "chart-usage");
    charts.push(new Chart(canvas, { type: "bar", data: { labels: labels, datasets: datasets }, options: options }));
  }

  // Reported vs tracked per day, all accounts of one currency together; flagged days marked.
  function drawReconcile(box, report) {
    var perCurrency = {};
    report.rows.forEach(function (row) {
      var c = perCurrency[row.currency] = perCurrency[row.currency] || {};
      var d = c[row.day] = c[row.day] || { reported: 0, tracked: 0, flagged: false };
      d.reported += Number(row.reported);
      d.tracked += Number(row.tracked);
      d.flagged = d.flagged || row.flagged;
    });
    var currencies = Object.keys(perCurrency).sort();
    if (!currencies.length) { empty(box, "Nothing to compare in this range."); return; }
    box.textContent = "";
    currencies.forEach(function (currency) {
      var c = perCurrency[currency], labels = Object.keys(c).sort();
      var datasets = [
        { label: "reported", backgroundColor: PALETTE[0], data: labels.map(function (d) { return c[d].reported; }) },
        { label: "tracked", backgroundColor: PALETTE[2], data: labels.map(function (d) { return c[d].tracked; }) },
        { label: "flagged", type: "line", showLine: false, pointRadius: 6, pointStyle: "triangle",
          borderColor: PALETTE[3], backgroundColor: PALETTE[3],
          data: labels.map(function (d) { return c[d].flagged ? Math.max(c[d].reported, c[d].tracked) : null; }) }
      ];
      var canvas = canvasIn(box, "Reported vs tracked spend in " + currency, "chart-reconcile-" + currency);
      charts.push(new Chart(canvas, { type: "bar", data: { labels: labels, datasets: datasets },
        options: baseOptions(false, currency) }));
    });
  }

  var DRAW = { spend: drawSpend, usage: drawUsage, reconcile: drawReconcile };

  function load() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (box) {
      fetch(box.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("the API answered " + response.status); }
          return response.json();
        })
        .then(function (report) { DRAW[box.dataset.chart](box, report); box.setAttribute("data-ready", "true"); })
        .catch(function (error) { empty(box, "The chart could not be drawn: " + error.message); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      form.addEventListener("change", function () { form.requestSubmit(); });
    });
    load();
  });
  document.addEventListener("creditgauge:theme", load);
})();
