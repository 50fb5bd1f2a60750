"""Playback in a real browser (Debian's Chromium through Playwright) against the running demo,
with recorded segments of the lobby camera (fragmented MP4 remuxed from the bundled clip with
PyAV, indexed as a recorder indexes them) and a gap between two of them: a link to an event's
moment plays from a few seconds before it in the right segment (`video.currentTime` at the
seek against the event's offset in its segment, within two frames), clicking an event on the
timeline does the same, the timeline shows the gap with its reason, the end of one segment
goes on to the next across the gap (named), footage is locked as evidence, and the search
results link each event to its moment in playback. Chromium plays the demo's H.264."""

from __future__ import annotations

import io
import os
import shutil
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import av
import cv2
import httpx
import numpy as np
import pytest

from tests.conftest import PERSON_CLIP
from tests.recording.segments import Made, record
from tests.web.conftest import ADMIN_PASSWORD, Demo, log_in, open_page
from vigil.domain import Event, EventType, Segment, SegmentState
from vigil.recording.index import Recordings
from vigil.store.db import Store, default_db_url

pytestmark = pytest.mark.slow

PURPOSE = "case 2026/0314 playback"
LEAD_S = 5.0  # vigil.api.pages.PLAY_LEAD_S
GAP_REASON = "camera stopped sending"
UNIQUE = 8.0  # a frame's mean squared grey difference from any frame 0.3 s or more away
# Every seek the page makes, with the segment it was in (media events do not bubble: capture).
SEEKS = """window.__seeks = [];
document.addEventListener('seeked', (e) => {
  window.__seeks.push({t: e.target.currentTime, segment: e.target.dataset.segment});
  if (window.__holdAtSeek) e.target.pause();  // keep the picture of the moment sought
}, true);"""


@dataclass
class Reel:
    a: Made
    b: Made
    in_a: float  # UNIX times of the events stored
    in_b: float
    ids: dict[str, int]


def _event(store: Store, t: float, label: str) -> int:
    (row,) = store.save_results(
        "lobby", t, [], [Event(EventType.OBJECT, "lobby", 0.0, 99, label)], [None]
    )
    return row.id


@pytest.fixture(scope="module")
def reel(demo: Demo) -> Iterator[Reel]:
    store = Store(default_db_url(demo.data_dir))
    try:
        index = Recordings(store)
        base = round(time.time()) - 900.0
        a = record(demo.data_dir, index, "lobby", PERSON_CLIP, base, 10.0)
        assert a.duration < 19, a
        gap = index.open_gap("lobby", base + a.duration, GAP_REASON)
        index.close_gap(gap, base + 30)
        b = record(demo.data_dir, index, "lobby", PERSON_CLIP, base + 30, 10.0, skip_s=20)
        times = {"in_a": base + a.duration - 3.6, "in_b": base + 30 + 7.3}
        ids = {k: _event(store, t, k.replace("_", " ")) for k, t in times.items()}
        yield Reel(a, b, times["in_a"], times["in_b"], ids)
    finally:
        store.close()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _seek(page: Any, count: int) -> dict[str, Any]:
    """The page's `count`-th seek (from 1)."""
    page.wait_for_function(f"() => window.__seeks.length >= {count}", timeout=20_000)
    seek: dict[str, Any] = page.evaluate(f"window.__seeks[{count - 1}]")
    return seek


def _check_moment(seek: dict[str, Any], made: Made, t: float) -> None:
    """The seek lands `t` - LEAD_S into `made`, within two frames."""
    assert seek["segment"] == str(made.segment.id), seek
    expected = t - LEAD_S - made.segment.start
    assert abs(seek["t"] - expected) <= 2 / made.fps, (seek, expected)


def test_chromium_plays_the_demo_clips_h264(demo: Demo, browser: Any) -> None:
    with open_page(browser) as watched:
        watched.page.goto(demo.base + "/login")
        kinds = watched.page.evaluate(
            "() => ['avc1.42E01E', 'avc1.4D401E', 'avc1.64001F'].map(c =>"
            " document.createElement('video').canPlayType(`video/mp4; codecs=\"${c}\"`))"
        )
        assert kinds == ["probably"] * 3, kinds  # Baseline, Main (the demo clips), High


