"""GET /metrics for Prometheus (monitoring/metrics.py says what is in it and where each figure comes from).

The scrape is authenticated: the bearer token is the scrape credential of the settings (BOKJI_METRICS_TOKEN,
what Prometheus sends from its `credentials_file`), or an administrator's own token. Nobody else: 401
without a token, 403 for any other role. The figures hold no personal data (counts by office, team, topic,
status and route), so the scrape writes no access log.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.deps import R, SessionDep, _caller, oauth2, requires
from bokji.config import get_settings
from monitoring.metrics import render

router = APIRouter(tags=["operations"])
_admin = requires(R.ADMIN)


def scraper(request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2)] = None) -> str:
    """Who scrapes: `scrape-credential`, or the administrator's username."""
    expected = get_settings().metrics_token
    if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return "scrape-credential"
    return _admin(_caller(request, session, token).principal).username


scraper.__roles__ = _admin.__roles__  # type: ignore[attr-defined]  # read by the route-roles test


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
def metrics(_who: Annotated[str, Depends(scraper)]) -> Response:
    body, content_type = render()
    return Response(body, media_type=content_type)
