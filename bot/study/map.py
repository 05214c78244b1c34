"""A PNG of the prerequisite graph with the learner's progress coloured, sized for Discord's preview.

Layout: layers left to right by prerequisite depth within the drawn graph (a note sits one column right of
its deepest prerequisite), rows ordered by a barycentre sweep to cut edge crossings. One discipline's map
also shows, greyed and dashed, the prerequisites from other disciplines that lead into it. Fonts and labels
shrink with the number of notes per column; titles are shortened ("The chain rule" -> "Chain rule") and
wrapped to the column's width. matplotlib's object API with the Agg canvas (no pyplot global state, safe in a
worker thread) draws the graph; Pillow draws the labels, because matplotlib's text layout is far too slow for
hundreds of them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from functools import lru_cache

import networkx as nx
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image, ImageDraw, ImageFont

from bot.knowledge import Corpus
from bot.knowledge.notes import DISCIPLINE_LABELS

SIZE = (1600, 1000)
DPI = 100
COLOURS = {"mastered": "#2e9d4f", "studied": "#f2a900", "new": "#c9ced6", "outside": "#ffffff"}
EDGE = "#8a94a6"


def short_title(title: str) -> str:
    """A title cut to its head: "The chain rule" -> "Chain rule", "Bayes: priors..." -> "Bayes"."""
    head = re.split(r"[:(]", title, maxsplit=1)[0].strip() or title
    head = re.sub(r"^(the|an?)\s+", "", head, flags=re.IGNORECASE)
    return head[:1].upper() + head[1:]


def fit_label(text: str, font: ImageFont.FreeTypeFont, width: float, lines: int) -> str:
    """Words wrapped into at most `lines` lines of `width` pixels; whatever does not fit becomes an ellipsis."""
    out: list[str] = []
    words = text.split()
    while words and len(out) < lines:
        line = words.pop(0)
        while words and font.getlength(f"{line} {words[0]}") <= width:
            line += " " + words.pop(0)
        out.append(line)
    if words:
        out[-1] += "…"
    return "\n".join(_clip(line, font, width) for line in out)


def _clip(line: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """A line cut short with an ellipsis when wider than `width` (a long word, or the overflow mark)."""
    if font.getlength(line) <= width:
        return line
    line = line.rstrip("…")
    while len(line) > 1 and font.getlength(line + "…") > width:
        line = line[:-1]
    return line.rstrip(" ,-") + "…"


def map_nodes(corpus: Corpus, discipline: str | None) -> tuple[set[str], set[str]]:
    """(notes of the discipline or all notes, prerequisites from elsewhere that lead into them)."""
    if discipline is None:
        return set(corpus.notes), set()
    inside = {n.id for n in corpus.notes.values() if n.discipline == discipline}
    outside = {p for nid in inside for p in corpus.graph.prerequisites_of(nid)} - inside
    return inside, outside


def layered_positions(graph: nx.DiGraph) -> tuple[dict[str, tuple[float, float]], int, int]:
    """Node -> (column, row) with columns by longest-path depth; also (columns, most rows in a column)."""
    layers = [sorted(layer) for layer in nx.topological_generations(graph)]
    rank: dict[str, float] = {}
    for layer in layers:
        for i, n in enumerate(layer):
            rank[n] = i - (len(layer) - 1) / 2

    def sweep(order: list[list[str]], neighbours) -> None:
        for layer in order:
            def key(n: str) -> tuple[float, str]:
                near = [rank[m] for m in neighbours(n) if m in rank]
                return (sum(near) / len(near) if near else rank[n], n)
            layer.sort(key=key)
            for i, n in enumerate(layer):
                rank[n] = i - (len(layer) - 1) / 2

    for _ in range(2):
        sweep(layers[1:], graph.predecessors)
        sweep(layers[-2::-1], graph.successors)
    pos = {n: (float(x), rank[n]) for x, layer in enumerate(layers) for n in layer}
    return pos, len(layers), max((len(layer) for layer in layers), default=0)


def render_map(corpus: Corpus, mastered: Iterable[str] = (), studied: Iterable[str] = (),
               discipline: str | None = None, size: tuple[int, int] = SIZE, dpi: int = DPI) -> bytes:
    """PNG bytes of the prerequisite map: mastered green, started amber, the rest grey."""
    mastered, studied = set(mastered), set(studied)
    inside, outside = map_nodes(corpus, discipline)
    graph = corpus.graph.nx.subgraph(inside | outside).copy()
    width, height = size
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.02, 0.98, 0.86))
    ax.set_axis_off()

    scope = DISCIPLINE_LABELS.get(discipline, discipline) if discipline else "All topics"
    fig.text(0.02, 0.95, f"{scope}: {len(mastered & inside)} of {len(inside)} mastered", fontsize=26,
             weight="bold", va="center", color="#1f2937")
    if not graph:
        fig.text(0.5, 0.5, "No topics to show", fontsize=28, ha="center", va="center", color="#6b7280")
        canvas.draw()
        return _png(canvas, [])

    pos, columns, rows = layered_positions(graph)
    row_px = ax.bbox.height / max(rows, 1)
    col_px = ax.bbox.width / (columns + 0.6)
    font_px = max(10.0, min(24.0, row_px * 0.5, col_px / 7.5))
    lines = max(1, min(3, int(row_px * 0.85 / (font_px * 1.15))))
    dot_px = max(6.0, min(font_px * 1.3, row_px * 0.7))

    ax.set_xlim(-0.25, columns - 1 + 0.95)
    half = max(rows - 1, 1) / 2 + 0.6
    ax.set_ylim(-half, half)
    ax.add_collection(LineCollection([(pos[u], pos[v]) for u, v in graph.edges], colors=EDGE, linewidths=1.0,
                                     alpha=0.45, zorder=1))

    def state(n: str) -> str:
        if n in outside:
            return "outside"
        return "mastered" if n in mastered else "studied" if n in studied else "new"

    for kind in ("new", "studied", "mastered", "outside"):
        nodes = [n for n in graph if state(n) == kind]
        if nodes:
            ax.scatter([pos[n][0] for n in nodes], [pos[n][1] for n in nodes], s=(dot_px * 72 / dpi) ** 2,
                       c=COLOURS[kind], edgecolors="#4b5563", linewidths=1.2,
                       linestyle="--" if kind == "outside" else "-", zorder=2)
    legend = [("mastered", "Mastered"), ("studied", "Started"), ("new", "Not yet")]
    if outside:
        legend.append(("outside", "Other disciplines"))
    handles = [Line2D([], [], marker="o", linestyle="", markersize=16, markerfacecolor=COLOURS[k],
                      markeredgecolor="#4b5563", label=label) for k, label in legend]
    fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.99, 0.99), ncols=2 if outside else 3,
               fontsize=16, frameon=False, handletextpad=0.3, columnspacing=1.2)
    canvas.draw()

    # Labels are drawn with Pillow: matplotlib lays out text ~50x slower, too slow for 300 labels.
    regular, italic = _font(False, round(font_px)), _font(True, round(font_px))
    room = col_px - dot_px - 12  # up to just before the next column's dots
    labels = []
    for n in graph:
        x, y = ax.transData.transform(pos[n])
        font = italic if n in outside else regular
        text = fit_label(short_title(corpus.notes[n].title), font, room, lines)
        labels.append((x + dot_px / 2 + 4, height - y, text, font, "#6b7280" if n in outside else "#111827"))
    return _png(canvas, labels)


@lru_cache(maxsize=16)
def _font(oblique: bool, size: int) -> ImageFont.FreeTypeFont:
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans",
                                                             style="oblique" if oblique else "normal"))
    return ImageFont.truetype(path, size)


def _png(canvas: FigureCanvasAgg, labels: list[tuple[float, float, str, ImageFont.FreeTypeFont, str]]) -> bytes:
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = image.convert("RGB")
    draw = ImageDraw.Draw(image)
    for x, y, text, font, colour in labels:
        left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font, spacing=2)
        draw.multiline_text((x, y - (top + bottom) / 2), text, font=font, fill=colour, spacing=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
