"""Parsed specs cached per stored version (parse once per process, not per instance)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from processes.parsing import Specs, check_bundle

_CACHE: dict[str, dict[str, Specs]] = {}
_LOCK = threading.Lock()


def specs_for(version_ref: str, key: str, load_files: Callable[[], dict[str, bytes]]) -> Specs:
    """Specs of process `key` in the stored deployment `version_ref` (immutable, so never stale)."""
    bundle_specs = _CACHE.get(version_ref)
    if bundle_specs is None:
        with _LOCK:
            bundle_specs = _CACHE.get(version_ref)
            if bundle_specs is None:
                files = load_files()
                # Checked again (the rules may have grown since it was stored) and parsed, once.
                bundle_specs = check_bundle(files, find_form=lambda k: files.get(f"{k}.form")).specs
                _CACHE[version_ref] = bundle_specs
    return bundle_specs[key]


def clear() -> None:
    _CACHE.clear()