def _screenshot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / name))
    if os.environ.get("VIGIL_SCREENSHOT_DIR"):
        target = Path(os.environ["VIGIL_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / name, target / name)


def test_an_event_plays_from_just_before_it_and_the_timeline_shows_the_gap(
    demo: Demo, browser: Any, reel: Reel, tmp_path: Path
) -> None:
    with open_page(browser) as watched:
        page = watched.page
        page.add_init_script(SEEKS)
        log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/playback")
        q = {"camera": "lobby", "t": _iso(reel.in_b), "purpose": PURPOSE, "span": 900}
        page.goto(f"{demo.base}/playback?{urlencode(q)}")
        page.wait_for_selector("body[data-ready='1']")
        _check_moment(_seek(page, 1), reel.b, reel.in_b)  # the link: 5 s before the event
        page.wait_for_function(  # and it plays on
            f"() => document.getElementById('video').currentTime > {_seek(page, 1)['t'] + 0.5}",
            timeout=20_000,
        )
        chosen = page.locator(f".mark[data-kind='event'][data-id='{reel.ids['in_b']}']")
        assert chosen.get_attribute("aria-current") == "true"
        # The gap: marked between the two segments, with its reason on hover.
        gap = page.locator(".tl-gap")
        assert gap.count() == 1 and gap.get_attribute("data-reason") == GAP_REASON
        assert GAP_REASON in (gap.get_attribute("title") or "")
        box = {n: page.locator(s).bounding_box() for n, s in (
            ("a", f".tl-seg[data-id='{reel.a.segment.id}']"),
            ("b", f".tl-seg[data-id='{reel.b.segment.id}']"), ("gap", ".tl-gap"))}  # fmt: skip
        assert all(box.values()), box
        a, b, g = box["a"], box["b"], box["gap"]
        assert abs(g["x"] - (a["x"] + a["width"])) < 2 and abs(g["x"] + g["width"] - b["x"]) < 2
        # A click on an event's mark on the timeline plays from 5 s before it.
        page.locator(f".tl-event[data-id='{reel.ids['in_a']}']").click()
        _check_moment(_seek(page, 2), reel.a, reel.in_a)
        watched.check_no_errors()
        _screenshot(page, tmp_path, "playback-1366.png")
        page.set_viewport_size({"width": 390, "height": 844})
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the playback page lays out {width} px wide on a phone"
        _screenshot(page, tmp_path, "playback-390.png")


def test_playback_goes_on_across_the_gap_and_footage_is_locked(
    demo: Demo, browser: Any, reel: Reel
) -> None:
    with open_page(browser) as watched:
        page = watched.page
        page.add_init_script(SEEKS)
        log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/playback")
        start = _iso(reel.a.segment.start + 60)
        q = {"camera": "lobby", "t": start, "purpose": PURPOSE, "span": 900}
        page.goto(f"{demo.base}/playback?{urlencode(q)}")
        page.wait_for_selector("body[data-ready='1']")
        seeks = page.evaluate("window.__seeks.length")
        mark = page.locator(f".mark[data-kind='event'][data-id='{reel.ids['in_a']}']")
        mark.locator("button").click()  # from the list: 5 s before it, near the end of a
        _check_moment(_seek(page, seeks + 1), reel.a, reel.in_a)
        page.wait_for_function(  # a ends; b follows from its start, the gap named
            f"() => document.getElementById('video').dataset.segment === '{reel.b.segment.id}'"
            " && document.getElementById('video').currentTime > 0.3",
            timeout=30_000,
        )
        assert "Gap of" in page.inner_text("#player-note")
        assert GAP_REASON in page.inner_text("#player-note")
        page.click("#lock-open")
        page.fill("#lock-reason", "case 2026/0314: keep it")
        page.click("#lock-submit")
        page.wait_for_selector(".tl-lock")
        assert "keep it" in (page.locator(".tl-lock").first.get_attribute("title") or "")
        page.click("#export-open")  # a second of b (not touching the gap), faces blurred
        local = "%Y-%m-%dT%H:%M:%S"  # the page's zone is UTC (open_page)
        for field, t in (
            ("#export-from", reel.b.segment.start + 1),
            ("#export-to", reel.b.segment.start + 2),  # blurring costs ~0.5 CPU s a frame
        ):
            page.fill(field, datetime.fromtimestamp(t, UTC).strftime(local))
        page.click("#export-submit")
        link = page.locator("#export-result a")
        try:
            link.wait_for(timeout=120_000)
        except Exception:
            errors = page.inner_text("#export-error")
            raise AssertionError(f"no export: {errors}\n{demo.log_tail()}") from None
        href = link.get_attribute("href") or ""
        assert "/api/exports/" in href and "purpose=" in href
        watched.check_no_errors()
    with httpx.Client(base_url=demo.base, timeout=10) as http:
        assert (
            http.post(
                "/api/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            ).status_code
            == 200
        )
        rows = http.get("/api/audit", params={"action": "recordings.play", "limit": 500})
        plays = rows.json()["items"]
        assert plays and {p["purpose"] for p in plays} == {PURPOSE}
        segments = {p["object_id"] for p in plays}
        print(f"{len(plays)} recordings.play rows for {len(segments)} segments played")
        assert {str(reel.a.segment.id), str(reel.b.segment.id)} <= segments
        archive = http.get(href)
        assert archive.status_code == 200, archive.text
        with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
            assert any(n.endswith("manifest.json") for n in z.namelist()), z.namelist()


# The picture the video shows now, paused, as a small grey image (to match against the file).
_SHOWN = """async () => {
  const v = document.getElementById('video');
  v.pause();
  if (v.seeking) await new Promise((ok) => v.addEventListener('seeked', ok, { once: true }));
  const c = document.createElement('canvas');
  c.width = 64; c.height = 36;
  const ctx = c.getContext('2d');
  ctx.drawImage(v, 0, 0, 64, 36);
  const px = ctx.getImageData(0, 0, 64, 36).data;
  const grey = [];
  for (let i = 0; i < px.length; i += 4) {
    grey.push(0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2]);
  }
  return { t: v.currentTime, segment: v.dataset.segment, grey };
}"""


def _frames_of(path: Path) -> list[tuple[float, np.ndarray]]:
    """Every frame of a segment file: (its pts in seconds, a 64x36 grey picture)."""
    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            if frame.pts is None or frame.time_base is None:
                continue
            grey = cv2.resize(
                frame.to_ndarray(format="gray"), (64, 36), interpolation=cv2.INTER_AREA
            )
            out.append((float(frame.pts * frame.time_base), grey.astype(np.float32)))
    return sorted(out, key=lambda f: f[0])


def _shown_frame(page: Any, frames: list[tuple[float, np.ndarray]]) -> tuple[float, int, float]:
    """(currentTime, the index of the file's frame most like the picture shown, how much
    better it matches than any frame 3 or more away: 1 = no better)."""
    shown = page.evaluate(_SHOWN)
    picture = np.array(shown["grey"], np.float32).reshape(36, 64)
    errors = [float(np.mean((picture - grey) ** 2)) for _, grey in frames]
    best = int(np.argmin(errors))
    far = min(e for k, e in enumerate(errors) if abs(k - best) >= 3)
    return float(shown["t"]), best, errors[best] / far


def _unique(frames: list[tuple[float, np.ndarray]]) -> tuple[int, float]:
    """The frame (half a second away from the ends) least like any frame 3 or more from
    it, and how unlike (mean squared difference): a picture that tells its moment."""
    stack = np.stack([grey for _, grey in frames])
    best, score = 0, -1.0
    for k, (pts, grey) in enumerate(frames):
        if pts < 0.5 or pts > frames[-1][0] - 0.5:
            continue
        diff = np.mean((stack - grey) ** 2, axis=(1, 2))
        far = [float(d) for j, d in enumerate(diff) if abs(j - k) >= 3]
        if far and min(far) > score:
            best, score = k, min(far)
    return best, score


@dataclass
class Moment:
    segment: Segment
    frames: list[tuple[float, np.ndarray]]
    index: int  # the frame to see
    uniqueness: float


@pytest.fixture(scope="module")
def recorded(demo: Demo) -> Moment:
    """A moment of the demo's own footage: its lobby camera records continuously (vigil/
    assets/demo-server.yml: 10 s segments of the looping clip's own Main-profile H.264, whose
    first picture comes 0.1 s after its first packet). Waits for a closed segment with a
    frame that tells its moment (someone moving)."""
    store = Store(default_db_url(demo.data_dir))
    try:
        index = Recordings(store)
        deadline = time.monotonic() + 150
        seen: dict[int, Moment] = {}
        while True:
            now = time.time()
            for seg in index.segments("lobby", now - 600, now):
                if seg.state != SegmentState.CLOSED or seg.start < now - 600 or seg.id in seen:
                    continue  # (the reel's fixture segments are older)
                frames = _frames_of(demo.data_dir / seg.path)
                seen[seg.id] = Moment(seg, frames, *_unique(frames))
            best = max(seen.values(), key=lambda m: m.uniqueness, default=None)
            if best is not None and best.uniqueness >= UNIQUE:
                return best
            scores = {i: round(m.uniqueness, 1) for i, m in seen.items()}
            assert time.monotonic() < deadline, f"no telling moment in 150 s: {scores}"
            time.sleep(1)
    finally:
        store.close()


# From the end of one segment to the next one's first picture shown, in ms of the page.
_SWITCH = """(segment) => new Promise((done) => {
  const v = document.getElementById('video');
  let ended = null;
  v.addEventListener('ended', () => { ended = performance.now(); }, { once: true });
  const playing = (e) => {
    const next = e.target;
    if (ended === null || next.dataset.segment === segment) return;
    document.removeEventListener('playing', playing, true);
    next.requestVideoFrameCallback(() => done(
      { ms: performance.now() - ended, next: next.dataset.segment, swapped: next !== v }));
  };
  document.addEventListener('playing', playing, true);
  v.currentTime = Math.max(v.duration - 1, 0);
  v.play();
})"""


def _measure_the_switch(page: Any, seg: Segment) -> None:
    """Play the last second of `seg`: the recorder's next segment follows, with no gap
    named (they are contiguous); how long the picture stands still in between."""
    page.evaluate("window.__holdAtSeek = false")
    switch = page.evaluate(_SWITCH, str(seg.id))
    assert switch["next"] != str(seg.id) and switch["swapped"], switch  # it was loaded ahead
    assert "Gap" not in page.inner_text("#player-note")
    print(f"from segment {seg.id} to {switch['next']}: {switch['ms']:.0f} ms between them")


def test_the_recorders_footage_plays_the_right_picture(
    demo: Demo, browser: Any, recorded: Moment
) -> None:
    """The demo's own recorded footage: a link to an event plays its segment from 5 s before
    it, and the picture the browser shows there is the file's frame of that moment (matched
    by its pixels against every frame PyAV decodes from the file), within two frames."""
    seg, frames, k = recorded.segment, recorded.frames, recorded.index
    period = (frames[-1][0] - frames[0][0]) / (len(frames) - 1)
    target = seg.start + frames[k][0]  # the moment to see: 5 s before the event
    store = Store(default_db_url(demo.data_dir))
    try:
        event = _event(store, target + LEAD_S, "recorded")
    finally:
        store.close()
    with open_page(browser) as watched:
        page = watched.page
        page.add_init_script(SEEKS + "\nwindow.__holdAtSeek = true;")
        log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/playback")
        q = {"camera": "lobby", "t": _iso(target + LEAD_S), "purpose": PURPOSE, "span": 900}
        page.goto(f"{demo.base}/playback?{urlencode(q)}")
        page.wait_for_selector("body[data-ready='1']")
        seek = _seek(page, 1)
        assert seek["segment"] == str(seg.id), (seek, seg)
        assert abs(seek["t"] - frames[k][0]) <= 2 * period, (seek, frames[k][0])
        marked = page.locator(f".mark[data-kind='event'][data-id='{event}']")
        assert marked.get_attribute("aria-current") == "true"
        current, shown, margin = _shown_frame(page, frames)
        print(
            f"recorded segment {seg.id}: sought {frames[k][0]:.3f} s (frame {k}, uniqueness "
            f"{recorded.uniqueness:.1f}); the browser shows frame {shown} (pts "
            f"{frames[shown][0]:.3f} s) at currentTime {current:.3f} s; its match error is "
            f"{margin:.2f} of the best frame 3 or more away"
        )
        assert margin < 0.5, "the picture shown is not clearly one frame of the file"
        assert abs(shown - k) <= 2, (shown, k)
        _measure_the_switch(page, seg)
        watched.check_no_errors()


def test_search_results_link_to_their_moment(demo: Demo, browser: Any, reel: Reel) -> None:
    with open_page(browser) as watched:
        page = watched.page
        log_in(page, demo.base, "admin", ADMIN_PASSWORD, "/search")
        q = {"purpose": PURPOSE, "camera": "lobby", "label": "in b"}
        page.goto(f"{demo.base}/search?{urlencode(q)}")
        page.wait_for_selector("body[data-ready='1']")
        link = page.locator(f"tr[data-id='{reel.ids['in_b']}'] a.play")
        href = link.get_attribute("href") or ""
        assert href.startswith("/playback?") and "camera=lobby" in href
        page.add_init_script(SEEKS)
        link.click()
        page.wait_for_selector("body[data-ready='1']")
        _check_moment(_seek(page, 1), reel.b, reel.in_b)
        watched.check_no_errors()
