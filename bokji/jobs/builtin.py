"""Handlers shipped with the platform itself (the domains' handlers live in their packages)."""

from __future__ import annotations

from typing import Any

from bokji import clock
from bokji.jobs.handlers import HandlerContext


def noop(ctx: HandlerContext) -> dict[str, Any]:
    """Does nothing but record when it ran; useful in demos and benchmarks."""
    return {f"{ctx.element_id}_done_at": clock.now().isoformat()}
