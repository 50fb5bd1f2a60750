"""Watchlists in the database: people to look for, and the templates of their faces.

A watchlist is authorised by a named person for a stated purpose on a legal basis; it is
valid from one time until another, applies in a place (a list of cameras, or a geofence on
the map covering the cameras inside it) and, optionally, only in a daily window ("14:00 to
23:00" in the list's time zone). Its entries are people (a name and a reference), each with
one or more face templates from enrolment images (the image's source and SHA-256 kept, and a
small aligned picture for reviewers to compare with; never the image itself).

Only listed people have templates here. Nothing of anyone else is ever stored (see
vigil/analyzers/faces.py). Expired watchlists are deleted with their entries and templates by
the retention job (`purge_expired`). Who changes what is audited by the callers (API, CLI).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vigil.errors import Conflict, NotFound
from vigil.logtext import escape
from vigil.store.checks import ListError, check_line, check_name
from vigil.store.db import Store
from vigil.store.named import by_ref, with_counts
from vigil.store.queries import as_utc
from vigil.store.tables import FaceTemplateRow, WatchlistEntryRow, WatchlistRow

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
EMBEDDING_SIZE = 128
MAX_RADIUS_M = 50_000.0


class WatchlistError(ListError):
    pass


class WatchlistNotFound(WatchlistError, NotFound):
    pass


class WatchlistConflict(WatchlistError, Conflict):
    pass


@dataclass(frozen=True, slots=True)
class WatchlistIn:
    """What a watchlist is: checked by `check` before it is stored."""

    name: str
    purpose: str
    legal_basis: str
    authorised_by: str
    valid_from: datetime
    valid_until: datetime
    cameras: Sequence[str] | None = None
    geofence: dict[str, Any] | None = None
    window: tuple[str, str] | None = None  # ("14:00", "23:00"), daily, in `timezone`
    timezone: str = "UTC"
    threshold: float | None = None  # None: the matcher's default


def check_geofence(fence: dict[str, Any]) -> dict[str, Any]:
    """{"polygon": [[lat, lon], ...]} (at least 3 points) or {"centre": [lat, lon],
    "radius_m": R}: the normalised form, or a ListError saying what is wrong."""

    def point(p: Any) -> list[float]:
        if not (isinstance(p, list | tuple) and len(p) == 2):
            raise WatchlistError("a geofence point is [latitude, longitude]")
        lat, lon = (float(v) for v in p)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise WatchlistError(f"[{lat}, {lon}] is not a latitude and longitude")
        return [lat, lon]

    keys = set(fence)
    if keys == {"polygon"}:
        points = [point(p) for p in fence["polygon"]]
        if len(points) < 3:
            raise WatchlistError("a geofence polygon needs at least 3 points")
        return {"polygon": points}
    if keys == {"centre", "radius_m"}:
        radius = float(fence["radius_m"])
        if not 0 < radius <= MAX_RADIUS_M:
            raise WatchlistError(f"radius_m must be between 0 and {MAX_RADIUS_M:.0f} metres")
        return {"centre": point(fence["centre"]), "radius_m": radius}
    raise WatchlistError(
        "a geofence is {polygon: [[lat, lon], ...]} or {centre: [lat, lon], radius_m: R}"
    )


def check(spec: WatchlistIn, now: datetime) -> WatchlistIn:
    check_name(spec.name)
    for text, what in ((spec.purpose, "the purpose"), (spec.legal_basis, "the legal basis")):
        check_line(text, what, 500)
    check_line(spec.authorised_by, "who authorised it", 200)
    if as_utc(spec.valid_until) <= as_utc(spec.valid_from):
        raise WatchlistError("valid_until must come after valid_from")
    if as_utc(spec.valid_until) <= now:
        raise WatchlistError("valid_until has passed; a watchlist must end in the future")
    if not spec.cameras and spec.geofence is None:
        raise WatchlistError(
            "say where the watchlist applies: cameras, or a geofence on the map (a watchlist "
            "never applies everywhere)"
        )
    if spec.window is not None and not all(HHMM.match(t) for t in spec.window):
        raise WatchlistError("the daily window is two times HH:MM, e.g. 14:00 and 23:00")
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise WatchlistError(
            f"'{escape(spec.timezone, 64)}' is not a time zone; use an IANA name such as "
            "Europe/Zagreb or UTC"
        ) from None
    if spec.threshold is not None and not 0.2 <= spec.threshold <= 0.8:
        raise WatchlistError("threshold must be between 0.2 and 0.8 (a face distance)")
    return spec


def embedding_bytes(embedding: np.ndarray) -> bytes:
    vec = np.asarray(embedding, dtype="<f4").reshape(-1)
    if vec.shape != (EMBEDDING_SIZE,) or not np.isfinite(vec).all():
        raise WatchlistError(f"a face template is {EMBEDDING_SIZE} finite numbers")
    return vec.tobytes()


def embedding_of(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


class Watchlists:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, spec: WatchlistIn, created_by: str, default_threshold: float) -> WatchlistRow:
        now = datetime.now(UTC)
        check(spec, now)
        row = WatchlistRow(
            name=spec.name,
            purpose=spec.purpose.strip(" \t"),
            legal_basis=spec.legal_basis.strip(" \t"),
            authorised_by=spec.authorised_by.strip(" \t"),
            created_by=created_by,
            valid_from=as_utc(spec.valid_from),
            valid_until=as_utc(spec.valid_until),
            cameras=list(spec.cameras) if spec.cameras else None,
            geofence=check_geofence(spec.geofence) if spec.geofence is not None else None,
            window_start=spec.window[0] if spec.window else None,
            window_end=spec.window[1] if spec.window else None,
            timezone=spec.timezone,
            threshold=spec.threshold if spec.threshold is not None else default_threshold,
            created_at=now,
            changed_at=now,
        )
        try:
            with self.store.session() as s, s.begin():
                s.add(row)
        except IntegrityError:
            raise WatchlistConflict(f"a watchlist named '{spec.name}' exists already") from None
        return row

    def all(self) -> list[tuple[WatchlistRow, int]]:
        """Every watchlist with its number of entries (people), by name."""
        return with_counts(self.store, WatchlistRow, WatchlistEntryRow.watchlist_id)

    def get(self, ref: int | str) -> WatchlistRow:
        """A watchlist by id or by name."""
        return by_ref(self.store, WatchlistRow, ref, "watchlist", WatchlistNotFound)

    def add_entry(self, watchlist_id: int, name: str, reference: str | None) -> WatchlistEntryRow:
        check_line(name, "the person's name", 200)
        if reference is not None and (len(reference) > 100 or not reference.isprintable()):
            raise WatchlistError("the reference is one line of at most 100 characters")
        now = datetime.now(UTC)
        with self.store.session() as s, s.begin():
            listed = s.get(WatchlistRow, watchlist_id, with_for_update=True)
            if listed is None:
                raise WatchlistNotFound(f"no watchlist {watchlist_id}")
            row = WatchlistEntryRow(
                watchlist_id=watchlist_id, name=name.strip(" \t"), reference=reference,
                created_at=now,
            )  # fmt: skip
            s.add(row)
            listed.changed_at = now
        return row

    def add_template(
        self,
        entry_id: int,
        embedding: np.ndarray,
        source: str,
        image_sha256: str,
        picture: bytes | None,
    ) -> FaceTemplateRow:
        check_line(source, "the image's source", 500)
        blob = embedding_bytes(embedding)
        now = datetime.now(UTC)
        with self.store.session() as s, s.begin():
            entry = s.get(WatchlistEntryRow, entry_id)
            if entry is None:
                raise WatchlistNotFound(f"no watchlist entry {entry_id}")
            row = FaceTemplateRow(
                entry_id=entry_id, embedding=blob, source=source.strip(" \t"),
                image_sha256=image_sha256, picture=picture, created_at=now,
            )  # fmt: skip
            s.add(row)
            listed = s.get(WatchlistRow, entry.watchlist_id)
            if listed is not None:
                listed.changed_at = now
        return row

    def entries(self, watchlist_id: int) -> list[tuple[WatchlistEntryRow, int]]:
        """A list's people with their number of templates."""
        count = (
            select(func.count(FaceTemplateRow.id))
            .where(FaceTemplateRow.entry_id == WatchlistEntryRow.id)
            .scalar_subquery()
        )
        query = select(WatchlistEntryRow, count).where(
            WatchlistEntryRow.watchlist_id == watchlist_id
        )
        with self.store.session() as s:
            return [(r, n) for r, n in s.execute(query.order_by(WatchlistEntryRow.name))]

    def templates(
        self, watchlist_ids: Sequence[int]
    ) -> list[tuple[WatchlistEntryRow, FaceTemplateRow]]:
        if not watchlist_ids:
            return []
        with self.store.session() as s:
            rows = s.execute(
                select(WatchlistEntryRow, FaceTemplateRow)
                .join(FaceTemplateRow, FaceTemplateRow.entry_id == WatchlistEntryRow.id)
                .where(WatchlistEntryRow.watchlist_id.in_(list(watchlist_ids)))
            ).all()
        return [(e, t) for e, t in rows]

    def entry_picture(self, entry_id: int) -> bytes | None:
        """The first enrolled picture of a person (for reviewers), or None."""
        with self.store.session() as s:
            return s.scalar(
                select(FaceTemplateRow.picture)
                .where(FaceTemplateRow.entry_id == entry_id, FaceTemplateRow.picture.is_not(None))
                .order_by(FaceTemplateRow.id)
                .limit(1)
            )

    def remove_entry(self, watchlist_id: int, entry_id: int) -> WatchlistEntryRow:
        with self.store.session() as s, s.begin():
            row = s.get(WatchlistEntryRow, entry_id)
            if row is None or row.watchlist_id != watchlist_id:
                raise WatchlistNotFound(f"watchlist {watchlist_id} has no entry {entry_id}")
            s.execute(delete(FaceTemplateRow).where(FaceTemplateRow.entry_id == entry_id))
            s.delete(row)
            listed = s.get(WatchlistRow, watchlist_id)
            if listed is not None:
                listed.changed_at = datetime.now(UTC)
        return row

    def delete(self, watchlist_id: int) -> WatchlistRow:
        with self.store.session() as s, s.begin():
            row = s.get(WatchlistRow, watchlist_id)
            if row is None:
                raise WatchlistNotFound(f"no watchlist {watchlist_id}")
            _delete_lists(s, WatchlistRow.id == watchlist_id)
        return row


