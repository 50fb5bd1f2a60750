"""units and their positions, incidents (steps, units, alerts, checklists); the field role

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
ROLES_OLD = "role IN ('admin', 'supervisor', 'operator', 'viewer', 'auditor')"
ROLES_NEW = "role IN ('admin', 'supervisor', 'operator', 'viewer', 'auditor', 'field')"
# How 0004 changed the users' role check on both engines (SQLite copies the table).
_roles = importlib.import_module("vigil.store.migrations.versions.0004_auditor_role")


def _check(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


UNIT_KINDS = ("foot", "car", "drone", "body_camera")
UNIT_STATUSES = ("available", "dispatched", "on_scene", "off_duty")
INCIDENT_STATES = ("open", "dispatched", "on_scene", "resolved", "closed")
ASSIGNMENTS = ("dispatched", "accepted", "declined", "on_scene", "released")


def upgrade() -> None:
    _roles._replace_check(ROLES_OLD, ROLES_NEW)  # before any table refers to users
    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("callsign", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), unique=True),
        sa.Column("tak_uid", sa.String(100), unique=True),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("accuracy_m", sa.Float()),
        sa.Column("heading", sa.Float()),
        sa.Column("position_at", TZ),
        sa.Column("position_source", sa.String(16)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
        sa.CheckConstraint(_check("kind", UNIT_KINDS), name="ck_units_kind"),
        sa.CheckConstraint(_check("status", UNIT_STATUSES), name="ck_units_status"),
    )
    op.create_table(
        "unit_positions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", TZ, nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float()),
        sa.Column("heading", sa.Float()),
        sa.Column("speed_mps", sa.Float()),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
    )
    op.create_index("ix_unit_positions_unit_at", "unit_positions", ["unit_id", "at"])
    op.create_index("ix_unit_positions_at", "unit_positions", ["at"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("camera_id", sa.String(64)),
        sa.Column("checklist", sa.JSON()),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
        sa.CheckConstraint(_check("state", INCIDENT_STATES), name="ck_incidents_state"),
    )
    op.create_index("ix_incidents_state", "incidents", ["state"])
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])
    op.create_table(
        "incident_steps",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.Integer(),
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16)),
        sa.Column("unit_id", sa.Integer()),
        sa.Column("alert_id", sa.Integer()),
        sa.Column("text", sa.Text()),
    )
    op.create_index("ix_incident_steps_incident", "incident_steps", ["incident_id", "id"])
    op.create_table(
        "incident_units",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.Integer(),
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "unit_id", sa.Integer(), sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dispatched_by", sa.String(100), nullable=False),
        sa.Column("dispatched_at", TZ, nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
        sa.UniqueConstraint("incident_id", "unit_id", name="uq_incident_units"),
        sa.CheckConstraint(_check("status", ASSIGNMENTS), name="ck_incident_units_status"),
    )
    op.create_index("ix_incident_units_unit", "incident_units", ["unit_id"])
    op.create_table(
        "incident_alerts",
        sa.Column(
            "alert_id",
            sa.Integer(),
            sa.ForeignKey("alerts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "incident_id",
            sa.Integer(),
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_index("ix_incident_alerts_incident", "incident_alerts", ["incident_id"])
    op.create_table(
        "incident_checklists",
        sa.Column("type", sa.String(64), primary_key=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("set_by", sa.String(100), nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("incident_checklists")
    op.drop_index("ix_incident_alerts_incident", table_name="incident_alerts")
    op.drop_table("incident_alerts")
    op.drop_index("ix_incident_units_unit", table_name="incident_units")
    op.drop_table("incident_units")
    op.drop_index("ix_incident_steps_incident", table_name="incident_steps")
    op.drop_table("incident_steps")
    op.drop_index("ix_incidents_opened_at", table_name="incidents")
    op.drop_index("ix_incidents_state", table_name="incidents")
    op.drop_table("incidents")
    op.drop_index("ix_unit_positions_at", table_name="unit_positions")
    op.drop_index("ix_unit_positions_unit_at", table_name="unit_positions")
    op.drop_table("unit_positions")
    op.drop_table("units")
    op.execute("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE role = 'field')")
    op.execute("DELETE FROM users WHERE role = 'field'")
    _roles._replace_check(ROLES_NEW, ROLES_OLD)
