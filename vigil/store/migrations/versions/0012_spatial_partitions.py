"""PostGIS columns and GiST indexes; events and positions partitioned by day (PostgreSQL)

Both engines: alerts.event_id stops being a foreign key (a partitioned table cannot be
referenced by id alone; the retention purge clears it instead), units get a (lat, lon) index.
PostgreSQL: events and unit_positions become tables partitioned by day with every row kept
and 64-bit ids (vigil.store.partitions; alerts.event_id too), and where the server has
PostGIS, the located tables get their geometry column and GiST index (vigil.store.spatial).
The downgrade undoes all of it except the PostGIS extension itself, which may serve others
in the database.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from vigil.store.partitions import PARTITIONED, rebuild
from vigil.store.spatial import GEOM, LOCATED, install_postgis

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FK = "fk_alerts_event_id_events"
SQLITE_FK_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _event_fk(conn: sa.Connection) -> str | None:
    for fk in sa.inspect(conn).get_foreign_keys("alerts"):
        if fk["referred_table"] == "events":
            return fk["name"] or FK
    return None


def upgrade() -> None:
    conn = op.get_bind()
    op.create_index("ix_units_lat_lon", "units", ["lat", "lon"])
    name = _event_fk(conn)
    if conn.dialect.name == "sqlite":
        with op.batch_alter_table("alerts", naming_convention=SQLITE_FK_NAMES) as batch:
            batch.drop_constraint(FK, type_="foreignkey")
        return
    if name:
        op.drop_constraint(name, "alerts", type_="foreignkey")
    op.alter_column("alerts", "event_id", type_=sa.BigInteger())  # events' ids become 64-bit
    install_postgis(conn)  # before the copy: the rebuilt tables take the columns along
    for table in PARTITIONED:
        rebuild(conn, table, partitioned=True, now=datetime.now(UTC))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for table in PARTITIONED:
            rebuild(conn, table, partitioned=False, now=datetime.now(UTC))
        for table in LOCATED:
            op.execute(f'ALTER TABLE "{table}" DROP COLUMN IF EXISTS {GEOM}')
    # The foreign key again: first let go of events that are gone (as SET NULL would have).
    op.execute(
        "UPDATE alerts SET event_id = NULL WHERE event_id IS NOT NULL "
        "AND event_id NOT IN (SELECT id FROM events)"
    )
    if conn.dialect.name == "sqlite":
        with op.batch_alter_table("alerts") as batch:
            batch.create_foreign_key(FK, "events", ["event_id"], ["id"], ondelete="SET NULL")
    else:
        op.alter_column("alerts", "event_id", type_=sa.Integer())
        op.create_foreign_key(
            "alerts_event_id_fkey", "alerts", "events", ["event_id"], ["id"], ondelete="SET NULL"
        )
    op.drop_index("ix_units_lat_lon", table_name="units")
