"""job models: the state of a succeeded job's model files, the job a rerun repeats, and the bytes a job holds

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the model and rerun columns to the job table."""
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("model_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("model_detail", sa.Text(), nullable=True))
        batch.add_column(sa.Column("rerun_of", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("bytes_held", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("job") as batch:
        batch.drop_column("bytes_held")
        batch.drop_column("rerun_of")
        batch.drop_column("model_detail")
        batch.drop_column("model_status")
