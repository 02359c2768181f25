"""scope: offices as a reference table, every case's office and ministry, process declarations,
integration grants, counter grants and the case an access-log row names

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns that named an office as free text, now a reference to office.code.
OFFICE_COLUMNS = [("app_user", "office"), ("process_instance", "office"), ("human_task", "office"),
                  ("application", "office"), ("household_residence", "office")]
# Where nothing says whose a row is (rows written before this revision): the platform operator.
FALLBACK_OFFICE = "central"


def upgrade() -> None:
    op.create_table(
        "office",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("parent_code", sa.String(64), sa.ForeignKey("office.code")),
    )
    op.execute(f"INSERT INTO office (code, name, region) VALUES ('{FALLBACK_OFFICE}', "
               "'사회보장정보원 (platform operator)', 'national')")
    for table, column in OFFICE_COLUMNS:
        # Every code already in use becomes an office (named by its code until the list is loaded).
        op.execute(f"INSERT INTO office (code, name, region) SELECT DISTINCT {column}, {column}, 'unknown' "
                   f"FROM {table} WHERE {column} IS NOT NULL ON CONFLICT DO NOTHING")

    # Households and persons carry the office responsible for them.
    op.add_column("household", sa.Column("office", sa.String(64)))
    op.execute(f"""UPDATE household h SET office = COALESCE((
        SELECT r.office FROM household_residence r WHERE r.household_id = h.id
        ORDER BY r.valid_from DESC, r.id DESC LIMIT 1), '{FALLBACK_OFFICE}')""")
    op.add_column("person", sa.Column("office", sa.String(64)))
    op.execute(f"""UPDATE person p SET office = COALESCE((
        SELECT h.office FROM household_membership m JOIN household h ON h.id = m.household_id
        WHERE m.person_id = p.id ORDER BY m.valid_from DESC, m.id DESC LIMIT 1), '{FALLBACK_OFFICE}')""")
    op.execute(f"UPDATE household_residence SET office = '{FALLBACK_OFFICE}' WHERE office IS NULL")

    # Cases: office from the application, ministry from the catalog service, else the starter's.
    op.execute("""UPDATE process_instance i SET office = a.office FROM application_case c
        JOIN application a ON a.id = c.application_id WHERE c.instance_id = i.id AND i.office IS NULL""")
    op.execute("""UPDATE process_instance i SET ministry = s.ministry FROM application_case c
        JOIN catalog_service s ON s.code = c.service_code WHERE c.instance_id = i.id""")
    op.execute(f"UPDATE process_instance SET office = '{FALLBACK_OFFICE}' WHERE office IS NULL")
    op.execute("UPDATE process_instance SET ministry = 'MOHW' WHERE ministry IS NULL")
    op.execute("UPDATE human_task t SET office = i.office FROM process_instance i "
               "WHERE i.id = t.instance_id AND t.office IS NULL")
    op.execute(f"UPDATE application SET office = '{FALLBACK_OFFICE}' WHERE office IS NULL")
    op.add_column("application", sa.Column("received_by_office", sa.String(64), sa.ForeignKey("office.code")))
    op.execute("UPDATE application SET received_by_office = office")

    for table, column in [*OFFICE_COLUMNS, ("household", "office"), ("person", "office")]:
        if table != "app_user":
            op.alter_column(table, column, nullable=False)
        op.create_foreign_key(f"fk_{table}_{column}_office", table, "office", [column], ["code"])
    op.alter_column("process_instance", "ministry", nullable=False)
    for table in ("household", "person", "application"):
        op.create_index(f"ix_{table}_office", table, ["office"])
    # Case lists, newest first, as the scope policy filters them: an office's, a ministry's, everybody's.
    op.create_index("ix_process_instance_office_started_at", "process_instance", ["office", "started_at"])
    op.create_index("ix_process_instance_ministry_started_at", "process_instance", ["ministry", "started_at"])
    op.create_index("ix_process_instance_started_at", "process_instance", ["started_at"])
    op.create_index("ix_human_task_office_status_due_at", "human_task", ["office", "status", "due_at"])

    # How each process is started, as its model declares; existing versions stay admin-only.
    op.add_column("definition", sa.Column("process_kind", sa.String(16)))
    op.add_column("definition", sa.Column("starter_groups", postgresql.ARRAY(sa.String(64)),
                                          server_default="{}", nullable=False))
    op.add_column("definition", sa.Column("starter_users", postgresql.ARRAY(sa.String(64)),
                                          server_default="{}", nullable=False))
    op.add_column("definition", sa.Column("inputs", postgresql.ARRAY(sa.String(200)),
                                          server_default="{}", nullable=False))
    op.add_column("definition", sa.Column("office", sa.String(64), sa.ForeignKey("office.code")))
    op.add_column("definition", sa.Column("ministry", sa.String(64)))
    op.execute("UPDATE definition SET process_kind = 'process' WHERE kind = 'process'")

    op.add_column("app_user", sa.Column("grants", postgresql.ARRAY(sa.String(200)), server_default="{}",
                                        nullable=False))
    op.add_column("access_log", sa.Column("instance_id", sa.Uuid()))
    op.create_index("ix_access_log_instance_id", "access_log", ["instance_id"])

    op.create_table(
        "counter_grant",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("actor", sa.String(64), nullable=False, index=True),
        sa.Column("person_id", sa.Uuid(), sa.ForeignKey("person.id"), nullable=False, index=True),
        sa.Column("purpose", sa.String(300), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("application_id", sa.Uuid(), sa.ForeignKey("application.id")),
    )


def downgrade() -> None:
    op.drop_table("counter_grant")
    op.drop_index("ix_access_log_instance_id", "access_log")
    op.drop_column("access_log", "instance_id")
    op.drop_column("app_user", "grants")
    for column in ("ministry", "office", "inputs", "starter_users", "starter_groups", "process_kind"):
        op.drop_column("definition", column)
    for name in ("office_started_at", "ministry_started_at", "started_at"):
        op.drop_index(f"ix_process_instance_{name}", "process_instance")
    op.drop_index("ix_human_task_office_status_due_at", "human_task")
    for table in ("household", "person", "application"):
        op.drop_index(f"ix_{table}_office", table)
    for table, column in [*OFFICE_COLUMNS, ("household", "office"), ("person", "office")]:
        op.drop_constraint(f"fk_{table}_{column}_office", table, type_="foreignkey")
    for table, column in OFFICE_COLUMNS[1:]:
        op.alter_column(table, column, nullable=True)
    op.alter_column("process_instance", "ministry", nullable=True)
    op.drop_column("application", "received_by_office")
    op.drop_column("person", "office")
    op.drop_column("household", "office")
    op.drop_table("office")
