"""Alembic migrations: package data, run by ``herald migrate`` (env.py, versions/)."""
