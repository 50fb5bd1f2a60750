"""users.role may be 'auditor' (reads the audit log, sees no video)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD = "role IN ('admin', 'supervisor', 'operator', 'viewer')"
NEW = "role IN ('admin', 'supervisor', 'operator', 'viewer', 'auditor')"


def _users(check: str) -> sa.Table:
    """The users table as 0002 made it, with the given role check (SQLite's batch mode copies
    the table from this definition instead of reflecting it, so the old check is dropped)."""
    return sa.Table(
        "users",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("cameras", sa.JSON()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.CheckConstraint(check, name="ck_users_role"),
    )


def _replace_check(old: str, new: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("ck_users_role", "users", type_="check")
        op.create_check_constraint("ck_users_role", "users", new)
        return
    # SQLite cannot alter a constraint: batch mode copies the table into a new one. Dropping
    # the old table cascades (foreign keys are on) to the sessions, which are put back after.
    bind = op.get_bind()
    sessions = sa.table(
        "sessions",
        *(sa.column(c) for c in ("id", "user_id", "csrf", "created_at", "expires_at")),
    )
    kept = [dict(r._mapping) for r in bind.execute(sa.select(sessions))]
    with op.batch_alter_table("users", copy_from=_users(old), recreate="always") as batch:
        batch.drop_constraint("ck_users_role", type_="check")
        batch.create_check_constraint("ck_users_role", sa.text(new))
    bind.execute(sa.delete(sessions))
    if kept:
        bind.execute(sa.insert(sessions), kept)


def upgrade() -> None:
    _replace_check(OLD, NEW)


def downgrade() -> None:
    op.execute(
        "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE role = 'auditor')"
    )
    op.execute("DELETE FROM users WHERE role = 'auditor'")
    _replace_check(NEW, OLD)
