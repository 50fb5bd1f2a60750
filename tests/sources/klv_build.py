"""MISB ST 0601 packets written by the tests (the standard's mappings, inverted), with their
checksum, to feed a KLV data stream into an MPEG-TS."""

from __future__ import annotations

from vigil.sources.telemetry.klv import UAS_LS_KEY, checksum

# tag: (bytes, signed, low, high) as in ST 0601
MAPPINGS: dict[int, tuple[int, bool, float, float]] = {
    5: (2, False, 0.0, 360.0),
    6: (2, True, -20.0, 20.0),
    7: (2, True, -50.0, 50.0),
    13: (4, True, -90.0, 90.0),
    14: (4, True, -180.0, 180.0),
    15: (2, False, -900.0, 19000.0),
    16: (2, False, 0.0, 180.0),
    17: (2, False, 0.0, 180.0),
    18: (4, False, 0.0, 360.0),
    19: (4, True, -180.0, 180.0),
    20: (4, False, 0.0, 360.0),
    21: (4, False, 0.0, 5_000_000.0),
    23: (4, True, -90.0, 90.0),
    24: (4, True, -180.0, 180.0),
    25: (2, False, -900.0, 19000.0),
}


def _ber(n: int) -> bytes:
    if n < 128:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _encode(tag: int, value: float) -> bytes:
    size, signed, low, high = MAPPINGS[tag]
    bits = 8 * size
    if signed:
        raw = round(value * ((1 << bits) - 2) / (high - low))
    else:
        raw = round((value - low) * ((1 << bits) - 1) / (high - low))
    return bytes([tag]) + _ber(size) + raw.to_bytes(size, "big", signed=signed)


def st0601_packet(unix_time: float, values: dict[int, float]) -> bytes:
    """One UAS Datalink LS packet: timestamp (tag 2), the given tags, version, checksum."""
    body = bytes([2, 8]) + round(unix_time * 1e6).to_bytes(8, "big")
    body += b"".join(_encode(tag, value) for tag, value in sorted(values.items()))
    body += bytes([65, 1, 17])  # UAS LS version 17
    body += bytes([1, 2])  # the checksum's tag and length are part of what it sums
    head = UAS_LS_KEY + _ber(len(body) + 2)
    return head + body + checksum(head + body).to_bytes(2, "big")
