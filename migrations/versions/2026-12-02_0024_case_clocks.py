"""case clocks: each catalog case's legal clock, its events (pauses, extensions, warnings, breaches), the
notification outbox, and the SLA flag and escalation of human tasks

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 20:39:27.916529
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_clock',
    sa.Column('instance_id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('service_code', sa.String(length=64), nullable=False),
    sa.Column('office', sa.String(length=64), nullable=False),
    sa.Column('ministry', sa.String(length=64), nullable=False),
    sa.Column('rule', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('calendar_version', sa.String(length=120), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('paused_since', sa.Date(), nullable=True),
    sa.Column('paused_business_days', sa.Integer(), nullable=False),
    sa.Column('extended_days', sa.Integer(), nullable=False),
    sa.Column('stopped_on', sa.Date(), nullable=True),
    sa.Column('decided', sa.Boolean(), nullable=False),
    sa.Column('first_payment_on', sa.Date(), nullable=True),
    sa.Column('warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('running', 'paused', 'stopped')", name=op.f('ck_case_clock_state')),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_case_clock_application_id_application')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_case_clock_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['office'], ['office.code'], name=op.f('fk_case_clock_office_office')),
    sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_case_clock'))
    )
    op.create_index(op.f('ix_case_clock_application_id'), 'case_clock', ['application_id'], unique=False)
    op.create_index('ix_case_clock_ministry_started_on', 'case_clock', ['ministry', 'started_on'], unique=False)
    op.create_index('ix_case_clock_office_started_on', 'case_clock', ['office', 'started_on'], unique=False)
    op.create_index('ix_case_clock_open_due_on', 'case_clock', ['due_on'], unique=False, postgresql_where=sa.text("state <> 'stopped'"))
    op.create_table('clock_event',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('instance_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('previous_due_on', sa.Date(), nullable=True),
    sa.Column('calendar_version', sa.String(length=120), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('start', 'pause', 'resume', 'extend', 'recompute', 'warn', 'breach', 'stop')", name=op.f('ck_clock_event_kind')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_clock_event_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_event'))
    )
    op.create_index(op.f('ix_clock_event_instance_id'), 'clock_event', ['instance_id'], unique=False)
    op.create_index('ix_clock_event_kind_at', 'clock_event', ['kind', 'at'], unique=False)
    op.create_index('uq_clock_event_once_per_deadline', 'clock_event', ['instance_id', 'kind', 'due_on'], unique=True, postgresql_where=sa.text("kind IN ('warn', 'breach')"))
    op.create_table('notification',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('recipient_user', sa.String(length=64), nullable=True),
    sa.Column('recipient_person_id', sa.Uuid(), nullable=True),
    sa.Column('instance_id', sa.Uuid(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_notification_instance_id_process_instance')),
    sa.ForeignKeyConstraint(['recipient_person_id'], ['person.id'], name=op.f('fk_notification_recipient_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_dedupe_key'))
    )
    op.create_index(op.f('ix_notification_instance_id'), 'notification', ['instance_id'], unique=False)
    op.create_index(op.f('ix_notification_recipient_user'), 'notification', ['recipient_user'], unique=False)
    op.create_index('ix_notification_unsent', 'notification', ['created_at'], unique=False, postgresql_where=sa.text('sent_at IS NULL'))
    op.add_column('human_task', sa.Column('sla_flag', sa.String(length=16), nullable=True))
    op.add_column('human_task', sa.Column('escalated_to', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('human_task', 'escalated_to')
    op.drop_column('human_task', 'sla_flag')
    op.drop_index('ix_notification_unsent', table_name='notification', postgresql_where=sa.text('sent_at IS NULL'))
    op.drop_index(op.f('ix_notification_recipient_user'), table_name='notification')
    op.drop_index(op.f('ix_notification_instance_id'), table_name='notification')
    op.drop_table('notification')
    op.drop_index('uq_clock_event_once_per_deadline', table_name='clock_event', postgresql_where=sa.text("kind IN ('warn', 'breach')"))
    op.drop_index('ix_clock_event_kind_at', table_name='clock_event')
    op.drop_index(op.f('ix_clock_event_instance_id'), table_name='clock_event')
    op.drop_table('clock_event')
    op.drop_index('ix_case_clock_open_due_on', table_name='case_clock', postgresql_where=sa.text("state <> 'stopped'"))
    op.drop_index('ix_case_clock_office_started_on', table_name='case_clock')
    op.drop_index('ix_case_clock_ministry_started_on', table_name='case_clock')
    op.drop_index(op.f('ix_case_clock_application_id'), table_name='case_clock')
    op.drop_table('case_clock')
