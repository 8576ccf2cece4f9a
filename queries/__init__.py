"""Read-only queries, one module per subject.

Every function takes `(connection, scope, filters)` and returns a pandas DataFrame (or,
for a single record of indicators, a dict). SQLAlchemy Core only, so the same code runs
on SQLite and PostgreSQL. No Streamlit here.
"""
