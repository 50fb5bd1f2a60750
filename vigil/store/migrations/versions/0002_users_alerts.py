"""users, sessions, alerts; events get zone, line and snapshot columns

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("zone", sa.String(100)))
        batch.add_column(sa.Column("line", sa.String(100)))
        batch.add_column(sa.Column("snapshot", sa.Text()))
    # Events stored before this revision carry their zone / line only inside `attributes`.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE events SET zone = attributes ->> 'zone', line = attributes ->> 'line'")
    else:
        op.execute(
            "UPDATE events SET zone = json_extract(attributes, '$.zone'), "
            "line = json_extract(attributes, '$.line')"
        )
    op.create_index("ix_events_time", "events", ["time"])
    op.create_index("ix_events_zone", "events", ["zone"])
    op.create_index("ix_events_line", "events", ["line"])

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("cameras", sa.JSON()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.CheckConstraint(
            "role IN ('admin', 'supervisor', 'operator', 'viewer')", name="ck_users_role"
        ),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sessions_user", "sessions", ["user_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column(
            "camera_id",
            sa.String(64),
            sa.ForeignKey("cameras.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("events.id", ondelete="SET NULL")),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("label", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.String(64)),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text()),
        sa.Column("snapshot", sa.Text()),
        sa.CheckConstraint(
            "status IN ('candidate', 'acknowledged', 'dismissed')", name="ck_alerts_status"
        ),
    )
    op.create_index("ix_alerts_time", "alerts", ["time"])
    op.create_index("ix_alerts_camera_time", "alerts", ["camera_id", "time"])
    op.create_index("ix_alerts_status_time", "alerts", ["status", "time"])


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("sessions")
    op.drop_table("users")
    op.drop_index("ix_events_line", "events")
    op.drop_index("ix_events_zone", "events")
    op.drop_index("ix_events_time", "events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("snapshot")
        batch.drop_column("line")
        batch.drop_column("zone")
