"""pools: a job's pool, priority, dispatch time, worker and preempt flag; the worker table; the lease table

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the queue's columns to the job table; create the worker and lease tables."""
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("pool", sa.String(length=32), server_default="default", nullable=False))
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("worker_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("preempt_requested", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.create_index("ix_job_pool_status", ["pool", "status"])
    # Jobs queued before the upgrade already have their message in the broker: they count as dispatched.
    op.execute("UPDATE job SET dispatched_at = enqueued_at WHERE status = 'queued'")
    op.create_table(
        "worker",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pool", sa.String(length=32), nullable=False),
        sa.Column("device", sa.String(length=200), nullable=False),
        sa.Column("gpu_memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("gpu_utilization", sa.Float(), nullable=True),
        sa.Column("gpu_memory_used_bytes", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker")),
    )
    op.create_index("ix_worker_pool_last_seen_at", "worker", ["pool", "last_seen_at"])
    op.create_table(
        "lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wakes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lease")),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("lease")
    op.drop_index("ix_worker_pool_last_seen_at", table_name="worker")
    op.drop_table("worker")
    with op.batch_alter_table("job") as batch:
        batch.drop_index("ix_job_pool_status")
        for column in ("preempt_requested", "worker_id", "dispatched_at", "priority", "pool"):
            batch.drop_column(column)
