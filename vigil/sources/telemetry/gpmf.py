"""GoPro GPMF telemetry inside an MP4 (the 'gpmd' data track, demuxed by PyAV).

What is read, per GoPro's GPMF documentation and what the sample files really carry:
- GPS9 (HERO11 on): lat, lon, alt, 2-D speed, 3-D speed, days since 2000, seconds since
  midnight (UTC), DOP, fix; one value per sample. GPS5 (HERO5-HERO10, MAX): lat, lon, alt,
  2-D speed, 3-D speed with the stream's sticky GPSF (fix), GPSU (UTC of the payload's first
  sample) and GPSP (DOP x 100). Values are divided by SCAL. Altitude is what the camera wrote
  (WGS 84 ellipsoid height on recent cameras).
- The Karma drone (karma.mp4: a second device, "GoPro Karma v1.0") carries no GPS5: it writes
  MAVLink messages as GPMF keys, each sample starting with its own time since boot: GPRI
  (GPS_RAW_INT: time, lat, lon, alt, eph, epv, vel, cog, fix type, satellites), GLPI
  (GLOBAL_POSITION_INT: the flight controller's fused position, vx/vy/vz, heading), ATTD
  (ATTITUDE: roll, pitch, yaw in radians and their rates). Positions come from GPRI, the GPS
  receiver's fixes (what other decoders, gopro2gpx among them, call its GPS track); heading,
  pitch and roll from ATTD (MAVLink's NED body frame: yaw from north clockwise, pitch nose up,
  roll right wing down; Telemetry's conventions). Its CYTS (gimbal "Coyote" status) has three
  angles whose reference the documentation does not give, so they are not read as sensor angles.
- A camera's GRAV (gravity in the camera's frame, HERO8 on / MAX) gives its pitch and roll.

Timing: a payload covers [pts, pts + duration) of the track; samples without their own clock
are spread evenly over it. Samples with a boot clock (Karma) are placed on the video's time
line by that clock, with the one offset that keeps every sample inside its payload's span.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import av.container
import numpy as np

from vigil.domain import Telemetry
from vigil.logtext import escape
from vigil.sources.telemetry.common import (
    NoTelemetry,
    Problem,
    TelemetryError,
    check_file,
    log_problem,
)
from vigil.sources.telemetry.gpmf_klv import Item, streams

_GPS2000 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()
_ATTITUDE_MAX_GAP_S = 0.5  # an attitude sample further than this from a fix is not used
_POSITION_KEYS = ("GPS9", "GPS5", "GPRI")
_CLOCKED_KEYS = ("GPRI", "ATTD")  # samples that start with their own time since boot


@dataclass
class _Series:
    """One key's samples over the file: rows of values and their video times."""

    rows: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)
    extra: list[np.ndarray] = field(default_factory=list)  # per sample: fix, wallclock

    def add(self, rows: np.ndarray, times: np.ndarray, extra: np.ndarray) -> None:
        self.rows.append(rows)
        self.times.append(times)
        self.extra.append(extra)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        order = np.argsort(np.concatenate(self.times), kind="stable")
        return (
            np.concatenate(self.times)[order],
            np.concatenate(self.rows)[order],
            np.concatenate(self.extra)[order],
        )


def _gpsu(text: str) -> float | None:
    """GPSU 'yymmddhhmmss.sss' as UNIX time."""
    try:
        stamp = dt.datetime.strptime(text[:16], "%y%m%d%H%M%S.%f").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return stamp.timestamp()


def _stream_values(items: tuple[Item, ...], key: str) -> np.ndarray | None:
    """The samples of `key` in one STRM, scaled by its SCAL; None if absent or empty."""
    sticky: dict[str, Item] = {}
    for item in items:
        if item.key == key:
            if item.repeat == 0:
                return None
            types = sticky["TYPE"].text() if "TYPE" in sticky else None
            values = item.numbers(types)
            if "SCAL" in sticky:
                scale = sticky["SCAL"].numbers().ravel()
                if scale.size not in (1, values.shape[1]):
                    raise ValueError(f"{key}: SCAL has {scale.size} values")
                values = values / np.where(scale == 0, 1.0, scale)
            return values
        sticky[item.key] = item
    return None


