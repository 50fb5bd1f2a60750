"""DJI subtitle (.SRT) telemetry sidecars: one block per video interval, several dialects.

No maintained Python parser reads DJI's dialects (the reference is JuanIrache's
DJI_SRT_Parser, JavaScript); this one reads what those samples show:
- Mavic Pro / Phantom 4 style: `HOME(lon,lat) 2017.08.05 14:11:51` then
  `GPS(lon,lat,satellites) BAROMETER:1.9` (height above the take-off point).
- Matrice 300: `GPS(lat,lon,0.0M) BAROMETER:0.3M` - latitude first when the third value
  ends in 'M' (as DJI_SRT_Parser reads it).
- Phantom 4 RTK / Mavic Mini: one line `F/5.6, SS 400, ..., GPS (lon, lat, satellites),
  HOME (lon, lat, alt m), D 698.70m, H 85.80m, H.S 0.00m/s, V.S 0.00m/s, F.PRY (p, r, y),
  G.PRY (p, r, y)`: aircraft (F) and gimbal (G) pitch, roll, yaw in degrees.
- Mavic Air 2 / Air 2S / Mini: `[latitude: 41.42] [longitude: 2.23] [altitude: 117.0]`
  (or `longtitude`, `rel_alt: .. abs_alt: ..`) with a `2022-08-07 13:40:40,774,808` time.

`t` is the start of the block's interval. The date some dialects write is the drone's local
time with no zone: it is left out of `wallclock` (UTC) rather than given hours off. DJI's
gimbal angles are relative to the horizon and north; ST 0601's sensor angles (Telemetry's)
are relative to the aircraft, so they are converted with the aircraft's attitude. Choice for
damage: a block that cannot be read (cut off, no position) is reported through `on_problem`
naming its number and line, and the good blocks are kept; a file with no readable block is a
TelemetryError.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vigil.domain import Telemetry
from vigil.logtext import escape
from vigil.sources.telemetry.common import Problem, TelemetryError, check_file, log_problem

_NUM = r"[-+]?\d+(?:\.\d+)?"
_TIMES = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{1,3})\s*-->\s*(\d+):(\d\d):(\d\d)[,.](\d{1,3})")
_TRIPLE = rf"\(\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*(\w*)[^)]*\)"
_GPS = re.compile(r"\bGPS\s*" + _TRIPLE)
_HOME = re.compile(rf"\bHOME\s*\(\s*({_NUM})\s*,\s*({_NUM})\s*(?:,\s*({_NUM})\s*m)?\s*\)")
_F_PRY = re.compile(rf"\bF\.PRY\s*\(\s*({_NUM})\W*,\s*({_NUM})\W*,\s*({_NUM})\W*\)")
_G_PRY = re.compile(rf"\bG\.PRY\s*\(\s*({_NUM})\W*,\s*({_NUM})\W*,\s*({_NUM})\W*\)")
_KEYED = re.compile(
    r"\b(latitude|longitude|longtitude|altitude|rel_alt|abs_alt)\s*:\s*(" + _NUM + ")"
)
_HEIGHT = re.compile(r"(?:\bBAROMETER\s*:\s*|(?<![.\w])H\s+)(" + _NUM + ")")
_SPEED = re.compile(r"\bH\.S\s+(" + _NUM + ")")


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Body to NED: yaw about down, then pitch about the new right axis, then roll (degrees)."""
    y, p, r = np.radians([yaw, pitch, roll])
    rz = np.array([[np.cos(y), -np.sin(y), 0], [np.sin(y), np.cos(y), 0], [0, 0, 1]])
    ry = np.array([[np.cos(p), 0, np.sin(p)], [0, 1, 0], [-np.sin(p), 0, np.cos(p)]])
    rx = np.array([[1, 0, 0], [0, np.cos(r), -np.sin(r)], [0, np.sin(r), np.cos(r)]])
    return rz @ ry @ rx


def relative_sensor_angles(
    aircraft_pry: tuple[float, float, float], gimbal_pry: tuple[float, float, float]
) -> tuple[float, float, float]:
    """A gimbal's earth-referenced pitch/roll/yaw as azimuth, elevation, roll relative to the
    aircraft (ST 0601's order: azimuth, then elevation, then roll)."""
    ap, ar, ay = aircraft_pry
    gp, gr, gy = gimbal_pry
    rel = _rotation(ay, ap, ar).T @ _rotation(gy, gp, gr)
    azimuth = math.degrees(math.atan2(rel[1, 0], rel[0, 0])) % 360.0
    elevation = math.degrees(-math.asin(max(-1.0, min(1.0, rel[2, 0]))))
    roll = math.degrees(math.atan2(rel[2, 1], rel[2, 2])) % 360.0
    return azimuth, elevation, roll


