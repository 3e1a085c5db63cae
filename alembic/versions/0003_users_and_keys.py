"""users and API keys; job owners; who did what in the state log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add app_user and api_key, job.owner_id and job_event.actor."""
    op.create_table(
        "app_user",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_submit_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("name", name=op.f("uq_app_user_name")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_api_key_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_index(op.f("ix_api_key_user_id"), "api_key", ["user_id"])
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key(
            op.f("fk_job_owner_id_app_user"), "app_user", ["owner_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(op.f("ix_job_owner_id"), ["owner_id"])
    with op.batch_alter_table("job_event") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=100), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("job_event") as batch:
        batch.drop_column("actor")
    with op.batch_alter_table("job") as batch:
        batch.drop_index(op.f("ix_job_owner_id"))
        batch.drop_constraint(op.f("fk_job_owner_id_app_user"), type_="foreignkey")
        batch.drop_column("owner_id")
    op.drop_index(op.f("ix_api_key_user_id"), table_name="api_key")
    op.drop_table("api_key")
    op.drop_table("app_user")
