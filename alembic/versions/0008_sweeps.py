"""sweeps: the sweep table (request, state, best trial, the controller's lease) and a job's sweep, trial and params

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    """Create the sweep table; add the trial columns to the job table."""
    op.create_table(
        "sweep",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("trials_created", sa.Integer(), nullable=False),
        sa.Column("best_job_id", sa.String(length=36), nullable=True),
        sa.Column("best_value", sa.Float(), nullable=True),
        sa.Column("lease_holder", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["app_user.id"], name=op.f("fk_sweep_owner_id_app_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep")),
    )
    op.create_index("ix_sweep_owner_id_created_at_id", "sweep", ["owner_id", "created_at", "id"])
    op.create_table(
        "sweep_report",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_sweep_report_job_id_job"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "epoch", name=op.f("pk_sweep_report")),
    )
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("sweep_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("trial", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch.create_foreign_key(op.f("fk_job_sweep_id_sweep"), "sweep", ["sweep_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_job_sweep_id_trial", ["sweep_id", "trial"], unique=True)

def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("job") as batch:
        batch.drop_index("ix_job_sweep_id_trial")
        batch.drop_constraint(op.f("fk_job_sweep_id_sweep"), type_="foreignkey")
        batch.drop_column("params")
        batch.drop_column("trial")
        batch.drop_column("sweep_id")
    op.drop_table("sweep_report")
    op.drop_index("ix_sweep_owner_id_created_at_id", table_name="sweep")
    op.drop_table("sweep")
