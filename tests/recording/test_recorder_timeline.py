"""The recorder's clock for odd camera timestamps, on real PyAV packets: it only increases,
a small step back is nudged, a jump or a restart (a loop) is joined on one frame later, and
a live camera's UNIX times follow the wall clock."""

from __future__ import annotations

from fractions import Fraction

import av
import pytest

from vigil.recording.preroll import PreRoll
from vigil.recording.timeline import Placed, Timeline

TB = Fraction(1, 90000)
FRAME = 3600  # 25 fps in 90 kHz ticks


def packet(dts: int | None, pts: int | None = None, key: bool = False) -> av.Packet:
    p = av.Packet(b"\x00" * 8)
    p.dts, p.pts = dts, (pts if pts is not None else dts)
    p.is_keyframe = key
    return p


def placed(raw: list[int | None]) -> list[Placed]:
    clock = iter(float(i) for i in range(10_000))
    timeline = Timeline(TB, 25.0, live=False, clock=lambda: next(clock) + 1000.0)
    return [timeline.place(packet(d)) for d in raw]


def test_dts_only_increase_whatever_the_camera_sends() -> None:
    raw = [0, FRAME, FRAME, 2 * FRAME - 10, None, 5 * FRAME, 4 * FRAME]
    out = [p.dts for p in placed(raw)]
    assert all(b > a for a, b in zip(out, out[1:], strict=False)), out
    assert out[:3] == [0, FRAME, FRAME + 1]  # a repeated DTS is nudged by a tick
    assert out[5] == 5 * FRAME  # a gap of a few frames is kept as it is
    assert out[6] == 6 * FRAME  # a frame back: a new clock, joined on one frame later


def test_a_jump_is_joined_on_one_frame_after_the_last() -> None:
    out = placed([0, FRAME, 2 * FRAME, 90000 * 3600, 90000 * 3600 + FRAME])
    assert [p.dts for p in out] == [0, FRAME, 2 * FRAME, 3 * FRAME, 4 * FRAME]
    assert [round(p.media, 3) for p in out] == [0.0, 0.04, 0.08, 0.12, 0.16]
    back = placed([10 * FRAME, 11 * FRAME, 0, FRAME])  # a camera restarting its clock
    assert [p.dts for p in back] == [10 * FRAME, 11 * FRAME, 12 * FRAME, 13 * FRAME]


def test_a_loop_rejoins_and_pts_never_fall_below_dts() -> None:
    clock = iter(float(i) for i in range(100))
    timeline = Timeline(TB, 25.0, live=False, clock=lambda: next(clock))
    first = [timeline.place(packet(d, d + 2 * FRAME)) for d in (0, FRAME, 2 * FRAME)]
    timeline.rejoin()  # the file starts over
    again = timeline.place(packet(0, 0, key=True))
    assert again.dts == 3 * FRAME and again.pts >= again.dts
    assert all(p.pts >= p.dts for p in first)
    # A recording's UNIX times follow its media time from the first packet on.
    assert again.t - first[0].t == timeline.seconds(3 * FRAME)


def test_a_live_cameras_times_follow_the_wall_clock() -> None:
    now = [5000.0]
    timeline = Timeline(TB, 25.0, live=True, clock=lambda: now[0])
    a = timeline.place(packet(0, key=True))
    now[0] += 0.04
    b = timeline.place(packet(FRAME))
    assert (a.t, b.t) == (5000.0, 5000.04)
    now[0] += 60.0  # the camera's clock says 0.04 s passed; the wall clock says a minute
    c = timeline.place(packet(2 * FRAME))
    assert abs(c.t - now[0]) < 1e-6 and c.dts == 2 * FRAME


def test_the_pre_roll_keeps_whole_groups_from_a_keyframe() -> None:
    roll = PreRoll(pre_roll_s=1.0)  # and the latency allowance: 4 s kept in all
    clock = iter(float(i) for i in range(100))
    timeline = Timeline(TB, 1.0, live=False, clock=lambda: next(clock))
    second = 90000
    for i in range(20):  # a packet a second, a keyframe every 3
        roll.add(timeline.place(packet(i * second, key=i % 3 == 0)))
    kept = roll.take(since=16.0)  # the clock started at 0: UNIX time is media time here
    assert kept[0].key and kept[0].media <= 16.0
    assert [round(p.media) for p in kept] == [15, 16, 17, 18, 19]
    assert len(roll) == 0


def test_a_live_connections_first_burst_is_timed_back_from_the_first_live_packet() -> None:
    """What the demuxer read while probing comes out at once: held, then timed back from the
    first packet that arrived live, one frame apart as the media says."""
    wall, mono = [7000.0], [0.0]
    timeline = Timeline(TB, 25.0, live=True, clock=lambda: wall[0], monotonic=lambda: mono[0])
    out: list[Placed] = []
    for i in range(10):  # the burst: all at the same moment
        out += timeline.arrive(packet(i * FRAME, key=i == 0))
    assert out == []
    wall[0] += 0.04
    mono[0] += 0.04  # a frame later: live
    out += timeline.arrive(packet(10 * FRAME))
    assert len(out) == 11 and out[-1].t == pytest.approx(7000.04)
    assert [round(p.t - out[0].t, 3) for p in out] == [round(i * 0.04, 3) for i in range(11)]
    wall[0] += 0.04
    mono[0] += 0.04
    [nxt] = timeline.arrive(packet(11 * FRAME))
    assert nxt.t == pytest.approx(7000.08)
