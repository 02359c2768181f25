"""element incidents: an element whose model code failed waits for an operator

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("element_name", sa.String(length=300), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name=op.f("fk_incident_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
        sa.CheckConstraint("status IN ('open', 'retried', 'cancelled')", name=op.f("ck_incident_status")),
    )
    op.create_index(op.f("ix_incident_instance_id"), "incident", ["instance_id"], unique=False)
    op.create_index("uq_incident_open_task", "incident", ["instance_id", "task_id"], unique=True,
                    postgresql_where=sa.text("status = 'open'"))
    op.create_index("ix_incident_status_created_at", "incident", ["status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_incident_status_created_at", table_name="incident")
    op.drop_index("uq_incident_open_task", table_name="incident")
    op.drop_index(op.f("ix_incident_instance_id"), table_name="incident")
    op.drop_table("incident")
