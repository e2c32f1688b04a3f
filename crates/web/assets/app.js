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

  onReady(function () {
    syncViewQuery();
    usageCharts();
    comboCharts();
    insightCharts();
  });
})();
