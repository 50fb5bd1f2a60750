"""cameras, tracks and events

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "tracks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "camera_id",
            sa.String(64),
            sa.ForeignKey("cameras.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("media_start", sa.Float(), nullable=False),
        sa.Column("media_end", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("box", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.Text()),
    )
    op.create_index("ix_tracks_camera_first_seen", "tracks", ["camera_id", "first_seen"])
    op.create_index("ix_tracks_label", "tracks", ["label"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "camera_id",
            sa.String(64),
            sa.ForeignKey("cameras.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("media_time", sa.Float(), nullable=False),
        sa.Column("track_id", sa.Integer()),
        sa.Column("label", sa.String(64)),
        sa.Column("score", sa.Float()),
        sa.Column("box", sa.JSON()),
        sa.Column("start", sa.Float()),
        sa.Column("end", sa.Float()),
        sa.Column("attributes", sa.JSON(), nullable=False),
    )
    op.create_index("ix_events_camera_time", "events", ["camera_id", "time"])
    op.create_index("ix_events_type_time", "events", ["type", "time"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("tracks")
    op.drop_table("cameras")
