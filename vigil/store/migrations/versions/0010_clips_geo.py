"""ingested clips, moving cameras' positions, tracks' and events' ground points

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
CLIP_STATUSES = ("queued", "running", "done", "failed")


def upgrade() -> None:
    statuses = ", ".join(repr(s) for s in CLIP_STATUSES)
    op.create_table(
        "clips",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("path", sa.Text()),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("telemetry", sa.String(16)),
        sa.Column("note", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("tracks", sa.Integer(), nullable=False),
        sa.Column("placed", sa.Integer(), nullable=False),
        sa.Column("start", TZ),
        sa.Column("duration", sa.Float()),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.CheckConstraint(f"status IN ({statuses})", name="ck_clips_status"),
    )
    op.create_index("ix_clips_created_at", "clips", ["created_at"])
    op.create_index("ix_clips_unit", "clips", ["unit_id"])
    op.create_table(
        "camera_positions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("clip_id", sa.Integer(), sa.ForeignKey("clips.id", ondelete="CASCADE")),
        sa.Column("at", TZ, nullable=False),
        sa.Column("media_time", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("alt", sa.Float()),
        sa.Column("heading", sa.Float()),
        sa.Column("footprint", sa.JSON()),
    )
    op.create_index("ix_camera_positions_camera_at", "camera_positions", ["camera_id", "at"])
    op.create_index("ix_camera_positions_clip", "camera_positions", ["clip_id", "media_time"])
    for table in ("events", "tracks"):
        op.add_column(table, sa.Column("lat", sa.Float()))
        op.add_column(table, sa.Column("lon", sa.Float()))
    op.add_column("tracks", sa.Column("trail", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("tracks") as batch:
        for name in ("trail", "lon", "lat"):
            batch.drop_column(name)
    with op.batch_alter_table("events") as batch:
        for name in ("lon", "lat"):
            batch.drop_column(name)
    op.drop_index("ix_camera_positions_clip", table_name="camera_positions")
    op.drop_index("ix_camera_positions_camera_at", table_name="camera_positions")
    op.drop_table("camera_positions")
    op.drop_index("ix_clips_unit", table_name="clips")
    op.drop_index("ix_clips_created_at", table_name="clips")
    op.drop_table("clips")
