"""Handlers shipped with the platform. Domain handlers (data linkage, payments) register here too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bokji.applications import handlers as _intake  # noqa: F401 - registers intake.register
from bokji.jobs.handlers import HandlerContext, handler
from bokji.linkage import handlers as _linkage  # noqa: F401 - registers the linkage.* handlers
from bokji.notices import handlers as _notices  # noqa: F401 - registers notice.compose
from bokji.payments import handlers as _payments  # noqa: F401 - registers the payment.* handlers


@handler("bokji.noop")
def noop(ctx: HandlerContext) -> dict[str, Any]:
    """Does nothing but record when it ran; useful in demos and benchmarks."""
    return {f"{ctx.element_id}_done_at": datetime.now(UTC).isoformat()}
