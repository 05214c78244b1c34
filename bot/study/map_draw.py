"""Pixels for the study map: fonts, wrapped labels, boxes, arrows and the header, drawn with Pillow.

No layout decisions here (see `bot.study.map`), and no truncation ever: a label that does not fit its width
wraps onto more lines, so every title is shown whole. Sizes are in pixels of the full-size image; the map is
checked at 50% scale, where the smallest text (SMALL_PX) must still be at least 10 px.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

LABEL_PX = 22  # note labels: 11 px at 50% scale
SMALL_PX = 20  # legend and captions: 10 px at 50% scale
TITLE_PX = 34
MIN_PX_AT_HALF = 10  # the smallest text, shown at 50% (a Discord preview is smaller still; one click opens it)
LINE_GAP = 4
BACKGROUND = "#ffffff"
INK = "#111827"
MUTED = "#4b5563"
EDGE = "#9aa3b2"

# state -> (fill, outline, outline width)
STYLES = {
    "mastered": ("#c7ecd1", "#2e9d4f", 3),
    "studied": ("#fde9b5", "#d99a00", 3),
    "next": ("#dbeafe", "#2563eb", 4),
    "new": ("#f3f4f6", "#9ca3af", 2),
    "outside": ("#ffffff", "#9ca3af", 2),
}
LEGEND = {"mastered": "Mastered", "studied": "Started", "next": "Study next", "new": "Not yet",
          "outside": "From other disciplines"}


@dataclass(frozen=True)
class Label:
    """A label as drawn: what it names, its text (lines joined by newlines), its size and its box."""

    key: str
    text: str
    font_px: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the box it sits in


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False, italic: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (shipped with matplotlib, so present wherever studybot is installed)."""
    from matplotlib import font_manager

    props = font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal",
                                        style="oblique" if italic else "normal")
    return ImageFont.truetype(font_manager.findfont(props), size)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Words wrapped to `width` pixels; a single word wider than that is hyphenated across lines, never cut."""
    lines: list[str] = []
    hyphenated = False  # the last line ends inside a word: the next piece must start a new line
    for word in text.split():
        pieces = _split_word(word, face, width)
        for i, piece in enumerate(pieces):
            if lines and not hyphenated and face.getlength(f"{lines[-1]} {piece}") <= width:
                lines[-1] += " " + piece
            else:
                lines.append(piece)
            hyphenated = i < len(pieces) - 1
    return lines or [""]


def _split_word(word: str, face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    parts = []
    while face.getlength(word) > width and len(word) > 1:
        cut = 1
        while cut < len(word) - 1 and face.getlength(word[:cut + 1] + "-") <= width:
            cut += 1
        parts.append(word[:cut] + "-")
        word = word[cut:]
    return parts + [word]


def text_height(lines: list[str], size: int) -> int:
    return len(lines) * size + (len(lines) - 1) * LINE_GAP + max(2, size // 4)


def header_height(subtitle: str, width: int, margin: int) -> int:
    """Height of `Canvas.header` below the top margin: title, wrapped subtitle, legend row and a gap."""
    lines = wrap(subtitle, font(SMALL_PX), width - 2 * margin)
    return TITLE_PX + 10 + text_height(lines, SMALL_PX) + 12 + 24 + 30


class Canvas:
    """A white image to draw a map on."""

    def __init__(self, width: int, height: int):
        self.size = (width, height)
        self.image = Image.new("RGB", self.size, BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)

    def text(self, xy: tuple[float, float], lines: list[str], face: ImageFont.FreeTypeFont,
             fill: str = INK) -> None:
        x, y = xy
        for line in lines:
            self.draw.text((x, y), line, font=face, fill=fill)
            y += face.size + LINE_GAP

    def node(self, rect: tuple[int, int, int, int], state: str) -> None:
        fill, outline, width = STYLES[state]
        self.draw.rounded_rectangle(rect, radius=10, fill=fill, outline=outline, width=width)
        if state == "outside":  # a dashed look: white gaps over the top and bottom edges
            x0, y0, x1, y1 = rect
            for x in range(x0 + 14, x1 - 14, 16):
                self.draw.line([(x, y0), (x + 6, y0)], fill=BACKGROUND, width=width)
                self.draw.line([(x, y1), (x + 6, y1)], fill=BACKGROUND, width=width)

    def arrow(self, start: tuple[float, float], end: tuple[float, float], colour: str = EDGE, width: int = 2) -> None:
        """A line with an arrowhead at `end` (edges go from a prerequisite to what builds on it)."""
        (x0, y0), (x1, y1) = start, end
        self.draw.line([start, end], fill=colour, width=width)
        length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-6)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        size = 8 + width * 2
        left = (x1 - ux * size - uy * size * 0.5, y1 - uy * size + ux * size * 0.5)
        right = (x1 - ux * size + uy * size * 0.5, y1 - uy * size - ux * size * 0.5)
        self.draw.polygon([end, left, right], fill=colour)

    def arc(self, start: tuple[float, float], end: tuple[float, float], bulge: float, colour: str = EDGE,
            width: int = 2) -> None:
        """A curve bulging `bulge` pixels to the right from `start` to `end`, with an arrowhead at `end`."""
        (x0, y0), (x1, y1) = start, end
        c0, c1 = (x0 + bulge, y0), (x1 + bulge, y1)
        points = []
        for i in range(33):  # a cubic Bezier, as a polyline
            t = i / 32
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
            points.append((a * x0 + b * c0[0] + c * c1[0] + d * x1, a * y0 + b * c0[1] + c * c1[1] + d * y1))
        self.draw.line(points[:-3], fill=colour, width=width, joint="curve")
        self.arrow(points[-4], end, colour, width)

    def header(self, title: str, subtitle: str, legend: list[str], margin: int) -> None:
        """Title, an explanation (wrapped to the width), and the colour legend; `header_height` tall."""
        self.text((margin, margin), [title], font(TITLE_PX, bold=True))
        lines = wrap(subtitle, font(SMALL_PX), self.size[0] - 2 * margin)
        self.text((margin, margin + TITLE_PX + 10), lines, font(SMALL_PX), fill=MUTED)
        x, y = margin, margin + TITLE_PX + 10 + text_height(lines, SMALL_PX) + 12
        for state in legend:
            self.node((x, y, x + 34, y + 24), state)
            self.text((x + 42, y), [LEGEND[state]], font(SMALL_PX), fill=MUTED)
            x += 42 + int(font(SMALL_PX).getlength(LEGEND[state])) + 30

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG", compress_level=6)
        return buffer.getvalue()
