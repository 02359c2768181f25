"""Diagrams: finding the file that draws a process, and laying out BPMN files that have no diagram.

Layout (`add_diagram`): BPMNDI for files that have none, so bpmn-js can show and edit them.

Models written by hand or generated have only the semantics; bpmn-js refuses to display a process
without shapes. This lays each process out left to right: an element's column is its longest
distance from a start (back edges of loops ignored), rows in order of appearance; boundary events
sit on their task's lower edge; flows are drawn with right-angle bends. Files that already have a
diagram are left alone: a designer's layout is never overwritten.
"""

from __future__ import annotations

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

SIZES = {"event": (36, 36), "gateway": (50, 50), "activity": (100, 80)}
COLUMN, ROW, MARGIN = 160, 120, 60


def _kind(tag: str) -> str | None:
    if tag.endswith("Event"):
        return "event"
    if tag.endswith("Gateway"):
        return "gateway"
    if tag.endswith(("Task", "Activity", "SubProcess")) or tag == "task":
        return "activity"
    return None


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def add_diagram(content: bytes) -> bytes:
    """The same BPMN with a diagram for every process that has none."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=False)
    root = etree.fromstring(content, parser)
    if root.find(_q(BPMNDI, "BPMNDiagram")) is not None or root.find(_q(BPMN, "collaboration")) is not None:
        return content  # drawn already, or pools and lanes: a designer's job, not an automatic one
    nsmap = dict(root.nsmap)
    if BPMNDI not in nsmap.values() or DC not in nsmap.values() or DI not in nsmap.values():
        # lxml cannot add namespace declarations to an existing root: rebuild it with them.
        nsmap.update({"bpmndi": BPMNDI, "dc": DC, "di": DI})
        new_root = etree.Element(root.tag, nsmap=nsmap, attrib=dict(root.attrib))
        new_root.text = root.text
        for child in root:
            new_root.append(child)
        root = new_root
    for process in root.findall(_q(BPMN, "process")):
        diagram = etree.SubElement(root, _q(BPMNDI, "BPMNDiagram"), id=f"diagram_{process.get('id')}")
        plane = etree.SubElement(diagram, _q(BPMNDI, "BPMNPlane"), id=f"plane_{process.get('id')}",
                                 bpmnElement=process.get("id"))
        _lay_out(process, plane)
        etree.indent(diagram, space="  ", level=1)
        diagram.tail = "\n"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _lay_out(process, plane) -> None:
    nodes: dict[str, tuple[str, object]] = {}
    boundaries = []
    for node in process:
        if not isinstance(node.tag, str):
            continue
        tag = etree.QName(node).localname
        if tag == "boundaryEvent":
            boundaries.append(node)
        elif _kind(tag) and node.get("id"):
            nodes[node.get("id")] = (_kind(tag), node)
    flows = [(f.get("id"), f.get("sourceRef"), f.get("targetRef")) for f in process.findall(_q(BPMN, "sequenceFlow"))]
    attached = {b.get("id"): b.get("attachedToRef") for b in boundaries}
    outgoing: dict[str, list[str]] = {}
    for _, src, dst in flows:
        outgoing.setdefault(attached.get(src, src), []).append(dst)
    column, order = _columns(list(nodes), outgoing)
    row_of = _rows(order, outgoing, column)
    box: dict[str, tuple[float, float, int, int]] = {}
    for node_id in nodes:
        col, row = column.get(node_id, 0), row_of.get(node_id, 0)
        w, h = SIZES[nodes[node_id][0]]
        cx, cy = MARGIN + col * COLUMN + 50, MARGIN + row * ROW + 40
        box[node_id] = (cx - w / 2, cy - h / 2, w, h)
    on_task: dict[str, int] = {}
    for b in boundaries:  # on the task's lower edge, right to left when a task has several
        task = b.get("attachedToRef")
        x, y, w, h = box[task]
        n = on_task[task] = on_task.get(task, -1) + 1
        box[b.get("id")] = (x + w - 28 - 40 * n, y + h - 18, 36, 36)
    for element_id, (x, y, w, h) in box.items():
        shape = etree.SubElement(plane, _q(BPMNDI, "BPMNShape"), id=f"{element_id}_di", bpmnElement=element_id)
        if nodes.get(element_id, ("",))[0] == "gateway":
            shape.set("isMarkerVisible", "true")
        etree.SubElement(shape, _q(DC, "Bounds"), x=f"{x:g}", y=f"{y:g}", width=str(w), height=str(h))
    for flow_id, src, dst in flows:
        if src not in box or dst not in box:
            continue
        sx, sy, sw, sh = box[src]
        tx, ty, tw, th = box[dst]
        if src in attached:  # leave a boundary event downwards
            points = [(sx + sw / 2, sy + sh), (sx + sw / 2, ty + th / 2), (tx, ty + th / 2)]
        elif tx > sx and sy + sh / 2 == ty + th / 2 and tx - (sx + sw) > COLUMN:
            # Same row, skipping columns: over the elements in between, not through them.
            above = min(sy, ty) - 20
            points = [(sx + sw / 2, sy), (sx + sw / 2, above), (tx + tw / 2, above), (tx + tw / 2, ty)]
        elif tx > sx and ty + th / 2 > sy + sh / 2:  # a branch below: down first, then along the branch's row
            points = [(sx + sw / 2, sy + sh), (sx + sw / 2, ty + th / 2), (tx, ty + th / 2)]
        elif tx > sx and ty + th / 2 < sy + sh / 2:  # back up to the main line: along this row, then up into it
            points = [(sx + sw, sy + sh / 2), (tx + tw / 2, sy + sh / 2), (tx + tw / 2, ty + th)]
        elif tx > sx:
            points = [(sx + sw, sy + sh / 2), (tx, ty + th / 2)]
        else:  # a loop back: under both elements
            low = max(sy + sh, ty + th) + 30
            points = [(sx + sw / 2, sy + sh), (sx + sw / 2, low), (tx + tw / 2, low), (tx + tw / 2, ty + th)]
        edge = etree.SubElement(plane, _q(BPMNDI, "BPMNEdge"), id=f"{flow_id}_di", bpmnElement=flow_id)
        for x, y in points:
            etree.SubElement(edge, _q(DI, "waypoint"), x=f"{x:g}", y=f"{y:g}")


def _columns(node_ids: list[str], outgoing: dict[str, list[str]]) -> dict[str, int]:
    """Longest distance from a node without incoming flows, ignoring the back edges of loops."""
    incoming = {d for targets in outgoing.values() for d in targets}
    starts = [n for n in node_ids if n not in incoming] or node_ids[:1]
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def visit(n: str) -> None:  # iterative DFS would be needed only for models far larger than ours
        state[n] = 1
        for m in outgoing.get(n, []):
            if state.get(m) == 1:
                back.add((n, m))
            elif m not in state:
                visit(m)
        state[n] = 2

    for s in starts:
        if s not in state:
            visit(s)
    column = {n: 0 for n in node_ids}
    order = _topological(node_ids, outgoing, back)
    for n in order:
        for m in outgoing.get(n, []):
            if (n, m) not in back and m in column:
                column[m] = max(column[m], column[n] + 1)
    return column, order


def _rows(order: list[str], outgoing: dict[str, list[str]], column: dict[str, int]) -> dict[str, int]:
    """A node takes the row of the first predecessor that reaches it (a gateway's first branch stays on
    its line, the others go below), or the next free row in its column."""
    wanted: dict[str, int] = {}
    taken: set[tuple[int, int]] = set()
    row: dict[str, int] = {}
    for n in order:
        r = wanted.get(n, 0)
        while (column[n], r) in taken:
            r += 1
        row[n] = r
        taken.add((column[n], r))
        for i, m in enumerate(outgoing.get(n, [])):
            wanted.setdefault(m, r + i)
    return row


def _topological(node_ids: list[str], outgoing: dict[str, list[str]], back: set[tuple[str, str]]) -> list[str]:
    indegree = {n: 0 for n in node_ids}
    for n, targets in outgoing.items():
        for m in targets:
            if (n, m) not in back and m in indegree:
                indegree[m] += 1
    ready = [n for n in node_ids if indegree[n] == 0]
    order = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in outgoing.get(n, []):
            if (n, m) not in back and m in indegree:
                indegree[m] -= 1
                if indegree[m] == 0:
                    ready.append(m)
    return order


def _parse(text: str):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(text.encode(), parser)


def file_defining(files: dict[str, str], process_id: str) -> tuple[str, str] | None:
    """(file name, BPMN text) of the deployed file that defines `process_id`."""
    for name, text in sorted(files.items()):
        if name.endswith(".bpmn") and any(p.get("id") == process_id for p in _parse(text).iter(_q(BPMN, "process"))):
            return name, text
    return None


def called_processes(text: str, process_id: str) -> list[str]:
    """The processes a process calls (its call activities' targets), in drawing order, once each."""
    for process in _parse(text).iter(_q(BPMN, "process")):
        if process.get("id") == process_id:
            found = [c.get("calledElement") for c in process.iter(_q(BPMN, "callActivity"))]
            return list(dict.fromkeys(c for c in found if c))
    return []


def process_graph(text: str, process_id: str) -> dict[str, object] | None:
    """What a case's markers need of one process: its sequence flows (id, source, target), its call
    activities (element id → called process) and its embedded sub-processes' ids (their elements are drawn
    in this same diagram). None when the text does not define `process_id`."""
    for process in _parse(text).iter(_q(BPMN, "process")):
        if process.get("id") == process_id:
            return {
                "flows": [(f.get("id"), f.get("sourceRef"), f.get("targetRef"))
                          for f in process.iter(_q(BPMN, "sequenceFlow"))],
                "calls": {c.get("id"): c.get("calledElement") for c in process.iter(_q(BPMN, "callActivity"))
                          if c.get("id") and c.get("calledElement")},
                "subprocesses": [s.get("id") for s in process.iter(_q(BPMN, "subProcess"), _q(BPMN, "transaction"))
                                 if s.get("id")],
            }
    return None
