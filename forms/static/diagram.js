// Draws a process with bpmn-js. The bpmn.io watermark stays: it is the bundle's licence condition.
// On a case's pages the server adds what the case did (a JSON data block, #diagram-markers): elements
// completed, open and cancelled, the sequence flows taken, and where each call activity's module opens.
(function () {
  const xml = JSON.parse(document.getElementById("diagram-xml").textContent);
  const markersBlock = document.getElementById("diagram-markers");
  const markers = markersBlock ? JSON.parse(markersBlock.textContent) : null;
  const status = document.getElementById("diagram-status");
  const viewer = new BpmnJS({ container: "#canvas" });
  viewer.importXML(xml).then(({ warnings }) => {
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    canvas.zoom("fit-viewport");
    let marked = 0;
    if (markers) {
      const mark = (ids, cls) => ids.forEach(id => { if (registry.get(id)) { canvas.addMarker(id, cls); marked++; } });
      mark(markers.completed, "case-done");
      mark(markers.open, "case-open");
      mark(markers.cancelled, "case-cancelled");
      mark(markers.flows, "case-path");
      Object.entries(markers.calls).forEach(([id, call]) => {
        if (registry.get(id)) { canvas.addMarker(id, "case-call"); }
      });
      viewer.get("eventBus").on("element.click", event => {
        const call = markers.calls[event.element.id];
        if (call) { window.location.assign(call.href); }
      });
    }
    window.diagramResult = { ok: true, warnings: warnings.map(w => w.message), shapes: registry.getAll().length,
                             marked: marked };
    status.textContent = warnings.length ? status.dataset.warnings.replace("{count}", warnings.length) : "";
  }).catch(err => {
    window.diagramResult = { ok: false, error: String(err) };
    status.textContent = status.dataset.failed;
  }).finally(() => { status.dataset.done = "true"; });
})();
