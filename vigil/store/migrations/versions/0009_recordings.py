"""recorded segments, recording gaps, evidence locks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
SEGMENT_STATES = ("open", "closed", "cut")


def upgrade() -> None:
    states = ", ".join(repr(s) for s in SEGMENT_STATES)
    op.create_table(
        "recording_segments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("start", TZ, nullable=False),
        sa.Column("end", TZ),
        sa.Column("path", sa.Text(), nullable=False, unique=True),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("codec", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.CheckConstraint(f"state IN ({states})", name="ck_recording_segments_state"),
    )
    op.create_index(
        "ix_recording_segments_camera_start", "recording_segments", ["camera_id", "start"]
    )
    op.create_index("ix_recording_segments_start", "recording_segments", ["start"])
    op.create_table(
        "recording_gaps",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("start", TZ, nullable=False),
        sa.Column("end", TZ),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index("ix_recording_gaps_camera_start", "recording_gaps", ["camera_id", "start"])
    op.create_table(
        "evidence_locks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("start", TZ, nullable=False),
        sa.Column("end", TZ, nullable=False),
        sa.Column("incident_id", sa.Integer()),
        sa.Column("alert_id", sa.Integer()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("locked_by", sa.String(100), nullable=False),
        sa.Column("locked_at", TZ, nullable=False),
        sa.Column("unlocked_by", sa.String(100)),
        sa.Column("unlocked_at", TZ),
        sa.Column("unlock_reason", sa.Text()),
    )
    op.create_index("ix_evidence_locks_camera", "evidence_locks", ["camera_id", "start"])


def downgrade() -> None:
    op.drop_index("ix_evidence_locks_camera", table_name="evidence_locks")
    op.drop_table("evidence_locks")
    op.drop_index("ix_recording_gaps_camera_start", table_name="recording_gaps")
    op.drop_table("recording_gaps")
    op.drop_index("ix_recording_segments_start", table_name="recording_segments")
    op.drop_index("ix_recording_segments_camera_start", table_name="recording_segments")
    op.drop_table("recording_segments")
