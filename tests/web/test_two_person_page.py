"""The two-person rule in the live alert queue, in a real browser (Debian's Chromium through
Playwright) against the running demo. A face match shows the face seen beside the enrolled
picture, whom it matched on which watchlist and how closely; its Confirm asks for a reason;
after a first confirmation it stays a candidate showing who confirmed and why; the same
operator cannot confirm again (the page says so, and the server's 409 is shown when they try
anyway); another operator's confirmation acknowledges it, and the first operator's page follows
over the WebSocket."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.web.conftest import EXPECTED_CONSOLE, Demo, add_user, log_in, open_page
from vigil.domain import Alert, EventType
from vigil.store.alerts import Alerts
from vigil.store.db import Store, default_db_url
from vigil.store.watchlists import WatchlistIn, Watchlists
from vigil.vision.faces import MATCH_THRESHOLD

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "video" / "lin_manuel_miranda_enrol.jpg"
FACE = (181, 79, 186, 261)  # where the face is in PHOTO (x, y, w, h)
ANN = ("ann", "ann-operator-password")
BOB = ("bob", "bob-operator-password")
# The same person twice is a 409, which Chromium logs as a failed resource.
REFUSED = (*EXPECTED_CONSOLE, "status of 409")
FIRST = "same scar over the left eyebrow"
SECOND = "compared with the enrolment photo: ears and hairline agree"


def _face(size: int) -> bytes:
    x, y, w, h = FACE
    image = cv2.imread(str(PHOTO), cv2.IMREAD_COLOR)
    assert image is not None
    ok, buf = cv2.imencode(".jpg", cv2.resize(image[y : y + h, x : x + w], (size, size)))
    assert ok
    return buf.tobytes()


def _seed_match(data_dir: Path) -> int:
    """A watchlist with one person (template and enrolled picture) and a face-match alert
    for them with the face seen, as the pipeline raises it; the alert's id. The list starts
    tomorrow, so the running demo matches no face against it."""
    store = Store(default_db_url(data_dir))
    try:
        lists = Watchlists(store)
        now = datetime.now(UTC)
        spec = WatchlistIn(
            name="derby-2p", purpose="banned fans at the derby", legal_basis="sports act art. 31",
            authorised_by="Chief M. Horvat", valid_from=now + timedelta(days=1),
            valid_until=now + timedelta(days=2), cameras=["lobby"],
        )  # fmt: skip
        listed = lists.create(spec, "admin", MATCH_THRESHOLD)
        entry = lists.add_entry(listed.id, "L. M. Miranda", "case 9")
        chip = _face(112)
        embedding = np.full(128, 1 / np.sqrt(128), np.float32)
        digest = hashlib.sha256(chip).hexdigest()
        lists.add_template(entry.id, embedding, "press photo", digest, chip)
        shot = "snapshots/lobby/face-match-2p.jpg"
        (data_dir / shot).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / shot).write_bytes(_face(96))
        found = {
            "watchlist": "derby-2p", "watchlist_id": listed.id, "entry_id": entry.id,
            "name": "L. M. Miranda", "reference": "case 9", "distance": 0.41, "votes": 5,
            "shots": 7, "threshold": MATCH_THRESHOLD,
        }  # fmt: skip
        alert = Alerts(store).create(
            Alert("watchlist:derby-2p", "lobby", EventType.FACE_MATCH, time.time(), "person",
                  snapshot=shot, attributes=found)
        )  # fmt: skip
        return alert.id
    finally:
        store.close()


def _item(page: Any, alert_id: int) -> Any:
    return page.locator(f".feed-item.alert[data-id='{alert_id}']")


def _wait_text(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => document.querySelector(s)?.textContent === t", arg=[selector, text]
    )


def _pictures_loaded(page: Any, alert_id: int) -> None:
    """Both pictures of the match shown: the face seen (96 px) and the enrolled one (112)."""
    _item(page, alert_id).scroll_into_view_if_needed()
    page.wait_for_function(
        """(id) => {
          const size = (c) => document.querySelector(`.feed-item.alert[data-id='${id}'] ${c} img`);
          const seen = size('.face-seen'), enrolled = size('.face-enrolled');
          return seen?.complete && seen.naturalWidth === 96
            && enrolled?.complete && enrolled.naturalWidth === 112;
        }""",
        arg=alert_id,
    )


def _confirm(page: Any, alert_id: int, reason: str) -> None:
    _item(page, alert_id).locator("button[data-action=acknowledge]").click()
    dialog = page.locator("#dismiss-dialog")
    dialog.wait_for(state="visible")
    page.fill("#dismiss-reason", reason)
    dialog.locator("button[type=submit]").click()
    dialog.wait_for(state="hidden")


def _review_by_api(page: Any, base: str, alert_id: int, reason: str) -> Any:
    token = page.request.get(base + "/api/me").json()["csrf_token"]
    return page.request.post(
        f"{base}/api/alerts/{alert_id}/review",
        data={"action": "acknowledge", "reason": reason},
        headers={"X-CSRF-Token": token},
    )


def _first_confirmation(page: Any, demo: Demo, alert_id: int) -> None:
    """Ann looks at the match, confirms it with a reason, and cannot confirm it again."""
    item = _item(page, alert_id)
    item.wait_for()
    assert "face-match" in (item.get_attribute("class") or "")
    _pictures_loaded(page, alert_id)
    assert item.locator(".face-name").inner_text() == "L. M. Miranda"
    assert item.locator(".face-ref").inner_text() == "case 9"
    assert item.locator(".face-list").inner_text() == "derby-2p"
    assert item.locator(".face-measure").inner_text() == (
        f"distance 0.41 (matches below {MATCH_THRESHOLD}) · 5 of 7 shots agree"
    )
    assert item.locator(".feed-confirmations").inner_text() == "Confirmations: 0 of 2"
    confirm = item.locator("button[data-action=acknowledge]")
    assert confirm.inner_text() == "Confirm" and confirm.is_enabled()

    # Confirm asks for a reason, and says this is the first of two.
    confirm.click()
    dialog = page.locator("#dismiss-dialog")
    dialog.wait_for(state="visible")
    assert page.locator("#dismiss-title").inner_text() == "Confirm the match"
    assert "L. M. Miranda (case 9) on derby-2p" in page.locator("#dismiss-what").inner_text()
    assert page.locator("#dismiss-note").inner_text().startswith("Confirmation 1 of 2")
    dialog.locator("button[type=submit]").click()
    _wait_text(page, "#dismiss-error", "Say why you confirm it: what you compared.")
    page.fill("#dismiss-reason", FIRST)
    dialog.locator("button[type=submit]").click()
    dialog.wait_for(state="hidden")

    # Still a candidate, showing the first confirmation; ann may not confirm again.
    line = f".feed-item.alert[data-id='{alert_id}'] .feed-confirmations"
    _wait_text(page, line, f"Confirmations: 1 of 2 (by ann: {FIRST})")
    assert "status-candidate" in (item.get_attribute("class") or "")
    assert confirm.is_disabled()
    assert "another person must confirm it" in (confirm.get_attribute("title") or "")
    note = item.locator(".feed-note")
    assert note.inner_text() == "You confirmed it; a second person must confirm it."
    r = _review_by_api(page, demo.base, alert_id, "I am sure")
    assert r.status == 409 and "a second person must confirm" in r.json()["detail"]

    # A page that did not know (the button enabled again): the server's words are shown.
    item.locator("button[data-action=acknowledge]").evaluate("b => { b.disabled = false; }")
    _confirm(page, alert_id, "I am sure")
    error = item.locator(".feed-error")
    error.wait_for()
    assert error.inner_text() == (
        f"you confirmed alert {alert_id} already; a second person must confirm it"
    )
    assert "status-candidate" in (item.get_attribute("class") or "")


@pytest.mark.slow
def test_two_different_operators_confirm_a_face_match(demo: Demo, browser: Any) -> None:
    for name, password in (ANN, BOB):
        add_user(demo.base, name, password, "operator")
    alert_id = _seed_match(demo.data_dir)
    with open_page(browser, allowed=REFUSED) as ann, open_page(browser) as bob:
        log_in(ann.page, demo.base, *ANN)
        _first_confirmation(ann.page, demo, alert_id)

        # Bob, in his own browser, sees ann's confirmation and confirms it: acknowledged.
        log_in(bob.page, demo.base, *BOB)
        item = _item(bob.page, alert_id)
        item.wait_for()
        line = f".feed-item.alert[data-id='{alert_id}'] .feed-confirmations"
        assert item.locator(".feed-confirmations").inner_text() == (
            f"Confirmations: 1 of 2 (by ann: {FIRST})"
        )
        assert item.locator("button[data-action=acknowledge]").is_enabled()
        assert bob.page.locator("#dismiss-dialog").is_hidden()
        item.locator("button[data-action=acknowledge]").click()
        bob.page.locator("#dismiss-dialog").wait_for(state="visible")
        assert bob.page.locator("#dismiss-note").inner_text().startswith("Confirmation 2 of 2")
        bob.page.fill("#dismiss-reason", SECOND)
        bob.page.locator("#dismiss-dialog button[type=submit]").click()
        acked = bob.page.locator(f".feed-item.alert.status-acknowledged[data-id='{alert_id}']")
        acked.wait_for()
        review = acked.locator(".feed-review").inner_text()
        assert "ACKNOWLEDGED" in review and "by bob" in review and SECOND in review
        both = f"Confirmations: 2 of 2 (by ann: {FIRST}; bob: {SECOND})"
        assert acked.locator(".feed-confirmations").inner_text() == both
        assert acked.locator("button.review").count() == 0
        _pictures_loaded(bob.page, alert_id)  # still there to look at

        # Ann's page follows over the WebSocket: the pushed alert carries both reviews.
        ann.page.locator(f".feed-item.alert.status-acknowledged[data-id='{alert_id}']").wait_for()
        _wait_text(ann.page, line, both)
        ann.check_no_errors()
        bob.check_no_errors()
