"""Alembic environment: the schema is made only by these migrations (tests too)."""

from alembic import context
from sqlalchemy import create_engine, pool

from bokji.config import get_settings
from bokji.models import Base

target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):
    # Tables that exist in the database but not in our models (tests' side-effect table) are not ours.
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_offline() -> None:
    context.configure(url=get_settings().database_url, target_metadata=target_metadata,
                      literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata, compare_type=True,
                          include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(get_settings().database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                          include_object=include_object)
        with context.begin_transaction():
            # Two processes starting at once (API and worker) must not both migrate.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727272)")
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
