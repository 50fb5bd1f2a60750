"""events.plate: a plate_read's plate, copied out of attributes for indexed plate searches

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("plate", sa.String(16)))
    op.create_index("ix_events_plate", "events", ["plate"])


def downgrade() -> None:
    op.drop_index("ix_events_plate", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("plate")
