"""Webhook deliveries in the database: the delivery log and the dead-letter list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from vigil.domain import DeliveryState
from vigil.errors import Conflict, NotFound
from vigil.store.db import Store
from vigil.store.records import iso
from vigil.store.tables import DeliveryRow

MAX_ERROR = 500  # characters of the last error kept


def delivery_record(row: DeliveryRow) -> dict[str, Any]:
    """The delivery log's view of a delivery (not its body)."""
    return {
        "id": row.id,
        "key": row.key,
        "webhook": row.webhook,
        "event": row.event,
        "object_id": row.object_id,
        "state": row.state,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "next_at": iso(row.next_at),
        "delivered_at": iso(row.delivered_at),
    }


class Deliveries:
    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def new_key() -> str:
        return str(uuid.uuid4())

    def create(
        self, key: str, webhook: str, event: str, object_id: int | None, body: str
    ) -> DeliveryRow:
        now = datetime.now(UTC)
        row = DeliveryRow(
            key=key, webhook=webhook, event=event, object_id=object_id, body=body,
            state=DeliveryState.PENDING, attempts=0, created_at=now, updated_at=now, next_at=now,
        )  # fmt: skip
        with self.store.session() as s, s.begin():
            s.add(row)
        return row

    def get(self, delivery_id: int) -> DeliveryRow | None:
        with self.store.session() as s:
            return s.get(DeliveryRow, delivery_id)

    def attempted(
        self,
        delivery_id: int,
        state: DeliveryState,
        *,
        status: int | None,
        error: str | None,
        next_at: datetime | None = None,
    ) -> None:
        """One attempt made: its outcome, and where the delivery stands now."""
        now = datetime.now(UTC)
        with self.store.session() as s, s.begin():
            row = s.get(DeliveryRow, delivery_id)
            if row is None:
                return
            row.attempts += 1
            row.state, row.last_status, row.next_at, row.updated_at = state, status, next_at, now
            row.last_error = error[:MAX_ERROR] if error is not None else None
            if state is DeliveryState.DELIVERED:
                row.delivered_at = now

    def requeue(self, delivery_id: int) -> DeliveryRow:
        """A dead delivery, pending again with its attempts counted afresh (same key)."""
        with self.store.session() as s, s.begin():
            row = s.get(DeliveryRow, delivery_id)
            if row is None:
                raise NotFound(f"no webhook delivery {delivery_id}")
            if row.state != DeliveryState.DEAD:
                raise Conflict(
                    f"webhook delivery {delivery_id} is {row.state}; only a dead one is retried"
                )
            row.state, row.attempts = DeliveryState.PENDING, 0
            row.updated_at = row.next_at = datetime.now(UTC)
        return row

    def pending(self, limit: int) -> Sequence[DeliveryRow]:
        """Deliveries still to make (those left when the server stopped), oldest first."""
        with self.store.session() as s:
            return s.scalars(
                select(DeliveryRow)
                .where(DeliveryRow.state == DeliveryState.PENDING)
                .order_by(DeliveryRow.id)
                .limit(limit)
            ).all()

    def listed(
        self, state: DeliveryState | None, webhook: str | None, limit: int
    ) -> Sequence[DeliveryRow]:
        """The newest deliveries first, of one state and webhook if given."""
        query = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit)
        if state is not None:
            query = query.where(DeliveryRow.state == state)
        if webhook is not None:
            query = query.where(DeliveryRow.webhook == webhook)
        with self.store.session() as s:
            return s.scalars(query).all()

    def count(self, state: DeliveryState) -> int:
        with self.store.session() as s:
            query = select(func.count()).select_from(DeliveryRow)
            return int(s.scalar(query.where(DeliveryRow.state == state)) or 0)
