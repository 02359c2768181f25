"""The one translation catalog: Korean by default, English as a per-user preference.

Message ids are the English source texts; `locale/<lang>/LC_MESSAGES/messages.po` holds the catalog
(committed; `make i18n` extracts and updates it with Babel — forms/extract.py for the .form files —,
and a test fails on an untranslated or fuzzy Korean entry or a stale catalog). The language of the
current request or job lives in a context variable, so the Jinja templates (`jinja2.ext.i18n`, new
style) and the Python code call the same `gettext`. Machine codes (error kinds, statuses, parameter
names) never go through it: the API keeps them beside the translated message.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LOCALES = ("ko", "en")
DEFAULT = "ko"
COOKIE = "bokji_lang"

_current: ContextVar[str] = ContextVar("bokji_locale", default=DEFAULT)


def N_(message: str) -> str:
    """Marks a text for the catalog where it is defined; translated where it is shown."""
    return message


@lru_cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of `locale` (read from its .po once per process)."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def choose(*candidates: str | None) -> str:
    """The first supported language among the candidates (a user's preference, a cookie), else Korean."""
    for candidate in candidates:
        if candidate in LOCALES:
            return candidate
    return DEFAULT


def current() -> str:
    return _current.get()


@contextmanager
def using(locale: str) -> Iterator[None]:
    token = _current.set(choose(locale))
    try:
        yield
    finally:
        _current.reset(token)


def set_current(locale: str | None) -> None:
    """For the rest of this request (a middleware's context): ASGI runs each request in its own context."""
    _current.set(choose(locale))


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext

