"""docker-compose.yml cannot run here (no Docker engine), so check it against the code instead."""

from __future__ import annotations

from pathlib import Path

import yaml

from bokji.cli import build_parser
from bokji.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_every_compose_command_is_a_bokji_subcommand():
    parser = build_parser()
    bokji_services = {n: s for n, s in _services().items() if s.get("image") == "bokji:latest"}
    assert set(bokji_services) == {"migrate", "api", "worker", "scheduler", "simulator"}
    for name, service in bokji_services.items():
        args = parser.parse_args(service["command"])  # raises SystemExit on an unknown command/flag
        assert args.command == service["command"][0], name


def test_every_environment_name_is_a_setting():
    names = set()
    for field, info in Settings.model_fields.items():
        names.add(f"BOKJI_{field.upper()}")
        alias = info.validation_alias
        for choice in getattr(alias, "choices", []):
            names.add(choice)
    for service in _services().values():
        if service.get("image") != "bokji:latest":
            continue
        unknown = set(service["environment"]) - names
        assert unknown == set(), unknown


def test_dockerfile_entrypoint_is_the_cli():
    text = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["bokji"]' in text
    assert 'bokji = "bokji.cli:main"' in (ROOT / "pyproject.toml").read_text()
