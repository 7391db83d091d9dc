// Charts of the dashboard, drawn from the JSON API (the same documents as the CLI's --json). Amounts arrive as exact
// decimal strings; they become numbers here only to place bars on a canvas, never to compute a figure we show.
(function () {
  "use strict";
  // Mid-tone colours readable on the light and the dark background. A name always gets the same one (a hash of
  // the name), so a model or provider keeps its colour across pages, ranges and groupings.
  var PALETTE = ["#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16",
    "#f97316", "#14b8a6", "#a855f7", "#eab308", "#0ea5e9", "#d946ef", "#22c55e", "#e11d48"];
  var OTHER = "#64748b";
  var MAX_SERIES = 9; // the rest is stacked as "other"
  var charts = [];

  function colour(name) {
    var hash = 2166136261;  // FNV-1a
    for (var i = 0; i < name.length; i++) { hash = Math.imul(hash ^ name.charCodeAt(i), 16777619) >>> 0; }
    return PALETTE[hash % PALETTE.length];
  }

  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function days(since, until) {
    var out = [], d = new Date(since + "T00:00:00Z"), end = new Date(until + "T00:00:00Z");
    while (d < end) { out.push(d.toISOString().slice(0, 10)); d.setUTCDate(d.getUTCDate() + 1); }
    return out;
  }

  function label(value) { return value === null || value === undefined ? "(none)" : String(value); }

  function axisTitle(text) { return { display: true, text: text, color: css("--muted") }; }

  function baseOptions(stacked, unit, yTitle) {
    var grid = css("--line"), text = css("--muted");
    return {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { color: text, boxWidth: 12 } },
        tooltip: { callbacks: { label: function (item) {
          var name = item.dataset.id ? item.dataset.label + " (" + item.dataset.id + ")" : item.dataset.label;
          return name + ": " + item.formattedValue + (unit ? " " + unit : "");
        } } }
      },
      scales: {
        x: { stacked: stacked, grid: { display: false }, title: axisTitle("Day (UTC)"),
          ticks: { color: text, maxRotation: 0, autoSkipPadding: 12 } },
        y: { stacked: stacked, grid: { color: grid }, ticks: { color: text }, beginAtZero: true,
          title: axisTitle(yTitle) }
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

  // The rows of a drill-down: the API answers every value of the narrowed dimension, the page shows one.
  function narrowed(box, rows) {
    var dim = box.dataset.narrowDim, wanted = box.dataset.narrowValue;
    if (!dim) { return rows; }
    return rows.filter(function (row) {
      return row[dim] === null || row[dim] === undefined ? wanted === "" : String(row[dim]) === wanted;
    });
  }

  // The same links as the table's rows: a day opens on its models, a legend entry (Spend) on its days.
  function drillUrl(box, params) {
    var query = new URLSearchParams(params.day ? "" : box.dataset.rangeQuery);
    Object.keys(params).forEach(function (name) { query.set(name, params[name]); });
    query.set("source", box.dataset.source);
    if (box.dataset.narrowDim && !(box.dataset.narrowDim in params)) {
      query.set(box.dataset.narrowDim, box.dataset.narrowValue);
    }
    return box.dataset.page + "?" + query.toString();
  }

  function drillable(box, options, labels, seriesNames) {
    if (!box.dataset.page) { return; }
    var group = box.dataset.group;
    options.onClick = function (event, elements) {
      if (!elements.length) { return; }
      window.location.assign(drillUrl(box, { day: labels[elements[0].index], group: "model" }));
    };
    options.onHover = function (event, elements) {
      event.native.target.style.cursor = elements.length ? "pointer" : "default";
    };
    if (group === "day" || box.dataset.chart !== "spend") { return; }  // Usage narrows by day only
    options.plugins.legend.onClick = function (event, item) {
      var name = seriesNames[item.datasetIndex];
      if (name === undefined) { return; }  // "other": many names, no one page
      var params = { group: "day" };
      params[group] = name === "(none)" ? "" : name;
      window.location.assign(drillUrl(box, params));
    };
  }

  // Stacked daily bars of the rows' `measure` per value of `group` (one series when the page is grouped by day),
  // the nine biggest named and the rest stacked as "other".
  // A series is keyed (and coloured) by its id; its legend shows the name the rows carry beside the id.
  function stacked(rows, group, labels, measure) {
    var totals = {}, cells = {}, names = {};
    rows.forEach(function (row) {
      if (row[measure] === null || row[measure] === undefined) { return; }  // unknown: a gap, never a bar of 0
      var key = group === "day" ? "total" : label(row[group]), value = Number(row[measure]);
      if (row[group + "_name"]) { names[key] = row[group + "_name"]; }
      totals[key] = (totals[key] || 0) + value;
      cells[key + "\u0000" + row.day] = (cells[key + "\u0000" + row.day] || 0) + value;
    });
    var keys = Object.keys(totals).sort(function (a, b) { return totals[b] - totals[a]; });
    var shown = keys.slice(0, MAX_SERIES), rest = keys.slice(MAX_SERIES);
    var datasets = shown.map(function (key) {
      return { label: names[key] || key, id: names[key] ? key : null, backgroundColor: colour(key), borderWidth: 0,
        data: labels.map(function (day) { return cells[key + "\u0000" + day] || 0; }) };
    });
    if (rest.length) {
      datasets.push({ label: "other (" + rest.length + ")", backgroundColor: OTHER,
        data: labels.map(function (day) {
          return rest.reduce(function (sum, key) { return sum + (cells[key + "\u0000" + day] || 0); }, 0);
        }) });
    }
    return { datasets: datasets, names: shown, empty: !keys.length };
  }

  // Stacked daily spend, one chart per currency (amounts in different currencies are never stacked together).
  function drawSpend(box, report) {
    var group = box.dataset.group, labels = days(box.dataset.since, box.dataset.until);
    var perCurrency = {};
    narrowed(box, report.rows).forEach(function (row) {
      (perCurrency[row.currency] = perCurrency[row.currency] || []).push(row);
    });
    var currencies = Object.keys(perCurrency).sort();
    if (!currencies.length) { empty(box, "No spend in this range."); return; }
    box.textContent = "";
    currencies.forEach(function (currency) {
      var series = stacked(perCurrency[currency], group, labels, "amount");
      var options = baseOptions(true, currency, "Spend (" + currency + ")");
      drillable(box, options, labels, series.names);
      var title = "Daily spend in " + currency + (group === "day" ? "" : " by " + group.replace("_", " "));
      var canvas = canvasIn(box, title, "chart-" + currency);
      charts.push(new Chart(canvas, { type: "bar", data: { labels: labels, datasets: series.datasets },
        options: options }));
    });
  }

  // Daily tokens (input and output) stacked by the page's group, requests as a line on a second axis.
  function drawUsage(box, report) {
    var group = box.dataset.group, labels = days(box.dataset.since, box.dataset.until);
    var rows = report.rows.filter(function (row) { return !row.not_in_totals; });
    if (!rows.length) { empty(box, "No usage in this range."); return; }
    rows.forEach(function (row) {
      row.tokens = row.input_tokens === null || row.output_tokens === null ? null :
        row.input_tokens + row.output_tokens;
    });
    var series = stacked(rows, group, labels, "tokens"), requests = {}, anyRequests = false;
    rows.forEach(function (row) {
      if (row.requests === null) { return; }
      anyRequests = true;
      requests[row.day] = (requests[row.day] || 0) + row.requests;
    });
    box.textContent = "";
    var datasets = series.datasets.slice();
    if (anyRequests) {
      datasets.push({ label: "requests", type: "line", yAxisID: "requests", borderColor: css("--text"),
        backgroundColor: css("--text"), pointRadius: 0, borderWidth: 2,
        data: labels.map(function (day) { return requests[day] || 0; }) });
    }
    var options = baseOptions(true, "", "Tokens (input + output)");
    drillable(box, options, labels, series.names);
    options.scales.requests = { position: "right", beginAtZero: true, grid: { display: false },
      title: axisTitle("Requests"), ticks: { color: css("--muted") } };
    var title = "Daily tokens" + (group === "day" ? "" : " by " + group.replace("_", " ")) + ", and requests";
    var canvas = canvasIn(box, title, "chart-usage");
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
        options: baseOptions(false, currency, "Spend (" + currency + ")") }));
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
      var range = form.querySelector("select[name='range']");
      form.addEventListener("change", function (event) {
        if (range && (event.target.name === "since" || event.target.name === "until")) { range.value = "custom"; }
        form.requestSubmit();
      });
    });
    load();
  });
  document.addEventListener("creditgauge:theme", load);
})();
