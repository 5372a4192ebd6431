"""Alembic revision scripts of the chain's storage schema (one file per revision, never edited
once released: a new schema is a new revision)."""
