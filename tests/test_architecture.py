"""The shape of the code: no import cycle between packages, SpiffWorkflow only behind processes/,
and the schema the migrations make is the one the models declare (statuses checked by the database)."""

from __future__ import annotations

import ast

import pytest
from sqlalchemy import text

from tests.conftest import ROOT

LAYERS = ("bokji", "api", "workers", "processes")


def _package(module: str) -> str:
    """The node of the graph: a domain package (`bokji.jobs`), a top-level module of bokji
    (`bokji.db`), or a layer (`api`, `workers`, `processes`)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bokji" and len(parts) > 1 else parts[0]


def _imports() -> dict[str, set[tuple[str, str]]]:
    """Package → {(imported package, where)}, imports inside functions included."""
    graph: dict[str, set[tuple[str, str]]] = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
                for name in names:
                    if name.split(".")[0] in LAYERS and name != "bokji" and _package(name) != _package(module):
                        graph.setdefault(_package(module), set()).add((_package(name), str(path.relative_to(ROOT))))
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph, if there is one (depth-first, colouring nodes)."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if state.get(target) is None and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_packages():
    graph = _imports()
    cycle = _cycle({source: {target for target, _ in edges} for source, edges in graph.items()})
    if cycle:
        where = [next(w for t, w in graph[a] if t == b) for a, b in zip(cycle, cycle[1:], strict=False)]
        pytest.fail(f"import cycle: {' -> '.join(cycle)} (via {', '.join(where)})")


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_only_processes_imports_spiffworkflow_and_processes_knows_no_domain():
    for path in ROOT.glob("*/**/*.py"):
        top = path.relative_to(ROOT).parts[0]
        if top in ("tests", "node_modules", ".venv") or top.startswith("."):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for name in names:
                if name.startswith("SpiffWorkflow"):
                    assert top == "processes", f"{path}: imports {name}"
                if top == "processes" and name.startswith("bokji."):
                    # The engine adapter may use the platform's errors, settings, clock and catalog, nothing else.
                    assert name in ("bokji.errors", "bokji.config", "bokji.clock", "bokji.i18n"), \
                        f"{path}: imports {name}"


@pytest.mark.parametrize(("table", "column", "enum"), [
    ("process_instance", "status", "bokji.instances.models:InstanceStatus"),
    ("incident", "status", "bokji.instances.models:IncidentStatus"),
    ("human_task", "status", "bokji.tasks.models:TaskStatus"),
    ("job", "status", "bokji.jobs.models:JobStatus"),
    ("job", "kind", "bokji.jobs.models:JobKind"),
    ("login_throttle", "kind", "bokji.identity.models:ThrottleKind"),
    ("entitlement", "status", "bokji.entitlements.models:EntitlementStatus"),
    ("entitlement", "unit", "bokji.entitlements.models:Unit"),
    ("catalog_service", "unit", "bokji.entitlements.models:Unit"),
])
def test_statuses_are_checked_by_the_database_against_the_models_enums(table, column, enum):
    import importlib
    import re

    from bokji.db import get_engine

    module, name = enum.split(":")
    values = {member.value for member in getattr(importlib.import_module(module), name)}
    with get_engine().connect() as conn:
        definition = conn.execute(text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :n"),
                                  {"n": f"ck_{table}_{column}"}).scalar()
    assert definition is not None, f"no CHECK constraint on {table}.{column}"
    assert set(re.findall(r"'([^']*)'", definition)) == values, definition


def test_the_entitlement_table_the_migration_makes_is_the_one_the_model_declares():
    """The model's DDL, made in a scratch schema of the migrated database, gives the same indexes and
    constraints (the unique open-case index, the benefit-month exclusion, the checks) as the migration."""
    import re

    from bokji.db import get_engine
    from bokji.entitlements.models import Entitlement

    def shape(conn, schema: str) -> dict[str, str]:
        found = conn.execute(text(
            "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE t.relname = 'entitlement' AND n.nspname = :s "
            "UNION ALL SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'entitlement' "
            "AND schemaname = :s"), {"s": schema}).all()
        return {name: re.sub(rf"\b{schema}\.", "", definition) for name, definition in found}

    with get_engine().connect() as conn, conn.begin():
        migrated = shape(conn, "public")
        conn.execute(text("CREATE SCHEMA model_check"))
        conn.execute(text("SET LOCAL search_path TO model_check, public"))
        Entitlement.__table__.create(conn)
        declared = shape(conn, "model_check")
        conn.rollback()
    assert {"uq_entitlement_open_unit", "ex_entitlement_benefit_months", "ck_entitlement_status"} <= set(migrated)
    assert declared == migrated
