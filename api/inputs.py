"""What every request must be before a route sees it: not too large, and no control characters.

Two guards, one place each, so no route has to remember them:

* `BodyLimit`, an ASGI middleware, counts the body as it streams in and answers 413 naming the
  limit once it is passed. A declared Content-Length over the limit is refused before anything is
  read; a missing one (chunked) or a false one does not get past the count.
* `refuse_control_characters`, a dependency of the whole app, walks what the request carries —
  path and query parameters, form fields and file names, the parsed JSON body at any depth, keys
  included — and refuses a NUL or another control character with a 422 naming the field. Tab, line
  feed and carriage return are text. PostgreSQL cannot store NUL in text or JSONB (psycopg raises),
  and lone surrogates cannot be encoded at all, so these would otherwise surface as server errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request

from bokji.errors import Invalid
from bokji.i18n import gettext as _

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

# Calls that upload files (models, documents): they get `max_upload_bytes`, every other call
# `max_request_bytes`.
UPLOADS = (("POST", re.compile(r"/definitions/?")), ("POST", re.compile(r"/instances/[^/]+/evidence/?")),
           ("POST", re.compile(r"/instances/[^/]+/documents/?")), ("POST", re.compile(r"/cases/[^/]+/documents/?")))

# C0 controls but tab, LF and CR; DEL and the C1 controls; lone surrogates (a JSON "\ud800").
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class _TooLarge(Exception):
    """Raised into the app from `receive` so it stops reading; the middleware answers instead."""


class BodyLimit:
    def __init__(self, app: ASGIApp, *, request_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.request_bytes = request_bytes
        self.upload_bytes = upload_bytes

    def limit_for(self, method: str, path: str) -> tuple[int, str]:
        if any(method == m and pattern.fullmatch(path) for m, pattern in UPLOADS):
            return self.upload_bytes, "BOKJI_MAX_UPLOAD_BYTES"
        return self.request_bytes, "BOKJI_MAX_REQUEST_BYTES"

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, setting)
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to its interrupted read (a 400, say) is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            pass  # a route that reads the body itself lets it through; answered below
        if exceeded and not started:
            await _refuse(send, limit, setting)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed one before the app sees it
    return None


async def _refuse(send, limit: int, setting: str) -> None:
    body = json.dumps({"error": "TooLarge", "field": "body", "limit": limit,
                       "message": _("The request body is larger than %(limit)s bytes, the limit for this call "
                                    "(%(setting)s).") % {"limit": limit, "setting": setting}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# ---- control characters ------------------------------------------------------------------------------
def check_text(value: str, field: str) -> None:
    """Invalid naming `field` if `value` holds a control character (tab, LF and CR are text)."""
    found = CONTROL.search(value)
    if found:
        raise Invalid(_("%(field)s: the control character %(character)s is not allowed in text (tab, line feed "
                        "and carriage return are).") % {"field": field, "character": f"U+{ord(found.group()):04X}"},
                      field=field, reason="control character")


def check_json(value: Any, field: str = "body") -> None:
    """Every string of a parsed JSON value, keys included, at any depth (iterative: no recursion limit)."""
    stack: list[tuple[Any, str]] = [(value, field)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            check_text(item, where)
        elif isinstance(item, dict):
            for key, child in item.items():
                name = _printable(str(key)) if where == "body" else f"{where}.{_printable(str(key))}"
                check_text(str(key), name)
                stack.append((child, name))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))


def _printable(text: str) -> str:
    return CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


async def refuse_control_characters(request: Request) -> None:
    """A dependency of every route. FastAPI has parsed the body (form or JSON) before dependencies run
    and Starlette caches it, so reading it here parses nothing twice for routes that declare a body."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(value, name)
    for name, value in request.query_params.multi_items():
        check_text(name, _printable(name))
        check_text(value, name)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        form = await request.form()
        for name, value in form.multi_items():
            check_text(name, _printable(name))
            if isinstance(value, str):
                check_text(value, name)
            elif value.filename is not None:
                check_text(value.filename, f"{name}.filename")
        return
    if not await request.body():
        return
    try:
        parsed = await request.json()
    except ValueError:
        return  # not JSON: the route refuses it (or takes raw bytes, which are not text)
    check_json(parsed)
