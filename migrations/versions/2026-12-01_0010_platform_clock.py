"""platform clock: the offset a test or demo platform's clock runs ahead of the system's

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One row at most (id = 1), read by bokji/clock.py in every process; production never writes it.
    op.create_table(
        "platform_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offset_seconds", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_clock")),
        sa.CheckConstraint("id = 1", name=op.f("ck_platform_clock_one_row")),
    )


def downgrade() -> None:
    op.drop_table("platform_clock")