def _position(text: str) -> tuple[float, float, float | None, float | None] | None:
    """(lat, lon, alt, rel_alt) from a block's text, or None without a position."""
    keyed = {k: float(v) for k, v in _KEYED.findall(text)}
    lon = keyed.get("longitude", keyed.get("longtitude"))
    if "latitude" in keyed and lon is not None:
        alt = keyed.get("abs_alt", keyed.get("altitude"))
        return keyed["latitude"], lon, alt, keyed.get("rel_alt")
    gps = _GPS.search(text)
    if gps is None:
        return None
    a, b = float(gps.group(1)), float(gps.group(2))
    height = _HEIGHT.search(text)
    rel_alt = float(height.group(1)) if height else None
    if gps.group(4).upper() == "M":  # Matrice 300: GPS(lat, lon, ...M)
        return a, b, None, rel_alt
    home = _HOME.search(text)
    alt = None
    if home and home.group(3) is not None and rel_alt is not None:
        alt = float(home.group(3)) + rel_alt  # the take-off point's altitude plus height
    return b, a, alt, rel_alt


def _block(number: str, start: float, text: str) -> Telemetry | None:
    position = _position(text)
    if position is None:
        return None
    lat, lon, alt, rel_alt = position
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"position ({lat}, {lon}) is not a latitude and longitude")
    fields: dict[str, float | None] = {}
    f_pry = _F_PRY.search(text)
    g_pry = _G_PRY.search(text)
    if f_pry:
        pitch, roll, yaw = (float(v) for v in f_pry.groups())
        fields |= {"pitch": pitch, "roll": roll, "heading": yaw % 360.0}
        if g_pry:
            gimbal = tuple(float(v) for v in g_pry.groups())
            az, el, sroll = relative_sensor_angles((pitch, roll, yaw), gimbal)  # type: ignore[arg-type]
            fields |= {"sensor_azimuth": az, "sensor_elevation": el, "sensor_roll": sroll}
    speed = _SPEED.search(text)
    no_fix = lat == 0.0 and lon == 0.0  # DJI writes zeros before the first fix
    return Telemetry(
        t=start,
        lat=None if no_fix else lat,
        lon=None if no_fix else lon,
        alt=alt,
        rel_alt=rel_alt,
        speed_mps=float(speed.group(1)) if speed else None,
        fix=0 if no_fix else None,
        source="dji-srt",
        **fields,  # type: ignore[arg-type]
    )


def _blocks(text: str) -> Iterator[tuple[str, int, str]]:
    """(block number, first line number, the block's text) for each blank-line block."""
    lines: list[str] = []
    first_line = 0
    for number, line in enumerate([*text.split("\n"), ""], start=1):
        if line.strip():
            if not lines:
                first_line = number
            lines.append(line)
        elif lines:
            yield lines[0].strip(), first_line, "\n".join(lines)
            lines = []


def read_dji_srt(path: str | Path, *, on_problem: Problem = log_problem) -> Iterator[Telemetry]:
    """The telemetry blocks of a DJI .SRT sidecar, in time order."""
    path = Path(path)
    check_file(path, "SRT")
    where = f"'{escape(path)}'"
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TelemetryError(
            f"{where} is not a text SRT file (byte {exc.start} is not UTF-8); give the .SRT "
            "the drone wrote next to its video"
        ) from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    samples: list[Telemetry] = []
    blocks = 0
    for number, line, chunk in _blocks(text):
        blocks += 1
        label = f"{where}: block {escape(number, 12)} (line {line})"
        times = _TIMES.search(chunk)
        if times is None:
            on_problem(f"{label} has no 'start --> end' time; skipped it")
            continue
        try:
            sample = _block(number, _seconds(*times.groups()[:4]), chunk)
        except ValueError as exc:
            on_problem(f"{label}: {exc}; skipped it")
            continue
        if sample is None:
            on_problem(f"{label} has no GPS position (cut off?); skipped it")
            continue
        samples.append(sample)
    if not samples:
        raise TelemetryError(
            f"{where} holds no DJI telemetry block with a position ({blocks} blocks read); "
            "give the .SRT the drone wrote next to its video, with subtitles on in the app"
        )
    samples.sort(key=lambda s: s.t)
    return iter(samples)
