"""hotlists and their entries; alerts.attributes (what a rule matched: a hotlist hit's entry)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotlists",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tolerance", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "hotlist_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "hotlist_id",
            sa.Integer(),
            sa.ForeignKey("hotlists.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("plate", sa.String(16)),
        sa.Column("pattern", sa.String(30)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(200)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "plate IS NOT NULL OR pattern IS NOT NULL", name="ck_hotlist_entries_plate"
        ),
    )
    op.create_index("ix_hotlist_entries_list_plate", "hotlist_entries", ["hotlist_id", "plate"])
    op.add_column("alerts", sa.Column("attributes", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("attributes")
    op.drop_index("ix_hotlist_entries_list_plate", table_name="hotlist_entries")
    op.drop_table("hotlist_entries")
    op.drop_table("hotlists")
