"""fault tolerance: reasons, restarts, checkpoints, enqueue time, the state log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the job's fault-tolerance columns and the job_event table."""
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("restarts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("checkpoint_path", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("checkpoint_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_job_status_heartbeat_at", "job", ["status", "heartbeat_at"])
    op.create_table(
        "job_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_job_event_job_id_job"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_event")),
    )
    op.create_index("ix_job_event_job_id_id", "job_event", ["job_id", "id"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_job_event_job_id_id", table_name="job_event")
    op.drop_table("job_event")
    op.drop_index("ix_job_status_heartbeat_at", table_name="job")
    with op.batch_alter_table("job") as batch:
        for column in ("enqueued_at", "checkpoint_step", "checkpoint_path", "restarts", "reason"):
            batch.drop_column(column)
