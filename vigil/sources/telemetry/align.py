"""Telemetry at a frame's time: the nearest sample, or one interpolated between two.

A sample older (or newer) than `max_age` seconds from the frame is not used: a video whose
telemetry stopped has no position rather than a stale one. Between two samples at most
`max_gap` apart, numbers are interpolated linearly; angles that wrap (heading, azimuth,
sensor roll) the short way round. Everything else (fix, source) comes from the nearer one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import fields, replace

from vigil.domain import Telemetry

_WRAPPING = frozenset({"heading", "sensor_azimuth", "sensor_roll"})
_SCALARS = tuple(
    f.name
    for f in fields(Telemetry)
    if f.name not in ("t", "fix", "source", "frame_center", "corners")
)


def _lerp(a: float | None, b: float | None, w: float, wraps: bool) -> float | None:
    if a is None or b is None:
        return a if w < 0.5 else b
    if wraps:
        delta = (b - a + 180.0) % 360.0 - 180.0
        return (a + w * delta) % 360.0
    return a + w * (b - a)


def _lerp_point(
    a: tuple[float, float] | None, b: tuple[float, float] | None, w: float
) -> tuple[float, float] | None:
    if a is None or b is None:
        return a if w < 0.5 else b
    return (a[0] + w * (b[0] - a[0]), a[1] + w * (b[1] - a[1]))


def interpolate(a: Telemetry, b: Telemetry, t: float) -> Telemetry:
    """The sample at `t` between a (earlier) and b (later)."""
    span = b.t - a.t
    w = 0.0 if span <= 0 else min(1.0, max(0.0, (t - a.t) / span))
    values = {
        name: _lerp(getattr(a, name), getattr(b, name), w, name in _WRAPPING) for name in _SCALARS
    }
    corners = None
    if a.corners and b.corners and len(a.corners) == len(b.corners):
        pairs = zip(a.corners, b.corners, strict=True)
        corners = tuple(p for p in (_lerp_point(x, y, w) for x, y in pairs) if p is not None)
    else:
        corners = a.corners if w < 0.5 else b.corners
    nearer = a if w < 0.5 else b
    return replace(
        nearer,
        t=t,
        frame_center=_lerp_point(a.frame_center, b.frame_center, w),
        corners=corners,
        **values,  # type: ignore[arg-type]
    )


class TelemetryTrack:
    """Samples in time order, looked up by a frame's time (seconds, the samples' clock)."""

    def __init__(
        self,
        samples: Iterable[Telemetry],
        *,
        max_age: float = 1.0,
        max_gap: float = 2.0,
        interpolated: bool = True,
    ) -> None:
        self.samples = sorted(samples, key=lambda s: s.t)
        self._times = [s.t for s in self.samples]
        self.max_age = max_age
        self.max_gap = max_gap
        self.interpolated = interpolated

    def __len__(self) -> int:
        return len(self.samples)

    def at(self, t: float) -> Telemetry | None:
        """The telemetry at `t` (its `t` set to it), or None without a recent enough sample."""
        i = bisect.bisect_left(self._times, t)
        before = self.samples[i - 1] if i > 0 else None
        after = self.samples[i] if i < len(self.samples) else None
        if after is not None and after.t == t:
            return after
        if (
            self.interpolated
            and before is not None
            and after is not None
            and after.t - before.t <= self.max_gap
        ):
            return interpolate(before, after, t)
        candidates = [s for s in (before, after) if s is not None and abs(s.t - t) <= self.max_age]
        if not candidates:
            return None
        return replace(min(candidates, key=lambda s: abs(s.t - t)), t=t)
