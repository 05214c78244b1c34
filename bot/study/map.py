"""A PNG of the prerequisite graph with the learner's progress coloured, sized for Discord's preview.

Layout: layers left to right by prerequisite depth within the drawn graph (a note sits one column right of
its deepest prerequisite), rows ordered by a barycentre sweep to cut edge crossings. One discipline's map
also shows, greyed and dashed, the prerequisites from other disciplines that lead into it. Fonts and labels
shrink with the number of notes per column; titles are shortened ("The chain rule" -> "Chain rule").
matplotlib's object API with the Agg canvas: no pyplot global state, safe in a worker thread.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Iterable

import networkx as nx
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bot.knowledge import Corpus
from bot.knowledge.notes import DISCIPLINE_LABELS

SIZE = (1600, 1000)
DPI = 100
COLOURS = {"mastered": "#2e9d4f", "studied": "#f2a900", "new": "#c9ced6", "outside": "#ffffff"}
EDGE = "#8a94a6"


def short_label(title: str, width: int, lines: int = 2) -> str:
    """A title cut to its head ("Bayesian inference: priors..." -> "Bayesian inference"), wrapped to fit."""
    head = re.split(r"[:(]", title, maxsplit=1)[0].strip() or title
    head = re.sub(r"^(the|an?)\s+", "", head, flags=re.IGNORECASE)
    head = head[:1].upper() + head[1:]
    wrapped = textwrap.wrap(head, width=max(width, 4), max_lines=lines, placeholder="…", break_long_words=True)
    return "\n".join(wrapped) or head[:width]


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
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.02, 0.98, 0.88))
    ax.set_axis_off()

    scope = DISCIPLINE_LABELS.get(discipline, discipline) if discipline else "All topics"
    done = len(mastered & inside)
    fig.text(0.02, 0.955, f"{scope}: {done} of {len(inside)} topics mastered", fontsize=26, weight="bold",
             va="center", color="#1f2937")
    if not graph:
        fig.text(0.5, 0.5, "No topics to show", fontsize=28, ha="center", va="center", color="#6b7280")
        return _png(fig, dpi)

    pos, columns, rows = layered_positions(graph)
    row_px = ax.bbox.height / max(rows, 1)
    col_px = ax.bbox.width / (columns + 0.6)
    font = max(6.5, min(18.0, row_px * 0.42 * 72 / dpi))
    lines = 2 if row_px > 2.7 * font * dpi / 72 else 1
    chars = int((col_px - font * 1.8) / (0.56 * font * dpi / 72))
    if chars < 8 and font > 6.5:  # narrow columns: a smaller font buys readable labels
        font = max(6.5, font * chars / 8)
        chars = int((col_px - font * 1.8) / (0.56 * font * dpi / 72))
    chars = max(chars, 5)

    ax.set_xlim(-0.25, columns - 1 + 0.95)
    half = max(rows - 1, 1) / 2 + 0.6
    ax.set_ylim(-half, half)
    ax.add_collection(LineCollection([(pos[u], pos[v]) for u, v in graph.edges], colors=EDGE, linewidths=1.0,
                                     alpha=0.45, zorder=1))

    def state(n: str) -> str:
        if n in outside:
            return "outside"
        return "mastered" if n in mastered else "studied" if n in studied else "new"

    marker = (font * 1.25) ** 2
    for kind in ("new", "studied", "mastered", "outside"):
        nodes = [n for n in graph if state(n) == kind]
        if nodes:
            ax.scatter([pos[n][0] for n in nodes], [pos[n][1] for n in nodes], s=marker, c=COLOURS[kind],
                       edgecolors="#4b5563", linewidths=1.2, linestyle="--" if kind == "outside" else "-", zorder=2)
    offset = 0.09 * max(font / 12, 0.6) * (6 / max(columns, 6))
    for n in graph:
        x, y = pos[n]
        ax.text(x + offset, y, short_label(corpus.notes[n].title, chars, lines), fontsize=font, va="center",
                ha="left", color="#6b7280" if n in outside else "#111827", zorder=3, clip_on=False,
                linespacing=0.95, style="italic" if n in outside else "normal")

    legend = [("mastered", "Mastered"), ("studied", "Started"), ("new", "Not yet")]
    if outside:
        legend.append(("outside", "From other disciplines"))
    handles = [Line2D([], [], marker="o", linestyle="", markersize=16, markerfacecolor=COLOURS[k],
                      markeredgecolor="#4b5563", label=label) for k, label in legend]
    fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.99, 0.995), ncols=len(handles), fontsize=16,
               frameon=False, handletextpad=0.3, columnspacing=1.2)
    return _png(fig, dpi)


def _png(fig: Figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
