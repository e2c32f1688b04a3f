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

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  onReady(function () {
    syncViewQuery();
    usageCharts();
  });
})();
