// Kizuna web UI behaviour: auto-submitting selects, the usage charts (Apache ECharts) and
// keeping the "save view" form in step with the filters. Everything else is htmx attributes.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // A select marked data-autosubmit submits its form when changed (the language switch).
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("select[data-autosubmit]")) t.form.submit();
  });

  // The saved-view form stores the query string the table shows right now.
  function syncViewQuery() {
    var input = document.querySelector("input[data-sync-query]");
    if (input) input.value = window.location.search.replace(/^\?/, "").replace(/(^|&)offset=\d+/, "");
  }
  document.addEventListener("htmx:pushedIntoHistory", syncViewQuery);

  // A form marked data-reset-on-success empties itself once htmx has sent it successfully.
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.elt;
    if (e.detail.successful && form && form.matches && form.matches("form[data-reset-on-success]")) form.reset();
  });

  // A button marked data-print prints the page (business reviews).
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("button[data-print]")) window.print();
  });

  var charts = [];

  function usageCharts() {
    var dataEl = document.getElementById("usage-data");
    if (!dataEl || typeof echarts === "undefined") return;
    var data = JSON.parse(dataEl.textContent);
    var usageEl = document.getElementById("usage-chart");
    var usersEl = document.getElementById("users-chart");
    var usage = echarts.init(usageEl);
    var users = echarts.init(usersEl);
    charts.push(usage, users);

    function usageOption(by) {
      var series = (by === "modules" ? data.modules : data.features).map(function (s) {
        return { name: s.name, type: "line", stack: "usage", areaStyle: { opacity: 0.25 }, symbol: "none", data: s.data };
      });
      return {
        tooltip: { trigger: "axis" },
        legend: { type: "scroll", bottom: 0 },
        grid: { left: 50, right: 20, top: 30, bottom: 60 },
        xAxis: { type: "category", data: data.days, boundaryGap: false },
        yAxis: { type: "value", name: data.labels.events },
        dataZoom: [{ type: "inside" }],
        series: series
      };
    }
    usage.setOption(usageOption("features"));
    document.querySelectorAll("button[data-usage-by]").forEach(function (b) {
      b.addEventListener("click", function () {
        document.querySelectorAll("button[data-usage-by]").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
        usage.setOption(usageOption(b.getAttribute("data-usage-by")), { replaceMerge: ["series"] });
      });
    });

    users.setOption({
      tooltip: { trigger: "axis" },
      legend: { bottom: 0 },
      grid: { left: 50, right: 20, top: 30, bottom: 55 },
      xAxis: { type: "category", data: data.days, boundaryGap: false },
      yAxis: { type: "value", name: data.labels.users },
      series: [
        { name: data.labels.active_users, type: "line", symbol: "none", areaStyle: { opacity: 0.2 }, data: data.active_users },
        { name: data.labels.seats, type: "line", symbol: "none", lineStyle: { type: "dashed" }, data: data.days.map(function () { return data.seats; }) }
      ]
    });
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el && typeof echarts !== "undefined" ? JSON.parse(el.textContent) : null;
  }

  function chartAt(id, option) {
    var el = document.getElementById(id);
    if (!el) return;
    var c = echarts.init(el);
    c.setOption(option);
    charts.push(c);
  }

  function insightCharts() {
    var d = readJson("insight-data");
    if (d) {
      chartAt("insight-trend-chart", {
        tooltip: { trigger: "axis" },
        legend: { bottom: 0 },
        grid: { left: 60, right: 60, top: 30, bottom: 55 },
        xAxis: { type: "category", data: d.months },
        yAxis: [{ type: "value", name: "%", scale: true }, { type: "value", name: d.labels.net_new }],
        series: [
          { name: d.labels.nrr, type: "line", data: d.nrr },
          { name: d.labels.grr, type: "line", data: d.grr },
          { name: d.labels.net_new, type: "bar", yAxisIndex: 1, data: d.net_new, itemStyle: { opacity: 0.5 } }
        ]
      });
      chartAt("insight-band-chart", {
        tooltip: { trigger: "axis" },
        legend: { bottom: 0 },
        grid: { left: 50, right: 20, top: 20, bottom: 55 },
        xAxis: { type: "category", data: d.band_days },
        yAxis: { type: "value" },
        series: [
          { name: d.labels.red, type: "bar", stack: "b", color: "#c0392b", data: d.red },
          { name: d.labels.yellow, type: "bar", stack: "b", color: "#d4a017", data: d.yellow },
          { name: d.labels.green, type: "bar", stack: "b", color: "#2e8b57", data: d.green }
        ]
      });
    }
    var r = readJson("renewal-data");
    if (r) {
      chartAt("renewal-chart", {
        tooltip: { trigger: "axis" },
        legend: { bottom: 0 },
        grid: { left: 80, right: 20, top: 20, bottom: 55 },
        xAxis: { type: "category", data: r.months },
        yAxis: { type: "value" },
        series: [
          { name: r.labels.arr, type: "bar", data: r.arr },
          { name: r.labels.expected, type: "bar", data: r.expected },
          { name: r.labels.committed, type: "line", data: r.committed }
        ]
      });
    }
    var k = readJson("drivers-data");
    if (k) {
      chartAt("drivers-chart", {
        tooltip: { trigger: "axis" },
        grid: { left: 200, right: 30, top: 10, bottom: 30 },
        xAxis: { type: "value", min: 0.5, max: 1, name: k.label },
        yAxis: { type: "category", data: k.names },
        series: [{ name: k.label, type: "bar", data: k.separation }]
      });
    }
    var c = readJson("calibration-data");
    if (c) {
      chartAt("calibration-chart", {
        tooltip: { trigger: "axis" },
        legend: { bottom: 0 },
        grid: { left: 50, right: 20, top: 20, bottom: 55 },
        xAxis: { type: "category", data: c.predicted.map(function (_, i) { return String(i + 1); }) },
        yAxis: { type: "value", name: "%" },
        series: [
          { name: c.labels.predicted, type: "bar", data: c.predicted },
          { name: c.labels.observed, type: "bar", data: c.observed }
        ]
      });
    }
  }

  // Text for an HTML tooltip: names are people's input.
  function esc(t) {
    return String(t).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
  }

  // The team page: workload bars, the CSMs × skills heat map and one CSM's radar.
  function teamCharts() {
    var w = readJson("team-workload-data");
    if (w) {
      chartAt("team-workload-chart", {
        tooltip: { trigger: "axis" },
        legend: { bottom: 0 },
        grid: { left: 90, right: 60, top: 30, bottom: 80 },
        xAxis: { type: "category", data: w.names, axisLabel: { interval: 0, rotate: w.names.length > 6 ? 30 : 0 } },
        yAxis: [{ type: "value", name: w.labels.arr }, { type: "value", name: w.labels.tasks, splitLine: { show: false }, minInterval: 1 }],
        series: [
          { name: w.labels.arr, type: "bar", data: w.arr, barMaxWidth: 28 },
          { name: w.labels.at_risk_arr, type: "bar", data: w.at_risk_arr, color: "#c0392b", barMaxWidth: 28 },
          { name: w.labels.open_tasks, type: "line", yAxisIndex: 1, data: w.open_tasks },
          { name: w.labels.overdue_tasks, type: "line", yAxisIndex: 1, data: w.overdue_tasks, color: "#d4a017" }
        ]
      });
    }
    var h = readJson("team-heatmap-data");
    if (h) {
      chartAt("team-heatmap", {
        tooltip: {
          position: "top",
          formatter: function (p) { return esc(h.members[p.value[1]]) + "<br>" + esc(h.skills[p.value[0]]) + ": " + esc(h.labels.level) + " " + p.value[2]; }
        },
        grid: { left: 120, right: 30, top: 10, bottom: 130 },
        xAxis: { type: "category", data: h.skills, name: h.labels.skill, nameLocation: "middle", nameGap: 115, splitArea: { show: true }, axisLabel: { interval: 0, rotate: 35, width: 120, overflow: "truncate" } },
        yAxis: { type: "category", data: h.members, inverse: true, splitArea: { show: true } },
        visualMap: { min: 1, max: h.max, calculable: false, orient: "horizontal", right: 10, bottom: 0, itemHeight: 80, inRange: { color: ["#fdecea", "#fff5d6", "#cfe8d8", "#1f7a4a"] } },
        series: [{ name: h.labels.level, type: "heatmap", data: h.cells, label: { show: true } }]
      });
    }
    var r = readJson("team-radar-data");
    if (r) {
      var series = [{ name: r.labels.current, value: r.current, areaStyle: { opacity: 0.25 } }];
      if (r.expected) series.push({ name: r.labels.expected, value: r.expected, lineStyle: { type: "dashed" } });
      if (r.next) series.push({ name: r.labels.next, value: r.next, lineStyle: { type: "dotted" } });
      chartAt("team-radar", {
        tooltip: {},
        legend: { bottom: 0 },
        radar: { indicator: r.indicators, radius: "62%", axisName: { color: "#444", fontSize: 11 } },
        series: [{ type: "radar", data: series }]
      });
    }
  }

  // A button marked data-confirm asks before its form is sent (deleting a skill).
  document.addEventListener("click", function (e) {
    var b = e.target && e.target.closest ? e.target.closest("[data-confirm]") : null;
    if (b && !window.confirm(b.getAttribute("data-confirm"))) e.preventDefault();
  });

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  // A line-and-bar chart from a JSON block: {labels, x_name, y_name, series: [{name, type, data, y2}]}.
  function comboCharts() {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-combo-chart]").forEach(function (el) {
      var dataEl = document.getElementById(el.getAttribute("data-combo-chart"));
      if (!dataEl) return;
      var data = JSON.parse(dataEl.textContent);
      var chart = echarts.init(el);
      var hasY2 = data.series.some(function (s) { return s.y2; });
      var yAxis = [{ type: "value", name: data.y_name }];
      if (hasY2) yAxis.push({ type: "value", name: data.series.filter(function (s) { return s.y2; })[0].name, splitLine: { show: false } });
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 50, right: hasY2 ? 60 : 20, top: 40, bottom: 40 },
        xAxis: { type: "category", name: data.x_name, nameLocation: "middle", nameGap: 28, data: data.labels },
        yAxis: yAxis,
        series: data.series.map(function (s) {
          return { name: s.name, type: s.type, data: s.data, yAxisIndex: s.y2 ? 1 : 0, connectNulls: true, barMaxWidth: 28 };
        })
      });
      charts.push(chart);
    });
  }

  // The report builder's chart: {kind, categories, series: [{name, data}], x_name, y_name, stack}.
  function reportChart() {
    var d = readJson("report-chart-data");
    if (!d) return;
    var option;
    if (d.kind === "pie") {
      option = {
        tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
        legend: { type: "scroll", bottom: 0 },
        series: [{
          name: d.y_name, type: "pie", radius: ["30%", "65%"],
          label: { formatter: "{b}\n{d}%" },
          data: d.categories.map(function (c, i) { return { name: c, value: d.series[0].data[i] }; })
        }]
      };
    } else {
      option = {
        tooltip: { trigger: "axis" },
        legend: { type: "scroll", bottom: 0 },
        grid: { left: 80, right: 30, top: 40, bottom: 70, containLabel: true },
        xAxis: { type: "category", name: d.x_name, nameLocation: "middle", nameGap: 30, data: d.categories, axisLabel: { interval: 0, hideOverlap: true } },
        yAxis: { type: "value", name: d.y_name },
        series: d.series.map(function (s) {
          return {
            name: s.name, type: d.kind, data: s.data, connectNulls: true, barMaxWidth: 40,
            color: s.color || undefined,
            stack: d.stack ? "total" : undefined,
            label: { show: d.series.length === 1 && d.categories.length <= 12, position: "top" }
          };
        })
      };
    }
    chartAt("report-chart", option);
  }

  onReady(function () {
    syncViewQuery();
    reportChart();
    usageCharts();
    comboCharts();
    insightCharts();
    teamCharts();
  });
})();
