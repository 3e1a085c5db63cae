"""metric histories in packed chunks: metric_chunk beside the hot tail of rows in metric_point; job_event.step

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add metric_chunk and job_event.step. Existing points stay rows: a series' rows are its hot tail until its next
    write packs them."""
    op.create_table(
        "metric_chunk",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("first_step", sa.Integer(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("nonfinite", sa.Integer(), nullable=False),
        sa.Column("rollup", sa.LargeBinary(), nullable=False),
        sa.Column("steps", sa.LargeBinary(), nullable=False),
        sa.Column("epochs", sa.LargeBinary(), nullable=False),
        sa.Column("values", sa.LargeBinary(), nullable=False),
        sa.Column("times", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_metric_chunk_job_id_job"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "name", "first_step", name=op.f("pk_metric_chunk")),
    )
    op.add_column("job_event", sa.Column("step", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop metric_chunk (its points with it) and job_event.step."""
    with op.batch_alter_table("job_event") as batch:
        batch.drop_column("step")
    op.drop_table("metric_chunk")
