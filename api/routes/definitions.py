from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Response, UploadFile
from pydantic import BaseModel, Field

from api.deps import INT4_MAX, STAFF, R, SessionDep, requires
from bokji.config import get_settings
from bokji.definitions import service as definitions
from bokji.errors import Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.steps import service as steps

router = APIRouter(prefix="/definitions", tags=["definitions"])


class DefinitionOut(BaseModel):
    id: str
    kind: str
    key: str
    version: int
    name: str | None
    deployment_id: str
    deployed_at: datetime
    # How it is started, as the model declares (processes/README.md): None for decisions.
    process_kind: str | None = Field(None, description="module | variant | process")
    starter_groups: list[str] = []
    starter_users: list[str] = []
    inputs: list[str] = Field([], description="the start variables it takes")
    office: str | None = None
    ministry: str | None = Field(None, description="the owning ministry")


class DeployOut(BaseModel):
    deployment_id: str
    created: bool
    definitions: list[DefinitionOut]
    warnings: list[str]
    files: list[str]


def _out(d) -> DefinitionOut:
    return DefinitionOut(id=str(d.id), kind=d.kind, key=d.key, version=d.version, name=d.name,
                         deployment_id=str(d.deployment_id), deployed_at=d.deployed_at, process_kind=d.process_kind,
                         starter_groups=d.starter_groups or [], starter_users=d.starter_users or [],
                         inputs=d.inputs or [], office=d.office, ministry=d.ministry)


@router.post("", response_model=DeployOut, status_code=201)
def deploy(
    session: SessionDep,
    response: Response,
    who: Annotated[Principal, Depends(requires(R.DESIGNER, R.ADMIN))],
    files: Annotated[list[UploadFile], File(description="BPMN, DMN and .form files")],
) -> DeployOut:
    """Validate and store a new version of every process/decision in the files (422 names the problem)."""
    # The whole request is limited before this runs (BOKJI_MAX_UPLOAD_BYTES); each file again here, read
    # no further than the limit, since the deploy holds it several times over (bytes, text, parsed tree).
    limit = get_settings().max_model_file_bytes
    contents: dict[str, bytes] = {}
    for upload in files:
        name = upload.filename or ""
        data = upload.file.read(limit + 1)
        if len(data) > limit:
            raise Invalid(_("%(file)s: larger than %(limit)s bytes (BOKJI_MAX_MODEL_FILE_BYTES).") % {
                "file": name, "limit": limit}, file=name,
                          field="files", reason="too large")
        if name in contents:
            raise Invalid(_("%(file)s: uploaded twice.") % {"file": name}, file=name, field="files",
                          reason="duplicate file name")
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
    key: Annotated[str, Path(max_length=200)], version: Annotated[int, Path(ge=1, le=INT4_MAX)],
    name: Annotated[str, Path(max_length=255)],
) -> Response:
    """One stored file of a version, exactly as deployed (for the diagram viewer and diffs)."""
    definition = definitions.get_version(session, key, version)
    text = definition.deployment.files.get(name)
    if text is None:
        raise NotFound(_("Version %(version)s of '%(key)s' has no file '%(file)s'.") % {
            "version": version, "key": key, "file": name}, field="name")
    media = "application/json" if name.endswith(".form") else "application/xml"
    return Response(text, media_type=media)