def _sticky_number(items: tuple[Item, ...], key: str) -> float | None:
    for item in items:
        if item.key == key and item.repeat:
            return float(item.numbers().ravel()[0])
    return None


def _sticky_text(items: tuple[Item, ...], key: str) -> str | None:
    for item in items:
        if item.key == key and item.repeat:
            return item.text()
    return None


def _spread(start: float, duration: float, n: int) -> np.ndarray:
    return start + np.arange(n) * (duration / n)


def _payload_series(
    payload: bytes, start: float, duration: float, series: dict[str, _Series]
) -> None:
    for items in streams(payload):
        for key in (*_POSITION_KEYS, "ATTD", "GRAV"):
            values = _stream_values(items, key)
            if values is None:
                continue
            n = len(values)
            times = _spread(start, duration, n)
            extra = np.full((n, 2), np.nan)  # fix, wallclock
            if key == "GPS5":
                gpsf = _sticky_number(items, "GPSF")
                extra[:, 0] = np.nan if gpsf is None else gpsf
                gpsu = _gpsu(_sticky_text(items, "GPSU") or "")
                if gpsu is not None:
                    extra[:, 1] = gpsu + (times - start)
            elif key == "GPS9":
                extra[:, 0] = values[:, 8]
                extra[:, 1] = _GPS2000 + values[:, 5] * 86400.0 + values[:, 6]
            elif key == "GPRI":
                extra[:, 0] = values[:, 8]
            extra = np.column_stack([extra, np.full((n, 3), np.nan)])
            if key in _CLOCKED_KEYS:
                # Boot clock and the payload's span, for _clock_offset.
                extra[:, 2], extra[:, 3], extra[:, 4] = values[:, 0], start, duration
            series.setdefault(key, _Series()).add(values, times, extra)


def _clock_offset(series: dict[str, _Series]) -> float:
    """Boot clock minus video time, for the Karma's clocked samples.

    Each sample lies inside its payload's span: start <= boot - offset < start + duration.
    The offset is the middle of the range every sample allows (or, where clock jitter leaves
    no common range, the middle of the two bounds it contradicts by)."""
    low, high = -math.inf, math.inf
    for key in _CLOCKED_KEYS:
        if key in series:
            _, _, extra = series[key].arrays()
            boot, start, duration = extra[:, 2], extra[:, 3], extra[:, 4]
            low = max(low, float(np.max(boot - start - duration)))
            high = min(high, float(np.min(boot - start)))
    return (low + high) / 2 if math.isfinite(low) else 0.0


def _find_track(container: av.container.InputContainer, path: Path) -> av.stream.Stream:
    """The data track whose payloads are GPMF (they start with a DEVC item)."""
    for stream in container.streams:
        if stream.type != "data":
            continue
        for packet in container.demux(stream):
            if packet.size:
                if bytes(packet)[:4] == b"DEVC":
                    container.seek(0)
                    return stream
                break
        container.seek(0)
    raise NoTelemetry(
        f"'{escape(path)}' carries no GoPro GPMF telemetry (no 'gpmd' track); for a DJI video "
        "give its .SRT with --sidecar, for KLV an MPEG-TS or .bin file"
    )


Payload = tuple[bytes, float, float]  # GPMF bytes, start and duration in video seconds


def _payloads(path: Path) -> list[Payload]:
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise TelemetryError(
            f"'{escape(path)}' is not a video file PyAV can read ({exc}); give an MP4 from a GoPro"
        ) from exc
    out: list[Payload] = []
    with contextlib.closing(container):
        track = _find_track(container, path)
        video = container.streams.video[0] if container.streams.video else None
        v0 = 0.0
        if video is not None and video.start_time is not None and video.time_base:
            v0 = float(video.start_time * video.time_base)
        tb = float(track.time_base or 1)
        for packet in container.demux(track):
            if packet.size and packet.pts is not None:
                out.append((bytes(packet), packet.pts * tb - v0, (packet.duration or 0) * tb))
    return out


