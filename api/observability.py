"""Every request: its id (bound to the log lines it writes, sent back as X-Request-ID) and its latency in the
HTTP histogram (bokji/metrics.py), by route template — `/tasks/{task_id}`, never the id itself."""

from __future__ import annotations

import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bokji import logs, metrics

# A caller's (or a proxy's) request id is kept when it looks like one; anything else gets a new one.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def route_label(scope: Scope) -> str:
    """The matched route's template; the mount for static bundles; `unmatched` for no route (a 404 of any
    path must not make a label of its own)."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return route.path
    root = scope.get("root_path") or ""
    path = scope.get("path", "")
    if path.startswith(f"{root}/static/"):
        return "/static/" + path[len(root) + len("/static/"):].split("/", 1)[0]
    return "unmatched"


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        status = [500]  # an exception that escapes every handler is answered 500 outside us
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        with logs.bound(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                metrics.HTTP_REQUEST_SECONDS.labels(scope["method"], route_label(scope), str(status[0])).observe(
                    time.perf_counter() - started)
