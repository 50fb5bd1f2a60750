"""Hotlists: CSV import checked line by line (all or nothing), reads matched with OCR-confusion
awareness (a one-character confusion hits, a different plate does not), expiry, partial-plate
entries, changes made by another process picked up, and the alert a hit raises."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.bus import LocalBus
from vigil.domain import Box, Camera, Event, EventType
from vigil.rules.engine import AlertService, RuleEngine
from vigil.rules.hotlists import HotlistIndex, HotlistMatcher, Listed
from vigil.store.alerts import Alerts
from vigil.store.checks import ListError
from vigil.store.db import Store
from vigil.store.hotlists import HotlistConflict, HotlistError, Hotlists, parse_csv
from vigil.store.tables import HotlistEntryRow
from vigil.vision.plates.match import distance

SOON = datetime.now(UTC) + timedelta(days=30)
CSV = """plate,reason,source,expiry,pattern
ZG 1234-AB,stolen vehicle,police report 114,,
SK777BB,unpaid fines,city tolls,2099-01-31,
,witness saw a partial plate,incident 77,,RI12??A*
"""


def read(plate: str, camera: str = "gate", t: float = 5.0) -> Event:
    return Event(
        EventType.PLATE_READ,
        camera,
        t,
        4,
        "car",
        Box(1, 2, 30, 20),
        0.9,
        attributes={"plate": plate},
    )


def listed(store: Store, csv: str = CSV, **kw: Any) -> int:
    lists = Hotlists(store)
    row = lists.create(kw.pop("name", "stolen"), "ada", "Road Traffic Act s. 12", SOON, **kw)
    lists.load(row.id, parse_csv(csv), replace=False)
    return row.id


def test_csv_entries_are_normalised_and_checked() -> None:
    plate, fines, partial = parse_csv("\ufeff" + CSV)
    assert (plate.plate, plate.reason, plate.source, plate.expires_at) == (
        "ZG1234AB",
        "stolen vehicle",
        "police report 114",
        None,
    )
    assert fines.expires_at == datetime(2099, 2, 1, tzinfo=UTC)  # through the 31st
    assert (partial.plate, partial.pattern) == (None, "RI12??A*")
    # the same plate twice: the later line stands
    (only,) = parse_csv("plate,reason\nab123,first\nAB-123,second\n")
    assert (only.plate, only.reason) == ("AB123", "second")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("plate,reason\nAB123,okay\nAB124,\n", "line 3: reason must be one line"),
        ("plate,reason\nAB123,okay\n,no plate\n", "line 3: a plate or a pattern is needed"),
        ("plate,reason,expiry\nAB123,okay,2001-01-01\n", "line 2: expiry 2001-01-01 has passed"),
        ("plate,reason,expiry\nAB123,okay,next week\n", "line 2: expiry 'next week' is not a date"),
        ("plate,reason,pattern\n,partial,AB(1)\n", "line 2: 'AB(1)' is not a plate pattern"),
        ("plate,reason\nAB123,okay,extra\n", "line 2: more fields than the header has"),
        ("plate,reason\n-,dash only\n", "line 2: plate '-' needs 2 to 16 letters or digits"),
        ("plate,colour,reason\nAB123,red,okay\n", "unknown: colour"),
        ("plate\nAB123\n", "needs a header line with the columns reason and plate"),
        ("", "needs a header line"),
        ("plate,reason\nAB123,okay\x1b[2J\n", "line 2: reason must be one line"),
    ],
)
def test_a_bad_line_refuses_the_file_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(HotlistError) as err:
        parse_csv(text)
    assert message in str(err.value)


def test_import_adds_updates_replaces_and_a_bad_file_changes_nothing(store: Store) -> None:
    lists = Hotlists(store)
    hid = listed(store)
    report = lists.load(
        hid, parse_csv("plate,reason\nSK777BB,now stolen\nPO555XX,new\n"), replace=False
    )
    assert (report.added, report.updated, report.removed, report.total) == (1, 1, 0, 4)
    reasons = {e.plate: e.reason for e in lists.entries(hid)}
    assert reasons["SK777BB"] == "now stolen" and reasons["ZG1234AB"] == "stolen vehicle"
    with pytest.raises(HotlistError, match="line 3"):
        lists.load(hid, parse_csv("plate,reason\nAA111,okay\nBB222,\n"), replace=True)
    assert len(lists.entries(hid)) == 4  # the refused file changed nothing
    report = lists.load(hid, parse_csv("plate,reason\nPO555XX,still\nNEW1,x y z\n"), replace=True)
    assert (report.added, report.updated, report.removed, report.total) == (1, 1, 3, 2)
    with pytest.raises(HotlistConflict, match="exists already"):
        lists.create("stolen", "bob", "another basis", SOON)
    with pytest.raises(HotlistError, match="expiry has passed"):
        lists.create("old", "bob", "some basis", datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(ListError, match="not a list name"):
        lists.create("bad\nname", "bob", "some basis", SOON)


def test_one_character_confusions_hit_and_a_different_plate_does_not(store: Store) -> None:
    listed(store)
    matcher = HotlistMatcher(store)

    def hit(plate: str) -> str | None:
        alerts = matcher.alerts(read(plate))
        return (
            alerts[0].attributes["entry"]["plate"] or alerts[0].attributes["entry"]["pattern"]
            if alerts
            else None
        )

    assert hit("ZG1234AB") == "ZG1234AB"
    assert hit("2G1234AB") == "ZG1234AB"  # Z read as 2
    assert hit("ZG1Z34A8") == "ZG1234AB"  # two confusions: 2 as Z, B as 8
    assert hit("ZGI234AB") == "ZG1234AB"  # 1 as I
    assert hit("SK777B8") == "SK777BB"
    assert hit("ZG1235AB") is None  # another digit: another car
    assert hit("ZG1234AC") is None
    assert hit("ZG1234A") is None  # a character short is not within the default tolerance
    assert hit("ZG12Z4AB8") is None
    assert hit("RI1277AX") == "RI12??A*"  # the partial plate
    assert hit("R11277AX") == "RI12??A*"  # ... confusions forgiven
    assert hit("RI1277BX") is None


def test_a_wider_tolerance_forgives_one_missed_character(store: Store) -> None:
    listed(store, "plate,reason\nZG1234AB,stolen\n", name="wide", tolerance=1.0)
    matcher = HotlistMatcher(store)
    (alert,) = matcher.alerts(read("ZG1234A"))
    assert alert.attributes["distance"] == 1.0 and alert.rule == "hotlist:wide"
    assert matcher.alerts(read("ZG12345AC")) == []  # two real differences


def test_expired_lists_and_entries_do_not_hit(store: Store) -> None:
    hid = listed(store, "plate,reason,expiry\nAB123CD,soon over,2099-01-01\nXY999ZZ,kept,\n")
    matcher = HotlistMatcher(store)
    later = read("AB123CD", t=0.0)
    row_time = datetime(2099, 1, 2, tzinfo=UTC)

    class Row:  # an event stored at a given time (the matcher reads id, time, snapshot)
        id, time, snapshot = 1, row_time, None

    assert matcher.alerts(read("AB123CD")) != []
    assert matcher.alerts(later, Row()) == []  # type: ignore[arg-type]
    Hotlists(store).update(hid, expires_at=datetime.now(UTC) + timedelta(seconds=1))
    Row.time = datetime.now(UTC) + timedelta(seconds=2)
    assert matcher.alerts(read("XY999ZZ"), Row()) == []  # type: ignore[arg-type]


def test_a_change_made_elsewhere_is_seen_at_the_next_read(store: Store, tmp_path: Path) -> None:
    matcher = HotlistMatcher(store)
    assert matcher.alerts(read("ZG1234AB")) == []
    other = Store(store.url)  # e.g. `vigil hotlist import` on the same database
    try:
        hid = listed(other)
        assert len(matcher.alerts(read("ZG1234AB"))) == 1
        (entry,) = [e for e in Hotlists(other).entries(hid) if e.plate == "ZG1234AB"]
        Hotlists(other).remove_entry(hid, entry.id)
        assert matcher.alerts(read("ZG1234AB")) == []
        Hotlists(other).delete(hid)
        assert matcher.alerts(read("SK777BB")) == []
    finally:
        other.close()


def test_a_hit_raises_an_alert_with_the_read_the_entry_and_the_crop(store: Store) -> None:
    store.save_camera(Camera("gate", "Gate", "a.mp4"))
    listed(store)
    listed(store, "plate,reason,source\nZG1234AB,seen at robbery,CCTV desk\n", name="robbery")

    async def main() -> list[dict[str, Any]]:
        bus = LocalBus()
        sub = bus.subscribe(["alert"])
        service = AlertService(Alerts(store), bus, RuleEngine([]))
        hit, miss = read("2G1234AB"), read("ZG1235AB")
        rows = store.save_results(
            "gate", 1_700_000_000.0, [], [hit, miss], ["s/crop.jpg", "s/m.jpg"]
        )
        raised = service.raise_for(zip([hit, miss], rows, strict=True))
        assert {a.rule for a in raised} == {"hotlist:stolen", "hotlist:robbery"}
        for a in raised:
            assert (a.event_id, a.snapshot, a.type, a.label) == (
                rows[0].id,
                "s/crop.jpg",
                "plate_read",
                "car",
            )
        return [await sub.get(timeout=1) for _ in raised]  # type: ignore[misc]

    pushed = asyncio.run(main())
    by_rule = {m["rule"]: m for m in pushed}
    stolen = by_rule["hotlist:stolen"]["attributes"]
    assert stolen["read"] == "2G1234AB" and stolen["hotlist"] == "stolen"
    assert stolen["entry"]["plate"] == "ZG1234AB" and stolen["entry"]["reason"] == "stolen vehicle"
    assert stolen["entry"]["source"] == "police report 114" and stolen["distance"] == 0.3
    assert by_rule["hotlist:robbery"]["attributes"]["entry"]["reason"] == "seen at robbery"
    assert by_rule["hotlist:stolen"]["snapshot_url"].endswith("/snapshot.jpg")


def test_entries_go_when_they_or_their_list_expire(store: Store) -> None:
    lists = Hotlists(store)
    hid = listed(store, "plate,reason,expiry\nAB123CD,short,2099-01-01\nXY999ZZ,kept,\n")
    other = listed(store, "plate,reason\nQQ1,x y z\n", name="other")
    assert lists.purge_expired(datetime.now(UTC)) == (0, 0)
    lists.update(other, expires_at=datetime(2098, 1, 1, tzinfo=UTC))
    lists.update(hid, expires_at=datetime(2100, 1, 1, tzinfo=UTC))
    assert lists.purge_expired(datetime(2099, 1, 3, tzinfo=UTC)) == (1, 2)
    assert [e.plate for e in lists.entries(hid)] == ["XY999ZZ"]
    assert [r.name for r, _ in lists.all()] == ["stolen"]
    with store.session() as s:
        assert s.query(HotlistEntryRow).count() == 1


PLATE = st.text(alphabet="ABCDEGIJLOQSTUZ0123456789X", min_size=2, max_size=9)


@settings(max_examples=200, deadline=None)
@given(plates=st.lists(PLATE, min_size=1, max_size=40, unique=True), seed=st.integers(0, 2**32))
def test_the_index_finds_what_comparing_with_every_entry_finds(
    plates: list[str], seed: int
) -> None:
    """The index is only a shortcut: the same hits as a distance to every entry."""
    rng = random.Random(seed)
    far = datetime(2100, 1, 1, tzinfo=UTC)
    entries = [
        Listed(i, i % 3, f"l{i % 3}", (0.6, 1.0, 1.5)[i % 3], p, None, None, "r", None, far)
        for i, p in enumerate(plates)
    ]
    index = HotlistIndex(entries)
    for _ in range(10):
        base = list(rng.choice(plates))
        for _ in range(rng.randint(0, 2)):
            i = rng.randrange(len(base))
            base[i] = rng.choice("ABCDEGIJLOQSTUZ0123456789X")
        if rng.random() < 0.3 and len(base) > 2:
            del base[rng.randrange(len(base))]
        probe = "".join(base)
        now = datetime(2030, 1, 1, tzinfo=UTC)
        got = {(h.listed.hotlist_id, h.distance) for h in index.hits(probe, now)}
        want: dict[int, float] = {}
        for e in entries:
            d = distance(probe, e.plate or "")
            if d <= e.tolerance:
                want[e.hotlist_id] = min(d, want.get(e.hotlist_id, d))
        assert got == set(want.items())
