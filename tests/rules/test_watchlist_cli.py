"""`vigil watchlist`: a list says who, why, where and until when; people are enrolled from
photos (templates only, never the photo); a photo without a usable face is refused before
anything is stored; showing people needs a purpose; all audited as cli:<os user>."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from vigil.audit.log import cli_actor
from vigil.cli import app
from vigil.domain import Camera
from vigil.store.db import Store
from vigil.store.tables import AuditRow, FaceTemplateRow

PHOTO = (
    Path(__file__).resolve().parent.parent / "fixtures" / "video" / "lin_manuel_miranda_enrol.jpg"
)
runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    Store(f"sqlite:///{tmp_path / 'vigil.db'}").close()
    return tmp_path


def cli(data: Path, *args: str) -> Any:
    return runner.invoke(app, ["watchlist", *args, "--data", str(data)], env={"COLUMNS": "200"})


def test_create_enrol_show_remove_delete(data: Path) -> None:
    r = cli(data, "create", "premiere", "--purpose", "banned from the venue by court order",
            "--legal-basis", "court order 12/2026", "--authorised-by", "Judge J. Test",
            "--until", "2099-01-01", "--near", "40.7590,-73.9845", "--radius", "500",
            "--window", "14:00-23:00", "--timezone", "America/New_York")  # fmt: skip
    assert r.exit_code == 0, r.output
    blank = data / "blank.jpg"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 127, np.uint8))
    r = cli(data, "enrol", "premiere", "L. M. Miranda", str(PHOTO), str(blank), "--source", "file")
    assert r.exit_code == 2 and "no face found" in r.output and "Traceback" not in r.output
    r = cli(data, "enrol", "premiere", "L. M. Miranda", str(PHOTO), "--source", "press photo")
    assert r.exit_code == 0, r.output
    r = cli(data, "show", "premiere", "--purpose", "no")
    assert r.exit_code == 2 and "purpose" in r.output
    r = cli(data, "show", "premiere", "--purpose", "audit of the list 4")
    assert r.exit_code == 0 and "L. M. Miranda" in r.output
    r = cli(data, "list")
    assert r.exit_code == 0 and "Judge J. Test" in r.output and "14:00-23:00" in r.output
    store = Store(f"sqlite:///{data / 'vigil.db'}")
    try:
        with store.session() as s:
            (template,) = s.scalars(select(FaceTemplateRow)).all()
            assert (
                len(template.embedding) == 512
                and template.source == "press photo (lin_manuel_miranda_enrol.jpg)"
            )
            assert template.picture and len(template.picture) < 20_000  # a small aligned face
            assert PHOTO.read_bytes()[:2000] not in (template.picture or b"")
            entry = template.entry_id
        assert cli(data, "remove", "premiere", str(entry)).exit_code == 0
        assert cli(data, "delete", "premiere", "--yes").exit_code == 0
        with store.session() as s:
            assert s.scalars(select(FaceTemplateRow)).first() is None
            rows = s.scalars(select(AuditRow).where(AuditRow.actor == cli_actor())).all()
        assert [(a.action, a.purpose) for a in rows] == [
            ("watchlists.create", None),
            ("watchlists.enrol", None),
            ("watchlists.read", "audit of the list 4"),
            ("watchlists.list", None),
            ("watchlists.remove", None),
            ("watchlists.delete", None),
        ]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--near", "1,2"], "--near needs --radius"),
        (["--radius", "5"], "--radius needs --near"),
        (["--near", "north", "--radius", "5"], "is not LAT,LON"),
        (["--window", "14:00"], "START-END"),
        ([], "say where the watchlist applies"),
        (["--camera", "nowhere"], "unknown camera"),
    ],
)
def test_mistakes_are_one_line(data: Path, args: list[str], message: str) -> None:
    r = cli(data, "create", "x1", "--purpose", "a purpose", "--legal-basis", "a basis",
            "--authorised-by", "someone", "--until", "2099-01-01", *args)  # fmt: skip
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output


def test_faces_search_ranks_the_people_on_a_list_and_is_audited(data: Path) -> None:
    import json

    other = PHOTO.parent / "biden_enrol.jpg"
    r = cli(data, "create", "search-test", "--purpose", "identify a suspect from a photo",
            "--legal-basis", "court order 13/2026", "--authorised-by", "Judge J. Test",
            "--until", "2099-01-01", "--camera", "x")  # fmt: skip
    assert r.exit_code == 2 and "unknown camera" in r.output  # no camera 'x' here
    Store(f"sqlite:///{data / 'vigil.db'}").save_camera(Camera("x", "X", "x.mp4"))
    r = cli(data, "create", "search-test", "--purpose", "identify a suspect from a photo",
            "--legal-basis", "court order 13/2026", "--authorised-by", "Judge J. Test",
            "--until", "2099-01-01", "--camera", "x")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert (
        cli(data, "enrol", "search-test", "L. M. Miranda", str(PHOTO), "--source", "file").exit_code
        == 0
    )
    assert (
        cli(data, "enrol", "search-test", "J. Biden", str(other), "--source", "file").exit_code == 0
    )

    def search(photo: Path) -> dict[str, Any]:
        args = ["faces", "search", str(photo), "--watchlist", "search-test"]
        r = runner.invoke(app, [*args, "--purpose", "case 31/2026", "--json", "--data", str(data)])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout.strip().splitlines()[-1])

    found = search(PHOTO)
    assert [c["name"] for c in found["candidates"]] == ["L. M. Miranda", "J. Biden"]
    assert found["candidates"][0]["match"] and not found["candidates"][1]["match"]
    assert search(other)["candidates"][0]["name"] == "J. Biden"
    store = Store(f"sqlite:///{data / 'vigil.db'}")
    try:
        with store.session() as s:
            rows = s.scalars(select(AuditRow).where(AuditRow.action == "watchlists.search")).all()
        assert [r.purpose for r in rows] == ["case 31/2026", "case 31/2026"]
    finally:
        store.close()
