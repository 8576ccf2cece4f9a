"""Alembic environment: runs on the connection `dashboard.migrate` hands over (no
alembic.ini; the database URL is the product's own)."""

from alembic import context

from dashboard.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
