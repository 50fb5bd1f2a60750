"""webhook deliveries: the delivery log and dead-letter list

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
STATES = ("pending", "delivered", "dead")


def upgrade() -> None:
    states = ", ".join(repr(s) for s in STATES)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(36), nullable=False, unique=True),
        sa.Column("webhook", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("object_id", sa.Integer()),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("next_at", TZ),
        sa.Column("delivered_at", TZ),
        sa.CheckConstraint(f"state IN ({states})", name="ck_webhook_deliveries_state"),
    )
    op.create_index(
        "ix_webhook_deliveries_state_created", "webhook_deliveries", ["state", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_state_created", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
