"""The GPMF (GoPro Metadata Format) KLV walk: payload bytes to nested items.

Each item is a 4-character key, a 1-byte type, a 1-byte structure size and a 2-byte repeat
count (big-endian), then size x repeat bytes padded to a multiple of 4. Type 0 holds nested
items (DEVC > STRM > ...). Numbers are big-endian; `TYPE` gives the element types of a
complex ('?') structure. Nothing here knows what GPS5 means: that is gpmf.py's job.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

# GPMF type character -> numpy big-endian dtype (None: not a number)
_DTYPES: dict[str, str] = {
    "b": ">i1",
    "B": ">u1",
    "s": ">i2",
    "S": ">u2",
    "l": ">i4",
    "L": ">u4",
    "j": ">i8",
    "J": ">u8",
    "f": ">f4",
    "d": ">f8",
    "q": ">i4",  # Q15.16 fixed point: divided by 2**16 below
    "Q": ">i8",  # Q31.32
}
_FIXED_SHIFT = {"q": 16, "Q": 32}


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    type: str  # one character; "\x00" for nested
    size: int  # bytes per sample (structure size)
    repeat: int  # number of samples
    data: bytes
    children: tuple[Item, ...] = ()

    def text(self) -> str:
        """A 'c' (char) or 'U' (UTC date) item as text, NULs dropped."""
        return self.data.decode("latin-1").replace("\x00", "").strip()

    def numbers(self, types: str | None = None) -> np.ndarray:
        """The samples as a float array, shape (repeat, elements).

        `types` is the stream's TYPE string for a '?' (complex) item."""
        if self.type == "?":
            if not types:
                raise ValueError(f"{self.key}: a complex item without a TYPE")
            return _complex(self, types)
        dtype = _DTYPES.get(self.type)
        if dtype is None:
            raise ValueError(f"{self.key}: type {self.type!r} is not numeric")
        width = np.dtype(dtype).itemsize
        if self.size % width:
            raise ValueError(f"{self.key}: structure size {self.size} is not a multiple of {width}")
        count = self.size * self.repeat // width
        values = np.frombuffer(self.data, dtype=dtype, count=count).astype(np.float64)
        if self.type in _FIXED_SHIFT:
            values = values / float(1 << _FIXED_SHIFT[self.type])
        return values.reshape(self.repeat, self.size // width)


def _complex(item: Item, types: str) -> np.ndarray:
    fmt = ">" + "".join(_struct_char(t) for t in types)
    if struct.calcsize(fmt) != item.size:
        raise ValueError(f"{item.key}: TYPE {types!r} does not fill {item.size} bytes")
    rows = [struct.unpack_from(fmt, item.data, i * item.size) for i in range(item.repeat)]
    out = np.array(rows, dtype=np.float64).reshape(item.repeat, len(types))
    for col, t in enumerate(types):
        if t in _FIXED_SHIFT:
            out[:, col] /= float(1 << _FIXED_SHIFT[t])
    return out


def _struct_char(t: str) -> str:
    table = {"b": "b", "B": "B", "s": "h", "S": "H", "l": "i", "L": "I", "j": "q", "J": "Q"}
    table |= {"f": "f", "d": "d", "q": "i", "Q": "q", "c": "c", "F": "4s"}
    if t not in table:
        raise ValueError(f"TYPE character {t!r} is not supported")
    return table[t]


def walk(buf: bytes, pos: int = 0, end: int | None = None) -> tuple[Item, ...]:
    """Every item in buf[pos:end]; ValueError when an item runs past the end."""
    end = len(buf) if end is None else end
    items: list[Item] = []
    while pos + 8 <= end:
        raw_key = buf[pos : pos + 4]
        if raw_key == b"\x00\x00\x00\x00":
            break  # padding at the end of a payload
        type_ch = chr(buf[pos + 4])
        size = buf[pos + 5]
        repeat = int.from_bytes(buf[pos + 6 : pos + 8], "big")
        length = size * repeat
        start = pos + 8
        if start + length > end:
            raise ValueError(
                f"item {raw_key.decode('latin-1')!r} at byte {pos} needs {length} bytes, "
                f"{end - start} are left"
            )
        data = buf[start : start + length]
        children = walk(buf, start, start + length) if type_ch == "\x00" else ()
        items.append(Item(raw_key.decode("latin-1"), type_ch, size, repeat, data, children))
        pos = start + ((length + 3) & ~3)
    return tuple(items)


def streams(payload: bytes) -> list[tuple[Item, ...]]:
    """The STRM children of every DEVC in a payload (each stream's items, in order)."""
    out: list[tuple[Item, ...]] = []
    for devc in walk(payload):
        if devc.key != "DEVC":
            continue
        out.extend(strm.children for strm in devc.children if strm.key == "STRM")
    return out
