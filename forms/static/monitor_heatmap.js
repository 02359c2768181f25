// Colours a process by the monitor's heatmap: each element gets a marker class heat-1 … heat-5 (of the busiest
// element's count) and an overlay with its cases and mean business days there. The bpmn.io watermark stays.
(function () {
  const xml = JSON.parse(document.getElementById("diagram-xml").textContent);
  const heat = JSON.parse(document.getElementById("heat-data").textContent);
  const status = document.getElementById("diagram-status");
  const viewer = new BpmnJS({ container: "#canvas" });
  viewer.importXML(xml).then(() => {
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    const overlays = viewer.get("overlays");
    canvas.zoom("fit-viewport");
    let marked = 0;
    heat.elements.forEach(e => {
      const shape = registry.get(e.id);
      if (!shape) { return; }
      if (e.level > 0) { canvas.addMarker(e.id, "heat-" + e.level); }
      const badge = document.createElement("div");
      badge.className = "heat-badge";
      badge.dataset.element = e.id;
      const days = e.mean_days === null ? "—" : Number(e.mean_days).toFixed(1);
      const fill = (text, n) => text.replace("{n}", n);
      badge.textContent = fill(heat.labels.cases, e.count) + " · " + fill(heat.labels.days, days);
      if (e.open) { badge.title = fill(heat.labels.open, e.open); }
      overlays.add(e.id, "heat", { position: { bottom: -4, left: 0 }, html: badge });
      marked++;
    });
    window.heatmapResult = { ok: true, marked: marked };
  }).catch(err => {
    window.heatmapResult = { ok: false, error: String(err) };
    status.textContent = status.dataset.failed;
  }).finally(() => { status.dataset.done = "true"; });
})();
