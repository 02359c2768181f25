"""The browser-facing trust boundary: security headers with a per-request CSP nonce, and CSRF.

CSRF tokens need no server-side session: a signed-in browser's token is HMAC(secret, the session
token's `jti`), so it changes with every sign-in and dies with the token; the sign-in form, before any
session, uses a signed double-submit cookie (a random value in an HttpOnly cookie, its HMAC in the form).
Every form POST and every cookie-authenticated call that changes something must carry the token (form
field `csrf_token` or header `X-CSRF-Token`); calls with an `Authorization: Bearer` header are not
affected, because no browser attaches that header on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bokji.config import get_settings
from bokji.errors import Forbidden
from bokji.i18n import gettext as _
from forms.schema import CSRF_FIELD

CSRF_HEADER = "X-CSRF-Token"
LOGIN_CSRF_COOKIE = "bokji_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# style-src allows inline styles: bpmn-js and form-js set style attributes as they draw. Fonts and images
# may be data: URIs (bpmn-js's embedded icon font, the bpmn.io watermark).
_POLICY = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
           "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
# FastAPI's own /docs and /redoc pages load Swagger UI / ReDoc from a CDN and start them with an inline
# script they cannot put a nonce on. They show no case data; every other page gets the strict policy.
_DOCS_POLICY = ("default-src 'self'; script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
                "style-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: https:; "
                "font-src 'self' data: https://fonts.gstatic.com; worker-src 'self' blob:; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
_DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """ASGI middleware: a fresh CSP nonce per request (`request.state.csp_nonce`, for the templates'
    `<script nonce>`) and the security headers on every response, error responses included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        headers = [(k.lower().encode(), v.encode())
                   for k, v in security_headers(nonce, docs=scope["path"].startswith(_DOCS_PATHS)).items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {h[0] for h in headers}
                message["headers"] = [h for h in message.get("headers", []) if h[0].lower() not in names] + headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def security_headers(nonce: str, *, docs: bool = False) -> dict[str, str]:
    return {"Content-Security-Policy": _DOCS_POLICY if docs else _POLICY.format(nonce=nonce),
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}


def error_headers() -> dict[str, str]:
    """The headers for a response sent outside the middleware (an unexpected error's 500)."""
    return security_headers(secrets.token_urlsafe(16))


def csp_nonce(request: Request) -> str:
    return request.state.csp_nonce


def csrf_token(binding: str) -> str:
    """The CSRF token bound to a session (its token's jti) or to a sign-in form's cookie value."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, b"bokji-csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def login_csrf_binding(nonce: str) -> str:
    return "login:" + nonce


async def verify_csrf(request: Request, expected: str) -> None:
    """Refuse (403) a state-changing browser request without the right CSRF token or from another origin."""
    check_origin(request)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        # Starlette keeps the parsed form on the request, so the endpoint reads the same one again.
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given, expected):
        raise Forbidden(_("Missing or wrong security (CSRF) token: reload the page and try again (send the "
                          "%(header)s header or the %(field)s form field the page gave you).") % {
                            "header": CSRF_HEADER, "field": CSRF_FIELD}, field=CSRF_HEADER)


def check_origin(request: Request) -> None:
    """A browser names the page a request comes from in `Origin`; another site's page is refused. The host
    is compared, not the scheme: behind a TLS-terminating proxy the API itself sees plain http."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin == "null" or urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
        raise Forbidden(_("Requests sent from another site are not accepted (cross-origin request from "
                          "%(origin)s refused).") % {"origin": origin}, field="Origin")


def client_address(request: Request) -> str:
    """The address sign-in attempts are counted under. Behind a reverse proxy, run uvicorn with
    --proxy-headers and --forwarded-allow-ips so this is the client's, not the proxy's."""
    return request.client.host if request.client else "unknown"
