"""Babel extractor for the library's .form files (babel.cfg): every label, description and text block
is a message id, the blocks split exactly as the form page splits them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from forms.schema import split_text


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key in ("label", "description"):
            if isinstance(node.get(key), str) and node[key]:
                yield node[key]
        if node.get("type") == "text" and isinstance(node.get("text"), str):
            yield from (block["text"] for block in split_text(node["text"]))
        for value in node.values():
            yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)


def extract_form(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
                 ) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extractor signature: (line, function, message, comments) per message id."""
    for text in _texts(json.loads(fileobj.read().decode("utf-8"))):
        yield 1, "gettext", text, []
