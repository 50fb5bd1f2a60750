"""Lists people answer for (hotlists, watchlists) share two reads: every list with the number
of its entries, and one list by id or by name (a miss names the lists there are)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from vigil.logtext import escape
from vigil.store.db import Store

RowT = TypeVar("RowT")


def with_counts(
    store: Store, model: type[RowT], child_key: InstrumentedAttribute[int]
) -> list[tuple[RowT, int]]:
    """Every row of `model` by name, with how many children point at it through `child_key`."""
    owner: Any = model
    count = select(func.count()).where(child_key == owner.id).scalar_subquery()
    with store.session() as s:
        return [(r, n) for r, n in s.execute(select(owner, count).order_by(owner.name))]


def by_ref(
    store: Store, model: type[RowT], ref: int | str, what: str, missing: type[Exception]
) -> RowT:
    """The row with this id (an int) or name (a str); `missing(...)` naming the others if none."""
    owner: Any = model
    with store.session() as s:
        if isinstance(ref, int):
            row = s.get(owner, ref)
        else:
            row = s.scalar(select(owner).where(owner.name == ref))
        if row is None:
            names = ", ".join(s.scalars(select(owner.name).order_by(owner.name)))
            raise missing(f"no {what} '{escape(ref, 100)}'; {what}s: {names or 'none yet'}")
        return row
