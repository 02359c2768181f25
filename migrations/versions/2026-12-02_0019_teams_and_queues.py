"""teams, substitutes, saved queue filters; the queue columns of human_task and their partial indexes

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_KEYS = ("assignee", "team_id", "office")
ORDERS = ("due_key", "created_at")


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("office", sa.String(64), sa.ForeignKey("office.code"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("services", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("office", "name"),
    )
    op.create_table(
        "team_member",
        sa.Column("team_id", sa.Uuid(), sa.ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("username", sa.String(64), sa.ForeignKey("app_user.username"), primary_key=True, index=True),
        sa.Column("lead", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "substitute",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("absent", sa.String(64), sa.ForeignKey("app_user.username"), nullable=False, index=True),
        sa.Column("substitute", sa.String(64), sa.ForeignKey("app_user.username"), nullable=False, index=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("office", sa.String(64), sa.ForeignKey("office.code"), nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_substitute_dates"),
    )
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(64), sa.ForeignKey("app_user.username"), nullable=False, index=True),
        sa.Column("team_id", sa.Uuid(), sa.ForeignKey("team.id", ondelete="CASCADE"), index=True),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.add_column("human_task", sa.Column("service_code", sa.String(64)))
    op.add_column("human_task", sa.Column("application_number", sa.String(40)))
    op.add_column("human_task", sa.Column("applicant_id", sa.Uuid(), sa.ForeignKey("person.id")))
    op.add_column("human_task", sa.Column("team_id", sa.Uuid(), sa.ForeignKey("team.id", ondelete="SET NULL")))
    op.add_column("human_task", sa.Column(
        "due_key", sa.DateTime(timezone=True),
        sa.Computed("coalesce(due_at, '9999-12-31 00:00:00+00'::timestamptz)", persisted=True), nullable=False))
    # Tasks opened before: their case's application, if it has one (a demo process's has none).
    op.execute("""
        UPDATE human_task t SET service_code = c.service_code, application_number = a.number,
               applicant_id = a.applicant_id
        FROM application_case c JOIN application a ON a.id = c.application_id
        WHERE c.instance_id = t.instance_id
    """)
    op.drop_index("ix_human_task_office_status_due_at", "human_task")
    for key in QUEUE_KEYS:
        for order in ORDERS:
            op.create_index(f"ix_human_task_open_{key}_{order}", "human_task", [key, order, "id"],
                            postgresql_where=sa.text("status = 'open'"))
    op.create_index("ix_human_task_open_applicant", "human_task", ["applicant_id"],
                    postgresql_where=sa.text("status = 'open'"))
    op.create_index("ix_human_task_open_application", "human_task", ["application_number"],
                    postgresql_where=sa.text("status = 'open'"))
    op.add_column("access_log", sa.Column("subject_ids", postgresql.ARRAY(sa.Uuid())))
    op.create_index("ix_person_name", "person", ["name"])
    op.create_index("ix_app_user_office", "app_user", ["office"])  # the colleagues a task may be given to


def downgrade() -> None:
    op.drop_index("ix_app_user_office", "app_user")
    op.drop_index("ix_person_name", "person")
    op.drop_column("access_log", "subject_ids")
    op.drop_index("ix_human_task_open_application", "human_task")
    op.drop_index("ix_human_task_open_applicant", "human_task")
    for key in QUEUE_KEYS:
        for order in ORDERS:
            op.drop_index(f"ix_human_task_open_{key}_{order}", "human_task")
    op.create_index("ix_human_task_office_status_due_at", "human_task", ["office", "status", "due_at"])
    for column in ("due_key", "team_id", "applicant_id", "application_number", "service_code"):
        op.drop_column("human_task", column)
    op.drop_table("saved_filter")
    op.drop_table("substitute")
    op.drop_table("team_member")
    op.drop_table("team")
