"""Alembic's environment: run the revision scripts on the connection the caller opened.

``subnetes.chain.migrations.upgrade`` puts its connection in ``config.attributes``; there is no
``alembic.ini`` and no offline (SQL script) mode.
"""

from __future__ import annotations

from alembic import context

from subnetes.chain.migrations import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through subnetes.chain.migrations.upgrade")
# render_as_batch: SQLite alters a table by copying it (ALTER TABLE is limited there).
context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    render_as_batch=True,
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
