"""user locale: each person's language for pages and messages (Korean by default)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("locale", sa.String(length=8), server_default="ko", nullable=False))


def downgrade() -> None:
    op.drop_column("app_user", "locale")