def _delete_lists(s: Session, which: ColumnElement[bool]) -> int:
    """Delete the watchlists `which` selects with their entries and templates: (lists)."""
    ids = list(s.scalars(select(WatchlistRow.id).where(which)))
    if not ids:
        return 0
    entries = select(WatchlistEntryRow.id).where(WatchlistEntryRow.watchlist_id.in_(ids))
    s.execute(delete(FaceTemplateRow).where(FaceTemplateRow.entry_id.in_(entries)))
    s.execute(delete(WatchlistEntryRow).where(WatchlistEntryRow.watchlist_id.in_(ids)))
    s.execute(delete(WatchlistRow).where(WatchlistRow.id.in_(ids)))
    return len(ids)


def purge_expired(s: Session, now: datetime, *, dry_run: bool) -> tuple[int, int]:
    """(expired watchlists, their face templates), deleted with their entries unless
    `dry_run`. Run by the retention job in its own transaction."""
    expired = WatchlistRow.valid_until <= now
    ids = select(WatchlistRow.id).where(expired)
    lists = int(s.scalar(select(func.count(WatchlistRow.id)).where(expired)) or 0)
    templates = int(
        s.scalar(
            select(func.count(FaceTemplateRow.id))
            .join(WatchlistEntryRow, WatchlistEntryRow.id == FaceTemplateRow.entry_id)
            .where(WatchlistEntryRow.watchlist_id.in_(ids))
        )
        or 0
    )
    if not dry_run:
        _delete_lists(s, expired)
    return lists, templates
