"""statuses are checked by the database: one of each enum's values

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, values): the enums of bokji/instances, bokji/tasks and bokji/jobs models.
CHECKS = [
    ("process_instance", "status", ("running", "suspended", "completed", "cancelled")),
    ("human_task", "status", ("open", "completed", "cancelled")),
    ("job", "status", ("queued", "running", "done", "incident", "cancelled")),
    ("job", "kind", ("handler", "external")),
]


def upgrade() -> None:
    for table, column, values in CHECKS:
        allowed = ", ".join(f"'{v}'" for v in values)
        op.create_check_constraint(op.f(f"ck_{table}_{column}"), table, f"{column} IN ({allowed})")


def downgrade() -> None:
    for table, column, _ in CHECKS:
        op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
