"""household facts: each member's relation to the head, each residence's locality class

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RELATIONS = ("head", "spouse", "child", "grandchild", "parent", "sibling", "other")
LOCALITIES = ("large_city", "small_city", "rural")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    op.add_column("household_membership", sa.Column("relation", sa.String(length=16), nullable=True))
    # Rows recorded before: the head is the head; nobody recorded how the others are related.
    op.execute("UPDATE household_membership SET relation = CASE WHEN role = 'head' THEN 'head' ELSE 'other' END")
    op.alter_column("household_membership", "relation", nullable=False)
    op.create_check_constraint(op.f("ck_household_membership_relation"), "household_membership",
                               f"relation IN ({_in(RELATIONS)})")
    # Unknown for every residence recorded before (it is not guessed from the region class).
    op.add_column("household_residence", sa.Column("locality", sa.String(length=16), nullable=True))
    op.create_check_constraint(op.f("ck_household_residence_locality"), "household_residence",
                               f"locality IN ({_in(LOCALITIES)})")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_household_residence_locality"), "household_residence", type_="check")
    op.drop_column("household_residence", "locality")
    op.drop_constraint(op.f("ck_household_membership_relation"), "household_membership", type_="check")
    op.drop_column("household_membership", "relation")
