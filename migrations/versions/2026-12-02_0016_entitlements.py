"""entitlements: the catalog's beneficiary unit, and one open case or active entitlement per unit and
service (a unique partial index), with benefit months that never overlap (a gist exclusion)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNITS = ("household", "person", "child")
STATUSES = ("open", "active", "ended", "released")
# The units of the catalog as it stands (services.json); loading the catalog again sets every row's.
NOT_HOUSEHOLD = {"person": ("MOHW-BASIC-PENSION", "MOEL-EMPLOYMENT-SUPPORT"),
                 "child": ("MOHW-NBLSS-EDUCATION", "MOE-EDUCATION-COST", "MOGEF-SINGLE-PARENT")}


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def upgrade() -> None:
    # gist has no `=` for text and uuid of its own; btree_gist (a contrib extension, trusted) adds it.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    op.add_column("catalog_service", sa.Column("unit", sa.String(16), server_default="household", nullable=False))
    op.alter_column("catalog_service", "unit", server_default=None)  # the loader always sets it
    for unit, codes in NOT_HOUSEHOLD.items():
        op.execute(f"UPDATE catalog_service SET unit = '{unit}' WHERE code IN ({_in(codes)})")
    op.create_check_constraint(op.f("ck_catalog_service_unit"), "catalog_service", f"unit IN ({_in(UNITS)})")

    # No rows are made for cases that exist already: which units they were for (the children above
    # all) is not recorded, and the duplicates this table exists to prevent may be among them.
    op.create_table(
        "entitlement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("office", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("benefit_months", postgresql.DATERANGE(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(300), nullable=True),
        sa.CheckConstraint(f"unit IN ({_in(UNITS)})", name=op.f("ck_entitlement_unit")),
        sa.CheckConstraint(f"status IN ({_in(STATUSES)})", name=op.f("ck_entitlement_status")),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"],
                                name=op.f("fk_entitlement_application_id_application")),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"],
                                name=op.f("fk_entitlement_instance_id_process_instance")),
        sa.ForeignKeyConstraint(["office"], ["office.code"], name=op.f("fk_entitlement_office_office")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlement")),
        postgresql.ExcludeConstraint(
            ("service_code", "="), ("unit_id", "="), ("benefit_months", "&&"), name="ex_entitlement_benefit_months",
            using="gist", where=sa.text("status IN ('active', 'ended')")),
    )
    op.create_index(op.f("ix_entitlement_application_id"), "entitlement", ["application_id"])
    op.create_index(op.f("ix_entitlement_instance_id"), "entitlement", ["instance_id"])
    op.create_index("uq_entitlement_open_unit", "entitlement", ["service_code", "unit_id"], unique=True,
                    postgresql_where=sa.text("status IN ('open', 'active')"))


def downgrade() -> None:
    op.drop_index("uq_entitlement_open_unit", table_name="entitlement")
    op.drop_index(op.f("ix_entitlement_instance_id"), table_name="entitlement")
    op.drop_index(op.f("ix_entitlement_application_id"), table_name="entitlement")
    op.drop_table("entitlement")
    op.drop_constraint(op.f("ck_catalog_service_unit"), "catalog_service", type_="check")
    op.drop_column("catalog_service", "unit")
    # btree_gist stays: other objects may have come to use it.
