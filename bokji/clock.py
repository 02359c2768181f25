"""The platform's clock: every "now" the platform reads comes from here.

Today it is the system clock in UTC. Models see it too: the sandbox passes this instant into each
evaluation (`now()`, `today()` in a model), so a child process never reads its own time. The
engine-core work makes it movable for tests (processing days, review dates across processes).
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
