"""closures: days the offices (or one office) do not work beyond the public holidays, withdrawn not deleted

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "closure",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False, index=True),
        sa.Column("office", sa.String(64), sa.ForeignKey("office.code")),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawn_by", sa.String(64)),
        sa.Column("withdrawn_reason", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("closure")
