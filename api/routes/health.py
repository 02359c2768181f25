from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from monitoring.health import readiness

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready")
def ready() -> JSONResponse:
    """Readiness: PostgreSQL (with the schema) and Redis answer; 503 otherwise."""
    checks = readiness()
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks},
                        status_code=200 if ok else 503)
