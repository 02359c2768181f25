"""Deploying definitions and finding them again.

A deployment is validated whole (processes.parsing) before anything is stored; then each process,
collaboration and decision in it gets the next version of its key. Re-deploying files identical to
the latest version of every key they define changes nothing. Instances keep the version they
started on, because a stored deployment is never modified.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bokji.config import get_settings
from bokji.definitions.models import Definition, Deployment
from bokji.errors import Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.offices import service as offices
from forms.schema import FormDefinition
from processes import cache
from processes.diagram import called_processes, file_defining
from processes.parsing import Bundle, Specs, check_bundle


@dataclass
class DeployResult:
    deployment: Deployment
    definitions: list[Definition]
    created: bool
    warnings: list[str] = field(default_factory=list)
    timer_starts: list[Definition] = field(default_factory=list)  # new versions started by a timer


def checksum(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _find_form(key: str) -> bytes | None:
    path = get_settings().forms_dir / f"{key}.form"
    if "/" in key or ".." in key or not path.is_file():
        return None
    return path.read_bytes()


def _deployed_files(session: Session):
    def find(kind: str, key: str) -> dict[str, bytes] | None:
        definition = latest(session, key, kind=kind, required=False)
        if definition is None:
            return None
        return {n: c.encode() for n, c in definition.deployment.files.items()}

    return find


def _check_forms(files: dict[str, bytes]) -> None:
    """Whole forms, patterns included (RE2 or refused): the refusal names the file, form and field."""
    for name, content in files.items():
        if name.endswith(".form"):
            try:
                FormDefinition.from_dict(json.loads(content))
            except Invalid as exc:
                raise Invalid(_("%(file)s: %(message)s") % {"file": name, "message": exc.message},
                              **{**exc.detail, "file": name, "element": None}) from None


def deploy(session: Session, files: dict[str, bytes], *, actor: str, source: str, ministry: str | None = None,
           topics: Collection[str] = (), calculations: Collection[str] = ()) -> DeployResult:
    """Check and store the files as the next version of every process and decision in them.

    `topics` have a handler (others warn: they wait as external tasks); `calculations` are the names
    business rule tasks may call (others are refused). A process's owning ministry is the one its model
    declares, else the deployer's `ministry`. Giving a new timer-start version the instance that waits
    for its time is the caller's step (bokji/steps)."""
    for name in files:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise Invalid(_("'%(file)s': file names must be plain names.") % {"file": name}, file=name,
                          reason="bad file name")
    try:
        texts = {name: content.decode("utf-8") for name, content in files.items()}
    except UnicodeDecodeError as exc:
        raise Invalid(_("A file is not UTF-8 text: %(error)s") % {"error": exc}, reason="not UTF-8") from None
    digest = checksum(files)
    bundle = check_bundle(
        files,
        known_topics=topics,
        find_form=_find_form,
        find_deployed=_deployed_files(session),
        calculations=calculations,
    )
    _check_forms(bundle.files)
    _check_declarations(session, bundle, ministry)
    keys = (
        [("process", k, n) for k, n in bundle.processes.items()]
        + [("collaboration", k, n) for k, n in bundle.collaborations.items()]
        + [("decision", k, n) for k, n in bundle.decisions.items()]
    )
    # Identical re-deploy: same files, and they are still the latest version of every key.
    for previous in session.scalars(select(Deployment).where(Deployment.checksum == digest)):
        current = [latest(session, key, kind=kind, required=False) for kind, key, _ in keys]
        if all(d is not None and d.deployment_id == previous.id for d in current):
            return DeployResult(previous, list(previous.definitions), created=False,
                                warnings=list(previous.warnings))
    stored = {name: text for name, text in texts.items()}
    stored.update({n: c.decode("utf-8") for n, c in bundle.files.items() if n not in stored})
    deployment = Deployment(checksum=digest, files=stored, warnings=bundle.warnings, source=source,
                            deployed_by=actor)
    session.add(deployment)
    session.flush()
    created = []
    for kind, key, name in keys:
        version = (
            session.scalar(
                select(func.max(Definition.version)).where(Definition.kind == kind, Definition.key == key)
            )
            or 0
        ) + 1
        definition = Definition(kind=kind, key=key, version=version, name=name, deployment=deployment)
        info = bundle.process_info.get(key) if kind != "decision" else None
        if info is not None:
            definition.process_kind, definition.inputs = info.kind, list(info.inputs)
            definition.starter_groups, definition.starter_users = list(info.starter_groups), list(info.starter_users)
            definition.office, definition.ministry = info.office, info.ministry or ministry
        session.add(definition)
        created.append(definition)
    session.flush()
    timer_starts = [d for d in created if d.kind == "process" and d.key in bundle.timer_starts]
    return DeployResult(deployment, created, created=True, warnings=bundle.warnings, timer_starts=timer_starts)


