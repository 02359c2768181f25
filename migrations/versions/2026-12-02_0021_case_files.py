"""case files: notes and documents of a case, the call a history row ran in, the office's contact

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-02 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_note",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("instance_id", sa.Uuid(), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_note_instance_id", "case_note", ["instance_id"])
    op.create_table(
        "case_document",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("instance_id", sa.Uuid(), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_document_instance_id", "case_document", ["instance_id"])
    # The element history row's enclosing call or sub-process (its task id), so that a called module's
    # diagram shows what ran inside that one call; null for the process's own elements (and older rows).
    op.add_column("element_history", sa.Column("parent_task_id", sa.String(length=36), nullable=True))
    # The contact a decision letter names (문의).
    op.add_column("office", sa.Column("phone", sa.String(length=40), nullable=True))
    op.add_column("office", sa.Column("address", sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.drop_column("office", "address")
    op.drop_column("office", "phone")
    op.drop_column("element_history", "parent_task_id")
    op.drop_index("ix_case_document_instance_id", table_name="case_document")
    op.drop_table("case_document")
    op.drop_index("ix_case_note_instance_id", table_name="case_note")
    op.drop_table("case_note")
