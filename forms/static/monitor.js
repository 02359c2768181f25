// Draws the dashboard's charts with ECharts from the JSON each chart's element carries (data-chart); a click on a
// bar, point or cell opens the cases behind it. The tables beside the charts hold the same figures and links.
// Charts start on load and on an htmx swap, and are disposed of before their element is swapped away.
(function () {
  // Okabe-Ito: distinguishable with every common colour-vision deficiency.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"];
  const STATE = { on_time: "#009E73", at_risk: "#E69F00", breached: "#D55E00", paused: "#999999" };
  const HEAT = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];
  const FONT = "'Noto Sans KR', sans-serif";
  window.monitorCharts = {};

  function option(spec) {
    const base = { color: PALETTE, textStyle: { fontFamily: FONT }, tooltip: { trigger: "item" }, animation: false,
                   grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true } };
    const unit = v => (v === null || v === undefined ? "—" : v + " " + spec.unit);
    if (spec.kind === "heat") {
      const max = Math.max(1, ...spec.data.map(d => d[2]));
      return { ...base, grid: { ...base.grid, bottom: 48 },
        tooltip: { formatter: p => spec.y[p.value[1]] + " · " + spec.x[p.value[0]] + ": " + unit(p.value[2]) },
        xAxis: { type: "category", data: spec.x }, yAxis: { type: "category", data: spec.y },
        visualMap: { min: 0, max: max, calculable: false, orient: "horizontal", left: "center", bottom: 0,
                     itemHeight: 120, inRange: { color: HEAT } },
        series: [{ type: "heatmap", data: spec.data, label: { show: true } }] };
    }
    const horizontal = spec.kind === "hbars";
    const cat = { type: "category", data: spec.categories, axisLabel: { interval: 0, width: 110, overflow: "truncate" } };
    const val = { type: "value", name: spec.unit, nameTextStyle: { fontFamily: FONT },
                  minInterval: spec.kind === "lines" || spec.kind === "bars" ? 0 : 1 };
    if (spec.kind === "lines") { cat.axisLabel = { hideOverlap: true }; }
    if (horizontal) { cat.axisLabel = { width: 150, overflow: "truncate" }; }
    return { ...base, legend: { top: 0 }, tooltip: { trigger: "axis", valueFormatter: unit },
      xAxis: horizontal ? val : cat, yAxis: horizontal ? cat : val,
      series: spec.series.map(s => ({
        name: s.name, data: s.data, type: spec.kind === "lines" ? "line" : "bar",
        stack: spec.kind === "stacked" ? "all" : undefined,
        connectNulls: spec.kind === "lines" ? true : undefined, symbolSize: 8,
        itemStyle: s.state ? { color: STATE[s.state] } : undefined,
        emphasis: { focus: "series" } })) };
  }

  function start(root) {
    root.querySelectorAll("[data-chart]").forEach(el => {
      if (echarts.getInstanceByDom(el)) { return; }
      const spec = JSON.parse(el.dataset.chart);
      const chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option(spec));
      chart.on("click", p => {
        const i = spec.kind === "heat" ? p.value[1] : p.dataIndex;
        if (spec.links && spec.links[i]) { window.location.assign(spec.links[i]); }
      });
      window.monitorCharts[el.id] = chart;
    });
  }

  function stop(root) {
    root.querySelectorAll("[data-chart]").forEach(el => {
      const chart = echarts.getInstanceByDom(el);
      if (chart) { chart.dispose(); delete window.monitorCharts[el.id]; }
    });
  }

  const status = document.getElementById("chart-status");
  try {
    start(document);
    window.monitorReady = true;
  } catch (err) {
    window.monitorReady = false;
    if (status) { status.textContent = status.dataset.failed; }
  }
  document.body.addEventListener("htmx:beforeSwap", e => stop(e.detail.target));
  document.body.addEventListener("htmx:afterSwap", e => start(e.detail.target));
  window.addEventListener("resize", () => Object.values(window.monitorCharts).forEach(c => c.resize()));
})();
