"""Every process's log: one JSON object per line (or readable text), with what it was working on.

`configure()` is called once per process (bokji/cli.py for every command, api/app.py for the web server's
own worker processes). BOKJI_LOG_FORMAT picks json or text; json is the default in production, text in
demo and test. Each line carries the time (UTC, ISO 8601), the level, the logger, the message, the
process's role (serve, worker, scheduler, simulator, ... from BOKJI_PROCESS) and pid, and whatever the
code is working on when it is known: the request id (api/app.py, also sent back as X-Request-ID), the job
id (workers/jobs.py), the instance id (bokji/steps/advance.py) — see `bound()`.

No personal data in a log line: messages name ids, topics, statuses and exception classes, never a
person's name, registration number, address or the data of a case (those stay in the database, behind
the scope policy and the access log).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

FIELDS = ("request_id", "job_id", "instance_id")
_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("bokji_log_context", default=None)
_configured: list[str] = []


@contextlib.contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Log lines written inside the block (in this thread or task) carry these fields."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, str]:
    return dict(_context.get() or {})


def role() -> str:
    return os.environ.get("BOKJI_PROCESS", "app")


class ContextFilter(logging.Filter):
    """Puts the process's role and the bound fields on every record (the text format shows them too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.role = role()
        context = _context.get() or {}
        for name in FIELDS:
            setattr(record, name, context.get(name))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "role": getattr(record, "role", role()),
            "pid": record.process,
        }
        for name in FIELDS:
            if value := getattr(record, name, None):
                line[name] = value
        if record.exc_info:
            line["error"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            line["stack"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(role)s[%(process)d] %(name)s %(levelname)s %(message)s"


def configure() -> None:
    """The root logger writes to stderr in the configured format at BOKJI_LOG_LEVEL; once per process (later
    calls do nothing, so the web server's worker processes and the CLI may both call it)."""
    if _configured:
        return
    from bokji.config import get_settings

    settings = get_settings()
    fmt = settings.log_format or ("json" if settings.env == "production" else "text")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    _configured.append(fmt)
