"""Calling agencies: timeouts, quick retries with backoff and jitter, a circuit breaker and a rate
limit per agency. Breaker and rate-limit state live in Redis so every worker sees the same agency.

A call that still fails raises AgencyError; the job's own retries (bokji.jobs) take over from there.
"""

from __future__ import annotations

import random
import time
from typing import Any

import httpx

from bokji import words
from bokji.config import get_settings
from bokji.errors import Unavailable
from bokji.i18n import gettext as _
from bokji.jobs.handlers import RetryLater
from bokji.linkage.registry import DataType
from bokji.queue import redis_connection

_clients: dict[str, httpx.Client] = {}


class AgencyError(Unavailable):
    """The agency did not answer usefully (after quick retries), or its circuit is open."""


class CircuitOpen(RetryLater):
    """The agency's circuit is open: the job waits until it may be tried again, uncounted."""


class AgencyRefused(Exception):
    """The agency answered 4xx: asking again will not help (e.g. no consent)."""


def url_for(data_type: DataType, *, bulk: bool = False) -> str:
    settings = get_settings()
    base = settings.agency_urls.get(data_type.agency) or f"{settings.agency_base_url}/agencies/{data_type.agency}"
    return f"{base.rstrip('/')}/{data_type.path}" + ("/bulk" if bulk else "")


def _client() -> httpx.Client:
    key = "default"
    if key not in _clients:
        _clients[key] = httpx.Client(timeout=get_settings().linkage_timeout)
    return _clients[key]


# ---- circuit breaker (shared) ------------------------------------------------------------------------------
def _open_until(agency: str) -> float:
    until = redis_connection().get(f"bokji:breaker:{agency}:open_until")
    return float(until) if until is not None else 0.0


def _breaker_open(agency: str) -> bool:
    return _open_until(agency) > time.time()


def _record(agency: str, ok: bool) -> None:
    settings = get_settings()
    redis = redis_connection()
    key = f"bokji:breaker:{agency}:failures"
    if ok:
        redis.delete(key)
        return
    failures = redis.incr(key)
    redis.expire(key, int(max(settings.breaker_open_seconds * 4, 60)))
    if failures >= settings.breaker_failures:
        # Open: refuse calls for a while; after that one call is let through (half-open), and its
        # outcome closes the circuit again or re-opens it.
        redis.set(f"bokji:breaker:{agency}:open_until", time.time() + settings.breaker_open_seconds,
                  ex=int(settings.breaker_open_seconds) + 5)
        redis.set(key, settings.breaker_failures - 1, ex=int(max(settings.breaker_open_seconds * 4, 60)))


def breaker_state(agency: str) -> str:
    return "open" if _breaker_open(agency) else "closed"


def _rate_limit(agency: str) -> None:
    limit = get_settings().agency_rate_per_second
    while True:
        second = int(time.time())
        key = f"bokji:rate:{agency}:{second}"
        redis = redis_connection()
        count = redis.incr(key)
        if count == 1:
            redis.expire(key, 2)
        if count <= limit:
            return
        time.sleep(max(second + 1 - time.time(), 0.001))


def call(data_type: DataType, payload: dict[str, Any], *, bulk: bool = False) -> dict[str, Any]:
    settings = get_settings()
    agency = data_type.agency
    if _breaker_open(agency):
        raise CircuitOpen(f"{agency}: circuit open after repeated failures; not calling",
                          delay=max(_open_until(agency) - time.time(), 0.1))
    last: Exception | None = None
    for attempt in range(settings.linkage_retries + 1):
        _rate_limit(agency)
        try:
            response = _client().post(url_for(data_type, bulk=bulk), json=payload)
        except httpx.HTTPError as exc:
            last = exc
        else:
            if response.status_code < 400:
                _record(agency, ok=True)
                return response.json()
            if response.status_code < 500 and response.status_code != 429:
                _record(agency, ok=True)  # the agency works; it refused this request
                raise AgencyRefused(f"{agency} refused: {response.status_code} {response.text[:200]}")
            last = AgencyError(_("%(agency)s answered %(status)s.") % {"agency": words.name(words.AGENCIES, agency),
                                                                   "status": response.status_code}, field="agency")
        _record(agency, ok=False)
        if _breaker_open(agency):
            break
        if attempt < settings.linkage_retries:
            delay = settings.linkage_backoff * 2 ** attempt
            time.sleep(delay * random.uniform(0.8, 1.2))
    raise AgencyError(_("%(agency)s, %(data_type)s: no answer after %(tries)s tries (%(last)s).") % {
        "agency": words.name(words.AGENCIES, agency), "data_type": words.name(words.DATA_TYPES, data_type.code),
        "tries": settings.linkage_retries + 1, "last": last}, field="agency")
