"""Diagrams for BPMN files without one: every element drawn, nothing else changed, layouts kept."""

from __future__ import annotations

import shutil

import pytest
from lxml import etree

from bokji.config import ROOT
from processes.diagram import BPMN, BPMNDI, add_diagram, called_processes, file_defining
from tests.conftest import FIXTURES

LIBRARY = sorted((ROOT / "processes" / "bpmn").glob("*.bpmn"))


def _drawn(content: bytes) -> tuple[set[str], set[str], set[str]]:
    root = etree.fromstring(content)
    elements = {n.get("id") for p in root.iter(f"{{{BPMN}}}process") for n in p
                if isinstance(n.tag, str) and etree.QName(n).localname != "sequenceFlow" and n.get("id")
                and etree.QName(n).localname not in ("extensionElements", "laneSet")}
    flows = {f.get("id") for f in root.iter(f"{{{BPMN}}}sequenceFlow")}
    shapes = {s.get("bpmnElement") for s in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{{{BPMNDI}}}BPMNEdge")}
    return elements | flows, shapes | edges, elements


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_every_library_model_draws_every_element_and_flow(path):
    content = path.read_bytes()
    wanted, drawn, _ = _drawn(content)
    assert wanted <= drawn, f"{path.name}: not drawn: {sorted(wanted - drawn)}"
    assert add_diagram(content) == content  # drawn already: left alone


def test_layout_adds_a_diagram_and_changes_nothing_else(tmp_path):
    source = (FIXTURES / "bpmn" / "timers.bpmn").read_bytes()
    assert b"BPMNDiagram" not in source
    out = add_diagram(source)
    wanted, drawn, elements = _drawn(out)
    assert wanted == drawn and elements
    semantic = etree.fromstring(out)
    for diagram in semantic.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        semantic.remove(diagram)
    original = etree.fromstring(source)
    processes = [etree.tostring(p, method="c14n", exclusive=True) for p in semantic.iter(f"{{{BPMN}}}process")]
    assert processes == [etree.tostring(p, method="c14n", exclusive=True) for p in original.iter(f"{{{BPMN}}}process")]
    attached = {b.get("id"): b.get("attachedToRef") for b in original.iter(f"{{{BPMN}}}boundaryEvent")}
    for plane in etree.fromstring(out).iter(f"{{{BPMNDI}}}BPMNPlane"):  # one per process
        boxes = {s.get("bpmnElement"): tuple(float(s[0].get(k)) for k in ("x", "y", "width", "height"))
                 for s in plane.iter(f"{{{BPMNDI}}}BPMNShape")}
        here = {e: t for e, t in attached.items() if e in boxes}
        for event, task in here.items():  # a boundary event sits on its task's edge
            (ex, ey, ew, eh), (tx, ty, tw, th) = boxes[event], boxes[task]
            assert tx <= ex + ew / 2 <= tx + tw and ey <= ty + th <= ey + eh
        assert len({boxes[e] for e in here}) == len(here)  # two on one task sit side by side
        others = [(k, v) for k, v in boxes.items() if k not in here]
        for i, (a, (ax, ay, aw, ah)) in enumerate(others):  # no two other shapes overlap
            for b, (bx, by, bw, bh) in others[i + 1:]:
                assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)


def test_cli_layout_in_place(spawn, tmp_path):
    target = tmp_path / "review_and_pay.bpmn"
    shutil.copy(FIXTURES / "bpmn" / "review_and_pay.bpmn", target)
    proc = spawn("layout", str(target))
    assert proc.popen.wait(60) == 0 and "diagram added" in proc.stop()
    assert b"BPMNShape" in target.read_bytes()
    again = spawn("layout", str(target))
    assert again.popen.wait(60) == 0 and "unchanged" in again.stop()
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<bpmn:definitions")
    bad = spawn("layout", str(broken))
    assert bad.popen.wait(60) == 2
    output = bad.stop()
    assert "broken.bpmn" in output and "Traceback" not in output


def test_which_file_draws_a_process_and_what_it_calls():
    files = {p.name: p.read_text() for p in LIBRARY}
    name, text = file_defining(files, "nblss_housing")
    assert name == "nblss_housing.bpmn"
    assert called_processes(text, "nblss_housing")[:3] == ["module_intake", "module_investigation",
                                                         "module_eligibility"]
    assert file_defining(files, "nope") is None
