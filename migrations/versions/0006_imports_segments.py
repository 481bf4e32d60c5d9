"""subscribers: imports and segments

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 14:06:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.database import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("encoding", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("lines_total", sa.Integer(), nullable=False),
        sa.Column("line_done", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("attribute_columns", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name="fk_import_jobs_list_id_lists", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_import_jobs"),
    )
    op.create_index("ix_import_jobs_list_id", "import_jobs", ["list_id"])
    op.create_table(
        "import_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name="fk_import_rejections_job_id_import_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_import_rejections"),
    )
    op.create_index("ix_import_rejections_job_line", "import_rejections", ["job_id", "line"])
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("list_ids", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_segments"),
    )
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("segment_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_campaigns_segment_id_segments", "segments", ["segment_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint("fk_campaigns_segment_id_segments", type_="foreignkey")
        batch.drop_column("segment_id")
    op.drop_table("segments")
    op.drop_index("ix_import_rejections_job_line", table_name="import_rejections")
    op.drop_table("import_rejections")
    op.drop_index("ix_import_jobs_list_id", table_name="import_jobs")
    op.drop_table("import_jobs")
