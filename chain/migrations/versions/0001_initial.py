"""The initial schema: exactly what releases before schema versions created with ``create_all``.

Frozen here (not imported from ``storage.py``): later revisions change the schema from this one.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the four chain tables (in create_all's order)."""
    op.create_table(
        "chain_blocks",
        sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(66), nullable=False, unique=True),
        sa.Column("parent", sa.String(66), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_table(
        "chain_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "chain_state",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "chain_xt_index",
        sa.Column("hash", sa.String(66), primary_key=True),
        sa.Column("block", sa.BigInteger, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    """Drop the chain tables (everything in them is lost)."""
    for table in ("chain_xt_index", "chain_state", "chain_meta", "chain_blocks"):
        op.drop_table(table)