def _check_declarations(session: Session, bundle: Bundle, ministry: str | None) -> None:
    """Every process names its owning ministry (or the deployer has one); a declared office exists;
    nobody starts a timer-start process, so it must say whose its cases are."""
    for key, info in bundle.process_info.items():
        where = f"process '{key}'"
        if not (info.ministry or ministry):
            raise Invalid(_("Process '%(key)s' declares no ministry (camunda:property ministry) and the deployer "
                            "has none.") % {"key": key}, field="ministry", element=key)
        if info.office is not None:
            offices.check(session, info.office, field=f"{where}: property office")
        if key in bundle.timer_starts and info.office is None:
            raise Invalid(_("Process '%(key)s' starts on a timer, so it must declare the office its cases belong "
                            "to (camunda:property office).") % {"key": key}, field="office", element=key)


def library_files(directory: Path) -> dict[str, bytes]:
    """The BPMN, DMN and form files of a folder (the process library), by name."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())
            if p.suffix in (".bpmn", ".dmn", ".form") and p.is_file()}


def latest(session: Session, key: str, *, kind: str | None = None, required: bool = True) -> Definition | None:
    query = select(Definition).where(Definition.key == key)
    if kind:
        query = query.where(Definition.kind == kind)
    definition = session.scalars(query.order_by(Definition.version.desc()).limit(1)).first()
    if definition is None and required:
        raise NotFound(_("No definition with key '%(key)s' is deployed.") % {"key": key}, field="key")
    return definition


def get_version(session: Session, key: str, version: int | None) -> Definition:
    if version is None:
        definition = session.scalars(
            select(Definition)
            .where(Definition.key == key, Definition.kind.in_(("process", "collaboration")))
            .order_by(Definition.version.desc())
            .limit(1)
        ).first()
    else:
        definition = session.scalars(
            select(Definition).where(
                Definition.key == key,
                Definition.version == version,
                Definition.kind.in_(("process", "collaboration")),
            )
        ).first()
    if definition is None:
        if version:
            raise NotFound(_("Version %(version)s of '%(key)s' is not deployed.") % {"version": version, "key": key},
                           field="key")
        raise NotFound(_("A process '%(key)s' is not deployed.") % {"key": key}, field="key")
    return definition


def list_definitions(session: Session, *, all_versions: bool = False) -> list[Definition]:
    query = select(Definition).order_by(Definition.key, Definition.version.desc())
    rows = list(session.scalars(query))
    if all_versions:
        return rows
    seen, out = set(), []
    for row in rows:
        if (row.kind, row.key) not in seen:
            seen.add((row.kind, row.key))
            out.append(row)
    return out


def specs_of(session: Session, definition: Definition) -> Specs:
    """Parsed specs for a stored version, from the per-version cache."""

    def load() -> dict[str, bytes]:
        deployment = session.get(Deployment, definition.deployment_id)
        return {n: c.encode() for n, c in deployment.files.items()}

    return cache.specs_for(str(definition.deployment_id), definition.key, load)


def form_of(session: Session, definition_deployment_id, form_key: str) -> dict | None:
    deployment = session.get(Deployment, definition_deployment_id)
    text = deployment.files.get(f"{form_key}.form") if deployment else None
    if text is None:
        return None
    return json.loads(text)


@dataclass(frozen=True)
class Diagram:
    key: str
    version: int
    name: str | None
    file: str
    xml: str
    calls: list[str]


def diagram(session: Session, key: str, version: int | None = None) -> Diagram:
    """The BPMN a deployed process version was drawn in, for the diagram page."""
    definition = get_version(session, key, version)
    found = file_defining(definition.deployment.files, definition.key)
    if found is None:
        raise NotFound(_("No BPMN file of deployment %(deployment)s defines '%(key)s'.") % {
            "deployment": definition.deployment_id, "key": key}, field="key")
    name, xml = found
    return Diagram(definition.key, definition.version, definition.name, name, xml, called_processes(xml, key))
