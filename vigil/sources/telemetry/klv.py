"""MISB ST 0601 (UAS Datalink Local Set) KLV: raw packet files and packets from a data stream.

Vigil's own decoder for the tags it uses (`klvdata`, the one Python parser on PyPI, is
unmaintained since 2018 and neither verifies checksums nor reports truncation; bench/telemetry.py
compares the two on the same packets). A packet is the 16-byte UAS LS key, a BER length and a
local set of BER-OID tag, BER length, value. Its last item is the checksum (tag 1): the 16-bit
running sum over every byte from the key to the checksum's own length byte, even bytes in the
high half. A packet with a wrong checksum, a truncated one, or one without its timestamp (tag 2,
mandatory) is reported through `on_problem` and skipped; reading goes on at the next key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vigil.domain import Telemetry
from vigil.logtext import escape
from vigil.sources.telemetry.common import Problem, TelemetryError, check_file, log_problem

UAS_LS_KEY = bytes.fromhex("060e2b34020b01010e01030101000000")
_KEY_PREFIX = UAS_LS_KEY[:4]  # SMPTE UL designator: where to look for the next packet


# tag: (value length in bytes, signed, low, high) -> value * (high - low) / range + low, where
# range is 2**bits - 1 (unsigned) or 2**bits - 2 (signed, whose lowest value means "error").
@dataclass(frozen=True, slots=True)
class _Mapping:
    size: int
    signed: bool
    low: float
    high: float

    def decode(self, raw: bytes) -> float | None:
        if len(raw) != self.size:
            return None
        value = int.from_bytes(raw, "big", signed=self.signed)
        bits = 8 * self.size
        if self.signed:
            if value == -(1 << (bits - 1)):
                return None  # the reserved "out of range / unknown" value
            return value * (self.high - self.low) / ((1 << bits) - 2)
        return value * (self.high - self.low) / ((1 << bits) - 1) + self.low


_LAT = _Mapping(4, True, -90.0, 90.0)
_LON = _Mapping(4, True, -180.0, 180.0)
_ALT = _Mapping(2, False, -900.0, 19000.0)
_OFFSET = _Mapping(2, True, -0.075, 0.075)

_FIELDS: dict[int, tuple[str, _Mapping]] = {
    5: ("heading", _Mapping(2, False, 0.0, 360.0)),
    6: ("pitch", _Mapping(2, True, -20.0, 20.0)),
    7: ("roll", _Mapping(2, True, -50.0, 50.0)),
    13: ("lat", _LAT),
    14: ("lon", _LON),
    15: ("alt", _ALT),
    # Sensor ellipsoid height (HAE, ST 0601.5 on): the altitude when tag 15 (MSL) is absent.
    75: ("alt_hae", _ALT),
    16: ("hfov", _Mapping(2, False, 0.0, 180.0)),
    17: ("vfov", _Mapping(2, False, 0.0, 180.0)),
    18: ("sensor_azimuth", _Mapping(4, False, 0.0, 360.0)),
    19: ("sensor_elevation", _Mapping(4, True, -180.0, 180.0)),
    20: ("sensor_roll", _Mapping(4, False, 0.0, 360.0)),
    21: ("slant_range", _Mapping(4, False, 0.0, 5_000_000.0)),
    23: ("center_lat", _LAT),
    24: ("center_lon", _LON),
    25: ("frame_center_alt", _ALT),
    56: ("speed_mps", _Mapping(1, False, 0.0, 255.0)),
    # The "full" pitch and roll (ST 0601.4 on) cover ±90°; preferred over tags 6 and 7.
    90: ("pitch_full", _Mapping(4, True, -90.0, 90.0)),
    91: ("roll_full", _Mapping(4, True, -90.0, 90.0)),
}
# Corner points: offsets from the frame centre (26-33) or full positions (82-89), lat then lon
# for corners 1..4.
_OFFSET_TAGS = range(26, 34)
_FULL_CORNER_TAGS = range(82, 90)


def checksum(data: bytes) -> int:
    """The ST 0601 16-bit checksum of `data` (key through the checksum's length byte)."""
    total = 0
    for i, byte in enumerate(data):
        total += byte << (8 * ((i + 1) % 2))
    return total & 0xFFFF


def _ber_length(buf: bytes, pos: int) -> tuple[int, int]:
    """(length, position after it); ValueError past the end of `buf`."""
    if pos >= len(buf):
        raise ValueError("length missing")
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 8 or pos + 1 + count > len(buf):
        raise ValueError("bad BER length")
    return int.from_bytes(buf[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _ber_oid(buf: bytes, pos: int) -> tuple[int, int]:
    tag = 0
    while True:
        if pos >= len(buf):
            raise ValueError("tag cut off")
        byte = buf[pos]
        tag = (tag << 7) | (byte & 0x7F)
        pos += 1
        if byte < 0x80:
            return tag, pos


def local_set(value: bytes) -> dict[int, bytes]:
    """The items of a local set, tag -> raw value (the last one wins for a repeated tag)."""
    items: dict[int, bytes] = {}
    pos = 0
    while pos < len(value):
        tag, pos = _ber_oid(value, pos)
        length, pos = _ber_length(value, pos)
        if pos + length > len(value):
            raise ValueError(f"tag {tag} runs past the end of its packet")
        items[tag] = value[pos : pos + length]
        pos += length
    return items


@dataclass(frozen=True, slots=True)
class KlvPacket:
    """One verified ST 0601 packet: its UNIX timestamp (seconds) and decoded fields."""

    unix_time: float
    fields: dict[str, float | None]
    corners: tuple[tuple[float, float], ...] | None


def _corners(items: dict[int, bytes], fields: dict[str, float | None]) -> tuple | None:
    if all(t in items for t in _FULL_CORNER_TAGS):
        maps = [_LAT, _LON] * 4
        vals = [m.decode(items[t]) for m, t in zip(maps, _FULL_CORNER_TAGS, strict=True)]
    elif all(t in items for t in _OFFSET_TAGS):
        lat0, lon0 = fields.get("center_lat"), fields.get("center_lon")
        if lat0 is None or lon0 is None:
            return None
        offsets = [_OFFSET.decode(items[t]) for t in _OFFSET_TAGS]
        vals = [
            None if off is None else off + (lat0 if i % 2 == 0 else lon0)
            for i, off in enumerate(offsets)
        ]
    else:
        return None
    if any(v is None for v in vals):
        return None
    return tuple((float(vals[i]), float(vals[i + 1])) for i in range(0, 8, 2))  # type: ignore[arg-type]


def decode_packet(packet: bytes, *, verify: bool = True) -> KlvPacket:
    """One whole packet (key included) decoded; ValueError says what is wrong with it.
    `verify=False` decodes a packet whose checksum is wrong (to look at it, not to use it)."""
    if not packet.startswith(UAS_LS_KEY):
        raise ValueError("not a UAS Datalink Local Set (ST 0601) key")
    length, start = _ber_length(packet, len(UAS_LS_KEY))
    if start + length > len(packet):
        raise ValueError(f"truncated: {len(packet) - start} of {length} bytes")
    end = start + length
    if length < 4 or packet[end - 4 : end - 2] != b"\x01\x02":
        raise ValueError("no checksum (tag 1) at its end")
    expected = int.from_bytes(packet[end - 2 : end], "big")
    if verify and checksum(packet[: end - 2]) != expected:
        raise ValueError(
            f"bad checksum (computed {checksum(packet[: end - 2]):#06x}, "
            f"packet says {expected:#06x})"
        )
    items = local_set(packet[start:end])
    stamp = items.get(2)
    if stamp is None or len(stamp) != 8:
        raise ValueError("no precision timestamp (tag 2)")
    fields = {name: m.decode(items[tag]) for tag, (name, m) in _FIELDS.items() if tag in items}
    hae = fields.pop("alt_hae", None)
    if fields.get("alt") is None:
        fields["alt"] = hae
    for full, short in (("pitch_full", "pitch"), ("roll_full", "roll")):
        value = fields.pop(full, None)
        if value is not None:
            fields[short] = value
    return KlvPacket(int.from_bytes(stamp, "big") / 1e6, fields, _corners(items, fields))


def to_telemetry(packet: KlvPacket, t: float) -> Telemetry:
    f = packet.fields
    center = None
    if f.get("center_lat") is not None and f.get("center_lon") is not None:
        center = (float(f["center_lat"]), float(f["center_lon"]))  # type: ignore[arg-type]
    names = (
        "lat",
        "lon",
        "alt",
        "heading",
        "pitch",
        "roll",
        "sensor_azimuth",
        "sensor_elevation",
        "sensor_roll",
        "hfov",
        "vfov",
        "slant_range",
        "speed_mps",
        "frame_center_alt",
    )
    return Telemetry(
        t=t,
        frame_center=center,
        corners=packet.corners,
        wallclock=packet.unix_time,
        source="klv",
        **{n: f.get(n) for n in names},  # type: ignore[arg-type]
    )


def split_packets(buf: bytes, where: str, on_problem: Problem) -> Iterator[bytes]:
    """Whole UAS LS packets in `buf`; garbage between them and a truncated tail are reported."""
    pos = 0
    while pos < len(buf):
        if not buf.startswith(UAS_LS_KEY, pos):
            nxt = buf.find(_KEY_PREFIX, pos + 1)
            skipped = (nxt if nxt >= 0 else len(buf)) - pos
            if not buf.startswith(_KEY_PREFIX, pos):
                on_problem(f"{where}: {skipped} bytes at offset {pos} are not KLV; skipped them")
            else:
                on_problem(f"{where}: a KLV packet at offset {pos} is not ST 0601; skipped it")
            if nxt < 0:
                return
            pos = nxt
            continue
        try:
            length, start = _ber_length(buf, pos + len(UAS_LS_KEY))
        except ValueError:
            on_problem(f"{where}: the KLV packet at offset {pos} is truncated (no length)")
            return
        if start + length > len(buf):
            on_problem(
                f"{where}: the KLV packet at offset {pos} is truncated "
                f"({len(buf) - start} of {length} bytes); the packets before it are read"
            )
            return
        yield buf[pos : start + length]
        pos = start + length


def decode_packets(
    packets: Iterable[bytes], where: str, on_problem: Problem
) -> Iterator[KlvPacket]:
    for n, packet in enumerate(packets):
        try:
            yield decode_packet(packet)
        except ValueError as exc:
            on_problem(f"{where}: KLV packet {n + 1} skipped: {exc}")


def read_klv(path: str | Path, *, on_problem: Problem = log_problem) -> Iterator[Telemetry]:
    """The ST 0601 packets of a raw KLV file as Telemetry, `t` from the first packet's time.

    Raises TelemetryError when the file is missing, empty or holds no readable packet.
    """
    path = Path(path)
    check_file(path, "KLV")
    buf = path.read_bytes()
    where = f"'{escape(path)}'"
    good = list(decode_packets(split_packets(buf, where, on_problem), where, on_problem))
    if not good:
        raise TelemetryError(
            f"{where} holds no readable MISB ST 0601 KLV packet; give a raw KLV file "
            "(UAS Datalink Local Set packets, e.g. one extracted from an MPEG-TS data stream)"
        )
    good.sort(key=lambda p: p.unix_time)
    t0 = good[0].unix_time
    return iter([to_telemetry(packet, packet.unix_time - t0) for packet in good])
