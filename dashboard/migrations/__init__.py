"""Alembic migrations of the database schema (`dashboard.migrate` runs them)."""
