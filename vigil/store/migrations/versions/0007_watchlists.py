"""watchlists, their entries and face templates; alert_reviews (the two-person rule)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_reviews",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "alert_id", sa.Integer(), sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("at", TZ, nullable=False),
        sa.UniqueConstraint("alert_id", "reviewer", name="uq_alert_reviews_reviewer"),
    )
    op.create_index("ix_alert_reviews_alert", "alert_reviews", ["alert_id"])
    op.create_table(
        "watchlists",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("authorised_by", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("valid_from", TZ, nullable=False),
        sa.Column("valid_until", TZ, nullable=False),
        sa.Column("cameras", sa.JSON()),
        sa.Column("geofence", sa.JSON()),
        sa.Column("window_start", sa.String(5)),
        sa.Column("window_end", sa.String(5)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
    )
    op.create_table(
        "watchlist_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "watchlist_id",
            sa.Integer(),
            sa.ForeignKey("watchlists.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(100)),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_watchlist_entries_list", "watchlist_entries", ["watchlist_id"])
    op.create_table(
        "face_templates",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("watchlist_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("picture", sa.LargeBinary()),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_face_templates_entry", "face_templates", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_face_templates_entry", table_name="face_templates")
    op.drop_table("face_templates")
    op.drop_index("ix_watchlist_entries_list", table_name="watchlist_entries")
    op.drop_table("watchlist_entries")
    op.drop_table("watchlists")
    op.drop_index("ix_alert_reviews_alert", table_name="alert_reviews")
    op.drop_table("alert_reviews")
