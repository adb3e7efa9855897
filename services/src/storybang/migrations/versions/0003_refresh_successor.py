"""Refresh tokens: the sealed pair each was rotated into, for the refresh grace.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refresh_tokens", sa.Column("successor", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("refresh_tokens", "successor")
