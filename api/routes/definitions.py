from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Response, UploadFile
from pydantic import BaseModel

from api.deps import STAFF, R, SessionDep, requires
from bokji.definitions import service as definitions
from bokji.errors import Invalid, NotFound
from bokji.identity.service import Principal
from bokji.steps import service as steps

router = APIRouter(prefix="/definitions", tags=["definitions"])

MAX_FILE_BYTES = 5 * 1024 * 1024


class DefinitionOut(BaseModel):
    id: str
    kind: str
    key: str
    version: int
    name: str | None
    deployment_id: str
    deployed_at: datetime


class DeployOut(BaseModel):
    deployment_id: str
    created: bool
    definitions: list[DefinitionOut]
    warnings: list[str]
    files: list[str]


def _out(d) -> DefinitionOut:
    return DefinitionOut(id=str(d.id), kind=d.kind, key=d.key, version=d.version, name=d.name,
                         deployment_id=str(d.deployment_id), deployed_at=d.deployed_at)


@router.post("", response_model=DeployOut, status_code=201)
def deploy(
    session: SessionDep,
    response: Response,
    who: Annotated[Principal, Depends(requires(R.DESIGNER, R.ADMIN))],
    files: Annotated[list[UploadFile], File(description="BPMN, DMN and .form files")],
) -> DeployOut:
    """Validate and store a new version of every process/decision in the files (422 names the problem)."""
    contents: dict[str, bytes] = {}
    for upload in files:
        name = upload.filename or ""
        data = upload.file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise Invalid(f"{name}: larger than {MAX_FILE_BYTES} bytes", file=name, reason="too large")
        if name in contents:
            raise Invalid(f"{name}: uploaded twice", file=name, reason="duplicate file name")
        contents[name] = data
    result = steps.deploy(session, contents, actor=who.username, source="api", ministry=who.ministry)
    if not result.created:
        response.status_code = 200
    return DeployOut(
        deployment_id=str(result.deployment.id), created=result.created,
        definitions=[_out(d) for d in result.definitions], warnings=result.warnings,
        files=sorted(result.deployment.files),
    )


@router.get("", response_model=list[DefinitionOut])
def list_definitions(
    session: SessionDep,
    who: Annotated[Principal, Depends(requires(*STAFF))],
    all_versions: bool = False,
) -> list[DefinitionOut]:
    """The latest version of each key (or every version with `all_versions=true`)."""
    return [_out(d) for d in definitions.list_definitions(session, all_versions=all_versions)]


@router.get("/{key}/versions/{version}/files/{name}")
def definition_file(
    session: SessionDep,
    who: Annotated[Principal, Depends(requires(*STAFF))],
    key: str, version: int, name: str,
) -> Response:
    """One stored file of a version, exactly as deployed (for the diagram viewer and diffs)."""
    definition = definitions.get_version(session, key, version)
    text = definition.deployment.files.get(name)
    if text is None:
        raise NotFound(f"version {version} of {key!r} has no file {name!r}", field="name")
    media = "application/json" if name.endswith(".form") else "application/xml"
    return Response(text, media_type=media)