def decode_payloads(
    payloads: list[Payload], where: str, on_problem: Problem = log_problem
) -> list[Telemetry]:
    """GPMF payloads (bytes, start, duration) as Telemetry in time order; [] without GPS."""
    series: dict[str, _Series] = {}
    for n, (payload, start, duration) in enumerate(payloads):
        try:
            _payload_series(payload, start, duration, series)
        except ValueError as exc:
            on_problem(
                f"{where}: GPMF payload {n + 1} at {start:.2f} s is damaged ({exc}); skipped it"
            )
    key = next((k for k in _POSITION_KEYS if k in series), None)
    if key is None:
        return []
    times, rows, extra = series[key].arrays()
    offset = _clock_offset(series)
    if key in _CLOCKED_KEYS:
        times = extra[:, 2] - offset
        extra = extra.copy()
        extra[:, 1] = np.nan
    return list(_samples(key, times, rows, extra[:, :2], _attitude(series, offset)))


def _attitude(series: dict[str, _Series], offset: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(times, rows of heading, pitch, roll in degrees; NaN where unknown)."""
    if "ATTD" in series:
        _, rows, extra = series["ATTD"].arrays()
        times = extra[:, 2] - offset
        deg = np.degrees(rows[:, 1:4])  # roll, pitch, yaw
        return times, np.column_stack([np.mod(deg[:, 2], 360.0), deg[:, 1], deg[:, 0]])
    if "GRAV" in series:
        times, rows, _ = series["GRAV"].arrays()
        return times, np.column_stack([np.full(len(rows), np.nan), *_gravity_angles(rows)])
    return None


def _gravity_angles(grav: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pitch and roll (degrees) from GRAV (x right, y down, z forward in the image: an upright
    camera reads (0, 1, 0)); pitch positive when the lens points above the horizon."""
    x, y, z = grav[:, 0], grav[:, 1], grav[:, 2]
    pitch = np.degrees(np.arctan2(z, np.hypot(x, y)))
    roll = np.degrees(np.arctan2(-x, y))
    return pitch, roll


def read_gpmf(path: str | Path, *, on_problem: Problem = log_problem) -> Iterator[Telemetry]:
    """The GPS fixes of a GoPro MP4 (with attitude where the file has it), in time order."""
    path = Path(path)
    check_file(path, "video")
    samples = decode_payloads(_payloads(path), f"'{escape(path)}'", on_problem)
    if not samples:
        raise TelemetryError(
            f"'{escape(path)}' has GPMF telemetry but no readable GPS (GPS9, GPS5 or GPRI); "
            "the camera recorded without GPS: turn GPS on in the camera's settings"
        )
    return iter(samples)


def _samples(
    key: str,
    times: np.ndarray,
    rows: np.ndarray,
    extra: np.ndarray,
    attitude: tuple[np.ndarray, np.ndarray] | None,
) -> Iterator[Telemetry]:
    cols = (1, 2, 3, 6) if key == "GPRI" else (0, 1, 2, 3)  # lat, lon, alt, speed
    for t, row, (fix_raw, wall) in zip(times, rows, extra, strict=True):
        fix = None if math.isnan(fix_raw) else (3 if fix_raw >= 3 else int(fix_raw))
        if fix in (0, 1):
            fix = 0
        lat, lon, alt, speed = (float(row[c]) for c in cols)
        has_position = fix != 0 and not (lat == 0.0 and lon == 0.0)
        heading = pitch = roll = None
        if attitude is not None:
            i = int(np.argmin(np.abs(attitude[0] - t)))
            if abs(attitude[0][i] - t) <= _ATTITUDE_MAX_GAP_S:
                heading, pitch, roll = (None if math.isnan(v) else float(v) for v in attitude[1][i])
        yield Telemetry(
            t=round(float(t), 6),
            lat=lat if has_position else None,
            lon=lon if has_position else None,
            alt=alt if has_position else None,
            heading=heading,
            pitch=pitch,
            roll=roll,
            speed_mps=speed if has_position else None,
            fix=fix,
            wallclock=None if math.isnan(wall) else float(wall),
            source="gpmf",
        )
