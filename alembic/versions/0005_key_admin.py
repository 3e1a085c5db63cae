"""admin rights belong to a key, not to its user: api_key.is_admin replaces app_user.is_admin

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add api_key.is_admin, true for every key of a user who was an admin, then drop app_user.is_admin."""
    op.add_column("api_key", sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Every key of an admin user had admin rights before: they keep them, so no running script loses access.
    op.execute(
        "UPDATE api_key SET is_admin = (SELECT app_user.is_admin FROM app_user WHERE app_user.id = api_key.user_id)"
    )
    # Plain ALTER TABLE, never a batch copy on SQLite: copying app_user would drop the old table, and with foreign
    # keys on that cascades to every key. The server default stays for the same reason (dropping it copies).
    op.drop_column("app_user", "is_admin")


def downgrade() -> None:
    """Put app_user.is_admin back: a user is an admin when any of their live keys is one."""
    op.add_column("app_user", sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE app_user SET is_admin = EXISTS (SELECT 1 FROM api_key WHERE api_key.user_id = app_user.id "
        "AND api_key.is_admin AND api_key.revoked_at IS NULL)"
    )
    op.drop_column("api_key", "is_admin")
