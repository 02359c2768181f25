"""task drafts (a form's typed values kept on the server per task and person) and a returned task's reason

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_draft",
        sa.Column("task_id", sa.Uuid(), sa.ForeignKey("human_task.id", ondelete="CASCADE"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "username"),
    )
    op.add_column("human_task", sa.Column("returned_reason", sa.Text(), nullable=True))
    op.add_column("human_task", sa.Column("returned_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("human_task", "returned_by")
    op.drop_column("human_task", "returned_reason")
    op.drop_table("task_draft")
