// Draws the deployed process with bpmn-js. The bpmn.io watermark stays: it is the bundle's licence condition.
(function () {
  const xml = JSON.parse(document.getElementById("diagram-xml").textContent);
  const status = document.getElementById("diagram-status");
  const viewer = new BpmnJS({ container: "#canvas" });
  viewer.importXML(xml).then(({ warnings }) => {
    viewer.get("canvas").zoom("fit-viewport");
    window.diagramResult = { ok: true, warnings: warnings.map(w => w.message),
                             shapes: viewer.get("elementRegistry").getAll().length };
    status.textContent = warnings.length ? status.dataset.warnings.replace("{count}", warnings.length) : "";
  }).catch(err => {
    window.diagramResult = { ok: false, error: String(err) };
    status.textContent = status.dataset.failed;
  }).finally(() => { status.dataset.done = "true"; });
})();
