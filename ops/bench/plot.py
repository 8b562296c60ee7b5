"""Latency-by-percentile plots as PNG, drawn in pure Python (no plotting dependency).

x: percentile on a "nines" scale (0, 90, 99, 99.9, 99.99 %), the way HdrHistogram plots
are read; y: latency in ms on a log scale. One line per series, a legend, a title. Text
uses a built-in 5x7 bitmap font (upper case, digits and a few signs).
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Series", "write_latency_plot", "encode_png"]

RGB = tuple[int, int, int]
_W, _H = 960, 640
_LEFT, _RIGHT, _TOP, _BOTTOM = 90, 60, 76, 150
_COLORS: tuple[RGB, ...] = (
    (31, 119, 180), (44, 160, 44), (214, 39, 40), (148, 103, 189), (127, 127, 127),
    (255, 127, 14), (23, 190, 207),
)  # fmt: skip
_FONT_ROWS = {
    "A": "01110 10001 10001 11111 10001 10001 10001",
    "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110",
    "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 10000 11110 10000 10000 11111",
    "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111",
    "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110",
    "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001",
    "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001",
    "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110",
    "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101",
    "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110",
    "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110",
    "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010",
    "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 01010 00100 00100 00100 00100",
    "Z": "11111 00001 00010 00100 01000 10000 11111",
    "0": "01110 10001 10011 10101 11001 10001 01110",
    "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111",
    "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010",
    "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110",
    "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110",
    "9": "01110 10001 10001 01111 00001 00010 01100",
    " ": "00000 00000 00000 00000 00000 00000 00000",
    ".": "00000 00000 00000 00000 00000 01100 01100",
    "%": "11000 11001 00010 00100 01000 10011 00011",
    "-": "00000 00000 00000 11111 00000 00000 00000",
    ":": "00000 01100 01100 00000 01100 01100 00000",
    "/": "00000 00001 00010 00100 01000 10000 00000",
    ",": "00000 00000 00000 00000 01100 00100 01000",
    "(": "00010 00100 01000 01000 01000 00100 00010",
    ")": "01000 00100 00010 00010 00010 00100 01000",
    "=": "00000 00000 11111 00000 11111 00000 00000",
    ">": "01000 00100 00010 00001 00010 00100 01000",
    "+": "00000 00100 00100 11111 00100 00100 00000",
}
_FONT = {ch: [int(row, 2) for row in rows.split()] for ch, rows in _FONT_ROWS.items()}


@dataclass(frozen=True, slots=True)
class Series:
    """A named latency curve: (percentile, ms) points."""

    label: str
    points: Sequence[tuple[float, float]]


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(b"\xff" * (width * height * 3))

    def dot(self, x: int, y: int, color: RGB) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i : i + 3] = bytes(color)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: RGB) -> None:
        for y in range(max(0, y0), min(self.height, y1 + 1)):
            for x in range(max(0, x0), min(self.width, x1 + 1)):
                self.dot(x, y, color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: RGB, width: int = 1) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        half = width // 2
        for n in range(steps + 1):
            x = round(x0 + (x1 - x0) * n / steps)
            y = round(y0 + (y1 - y0) * n / steps)
            self.rect(x - half, y - half, x - half + width - 1, y - half + width - 1, color)

    def text(self, x: int, y: int, text: str, color: RGB = (0, 0, 0), scale: int = 2) -> None:
        for ch in text.upper():
            rows = _FONT.get(ch, _FONT[" "])
            for r, bits in enumerate(rows):
                for c in range(5):
                    if bits & (1 << (4 - c)):
                        self.rect(x + c * scale, y + r * scale, x + c * scale + scale - 1,
                                  y + r * scale + scale - 1, color)  # fmt: skip
            x += 6 * scale


def _text_width(text: str, scale: int = 2) -> int:
    return len(text) * 6 * scale


def encode_png(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG (no filtering) of `rgb`, rows top to bottom."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    stride = width * 3
    raw = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))  # fmt: skip


def _nines(percentile: float) -> float:
    return -math.log10(max(1e-6, 1.0 - percentile / 100.0))


def write_latency_plot(path: Path, title: str, series: Sequence[Series]) -> None:
    """Draw the series on one latency-by-percentile chart and write it as a PNG."""
    values = [ms for s in series for _, ms in s.points if ms > 0]
    lo = math.floor(math.log10(min(values))) if values else -1
    hi = math.ceil(math.log10(max(values))) if values else 2
    hi = max(hi, lo + 1)
    max_nines = 4.0
    c = _Canvas(_W, _H)
    x0, x1, y0, y1 = _LEFT, _W - _RIGHT, _TOP, _H - _BOTTOM

    def px(percentile: float) -> int:
        return round(x0 + (x1 - x0) * min(_nines(percentile), max_nines) / max_nines)

    def py(ms: float) -> int:
        return round(y1 - (y1 - y0) * (math.log10(max(ms, 10.0**lo)) - lo) / (hi - lo))

    grid, axis = (225, 225, 225), (60, 60, 60)
    for k in range(int(max_nines) + 1):
        pct = 100.0 * (1 - 10.0**-k)
        x = px(pct)
        c.line(x, y0, x, y1, grid)
        label = "0%" if k == 0 else f"{pct:.{max(0, k - 2)}f}%"
        c.text(x - _text_width(label) // 2, y1 + 10, label, axis)
    for e in range(lo, hi + 1):
        y = py(10.0**e)
        c.line(x0, y, x1, y, grid)
        label = f"{10.0**e:g}"
        c.text(x0 - 8 - _text_width(label), y - 7, label, axis)
    c.line(x0, y0, x0, y1, axis)
    c.line(x0, y1, x1, y1, axis)
    c.text(x0, 14, title, (0, 0, 0))
    c.text(x0 - 8 - _text_width("ms"), y0 - 34, "ms", axis)
    c.text((x0 + x1) // 2 - _text_width("percentile") // 2, y1 + 36, "percentile", axis)
    for n, s in enumerate(series):
        color = _COLORS[n % len(_COLORS)]
        pts = [(px(p), py(ms)) for p, ms in s.points if ms > 0]
        for (ax, ay), (bx, by) in itertools.pairwise(pts):
            c.line(ax, ay, bx, by, color, width=3)
        # the legend sits under the chart, in two columns, so it never hides a curve
        lx = x0 + (n % 2) * (x1 - x0) // 2
        ly = y1 + 64 + (n // 2) * 24
        c.line(lx, ly + 6, lx + 30, ly + 6, color, width=3)
        c.text(lx + 40, ly, s.label, (20, 20, 20))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(c.width, c.height, bytes(c.pixels)))
