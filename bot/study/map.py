"""The study map: a PNG a learner can read at Discord's preview sizes. Three views:

* **your neighbourhood** (the default): the notes you studied (the most recent first) and mastered, plus
  what to study next (`progress.personal_suggestions`), with the prerequisite arrows between them. A new
  learner sees where to start.
* **one discipline**: its notes, plus (greyed, dashed) the prerequisites from other disciplines that lead
  into it, every title in full.
* **all topics**: a layered overview by discipline: one box per discipline with its mastery, arrows where
  notes of one discipline are prerequisites of another (thicker for more), layered left to right.

Readability is a contract, checked by the tests at 50% scale: every label is the note's whole title (wrapped,
never cut with an ellipsis), and no text is smaller than 10 px at half size. The image grows with the map
rather than shrinking its text. Layout: columns by prerequisite depth (a note sits one column right of its
deepest prerequisite; a note without prerequisites on the map sits just left of the first note that needs
it), rows ordered by barycentre sweeps to cut crossings. Pillow draws (see `bot.study.map_draw`); it is pure
CPU work, run in a worker thread by the progress service, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx

from bot.knowledge import DISCIPLINES, Corpus
from bot.knowledge.notes import DISCIPLINE_LABELS
from bot.study.map_draw import (
    LABEL_PX,
    MUTED,
    SMALL_PX,
    Canvas,
    Label,
    font,
    header_height,
    text_height,
    wrap,
)

MINE, ALL = "mine", "all"
MARGIN = 36
BOX_W = 300  # a note's box; its title wraps inside
PAD = 10
GAP_X = 70
GAP_Y = 16
LAYER_GAP = 56  # between layers of a top-to-bottom map: room for the arrows
PER_ROW = 8  # boxes in a row of a top-to-bottom map before the layer wraps
MIN_WIDTH = 1400
RECENT = 24  # studied notes shown in a neighbourhood, most recent first
NEXT = 6


@dataclass(frozen=True)
class MapImage:
    """A rendered map: the PNG, its size, and every label as drawn (for the readability checks)."""

    png: bytes
    size: tuple[int, int]
    labels: tuple[Label, ...]
    title: str


def map_nodes(corpus: Corpus, discipline: str | None) -> tuple[set[str], set[str]]:
    """(notes of the discipline or all notes, prerequisites from elsewhere that lead into them)."""
    if discipline is None:
        return set(corpus.notes), set()
    inside = {n.id for n in corpus.notes.values() if n.discipline == discipline}
    outside = {p for nid in inside for p in corpus.graph.prerequisites_of(nid)} - inside
    return inside, outside


def neighbourhood(corpus: Corpus, mastered: Iterable[str], recent: Sequence[str],
                  suggestions: Sequence[str]) -> tuple[list[str], list[str]]:
    """(studied or mastered notes to show, most recent first; next notes): a learner's own map."""
    mastered = [n for n in mastered if n in corpus.notes]
    seen = list(dict.fromkeys([n for n in recent if n in corpus.notes] + sorted(mastered)))[:RECENT]
    nxt = [n for n in suggestions if n in corpus.notes and n not in seen][:NEXT]
    return seen, nxt


def layers(graph: nx.DiGraph) -> dict[str, int]:
    """Column of each node: one right of its deepest prerequisite; a source just left of its first dependant."""
    column: dict[str, int] = {}
    for n in nx.topological_sort(graph):
        column[n] = max((column[p] + 1 for p in graph.predecessors(n)), default=0)
    for n in graph:
        if graph.in_degree(n) == 0 and graph.out_degree(n):
            column[n] = max(0, min(column[s] for s in graph.successors(n)) - 1)
    return column


def ordered_columns(graph: nx.DiGraph, column: dict[str, int]) -> list[list[str]]:
    """Nodes per column, ordered by barycentre sweeps (two down, two up) to cut edge crossings."""
    cols = [sorted(n for n in graph if column[n] == c) for c in range(max(column.values(), default=-1) + 1)]
    cols = [c for c in cols if c]
    rank = {n: i for col in cols for i, n in enumerate(col)}

    def sweep(order: list[list[str]], neighbours) -> None:
        for col in order:
            def key(n: str) -> tuple[float, str]:
                near = [rank[m] for m in neighbours(n) if m in rank]
                return (sum(near) / len(near) if near else rank[n], n)
            col.sort(key=key)
            for i, n in enumerate(col):
                rank[n] = i

    for _ in range(2):
        sweep(cols[1:], graph.predecessors)
        sweep(cols[-2::-1], graph.successors)
    return cols


Rect = tuple[int, int, int, int]


def across(cols: list[list[str]], height: dict[str, int]) -> tuple[dict[str, Rect], int, int]:
    """Columns left to right, each centred vertically; returns the boxes and the body's width and height."""
    col_h = [sum(height[n] for n in col) + GAP_Y * (len(col) - 1) for col in cols]
    body_h = max(col_h, default=0)
    rect = {}
    for c, col in enumerate(cols):
        x, y = c * (BOX_W + GAP_X), (body_h - col_h[c]) // 2
        for n in col:
            rect[n] = (x, y, x + BOX_W, y + height[n])
            y += height[n] + GAP_Y
    return rect, len(cols) * BOX_W + max(len(cols) - 1, 0) * GAP_X, body_h


def down(cols: list[list[str]], height: dict[str, int]) -> tuple[dict[str, Rect], int, int]:
    """Layers top to bottom, each a centred row (wrapped after PER_ROW boxes); boxes and body size."""
    rows = [layer[i:i + PER_ROW] for layer in cols for i in range(0, len(layer), PER_ROW)]
    starts = {id(layer[0]) for layer in cols}  # sub-rows of one layer sit closer together than layers
    body_w = max(len(r) for r in rows) * (BOX_W + GAP_Y) - GAP_Y if rows else 0
    rect, y = {}, 0
    for i, row in enumerate(rows):
        if i and id(row[0]) in starts:
            y += LAYER_GAP - GAP_Y
        x = (body_w - (len(row) * (BOX_W + GAP_Y) - GAP_Y)) // 2
        for n in row:
            rect[n] = (x, y, x + BOX_W, y + height[n])
            x += BOX_W + GAP_Y
        y += max(height[n] for n in row) + GAP_Y
    return rect, body_w, y - GAP_Y


def render_topics(corpus: Corpus, nodes: Iterable[str], states: dict[str, str], title: str, subtitle: str,
                  legend: list[str]) -> MapImage:
    """Notes as boxes with their whole titles, in prerequisite layers, arrows from prerequisite to next.

    Layers run left to right or top to bottom, whichever gives the image closer to a 16:10 screen (long
    chains read better downwards, wide layers across).
    """
    graph = corpus.graph.nx.subgraph(set(nodes)).copy()
    face, italic = font(LABEL_PX), font(LABEL_PX, italic=True)
    lines = {n: wrap(corpus.notes[n].title, italic if states[n] == "outside" else face, BOX_W - 2 * PAD)
             for n in graph}
    height = {n: text_height(lines[n], LABEL_PX) + 2 * PAD for n in graph}
    cols = ordered_columns(graph, layers(graph)) if len(graph) else []
    layouts = [(*across(cols, height), False), (*down(cols, height), True)]
    rect, body_w, body_h, vertical = min(layouts, key=lambda lay: max(lay[1] / 1.6, lay[2]))
    width = max(MIN_WIDTH, 2 * MARGIN + body_w)
    head = header_height(subtitle, width, MARGIN)
    canvas = Canvas(width, MARGIN + head + max(body_h, 120) + MARGIN)
    canvas.header(title, subtitle, legend, MARGIN)
    if not cols:
        canvas.text((MARGIN, MARGIN + head + 30), ["No topics to show yet."], font(SMALL_PX), fill=MUTED)
        return MapImage(canvas.png(), canvas.size, (), title)
    dx, dy = (width - body_w) // 2, MARGIN + head
    rect = {n: (x0 + dx, y0 + dy, x1 + dx, y1 + dy) for n, (x0, y0, x1, y1) in rect.items()}
    for u, v in graph.edges:
        (ux0, uy0, ux1, uy1), (vx0, vy0, vx1, vy1) = rect[u], rect[v]
        if vertical:
            canvas.arrow(((ux0 + ux1) / 2, uy1), ((vx0 + vx1) / 2, vy0 - 2))
        else:
            canvas.arrow((ux1, (uy0 + uy1) / 2), (vx0 - 2, (vy0 + vy1) / 2))
    labels = []
    for n, (x0, y0, x1, y1) in rect.items():
        canvas.node((x0, y0, x1, y1), states[n])
        outside = states[n] == "outside"
        canvas.text((x0 + PAD, y0 + PAD), lines[n], italic if outside else face, fill=MUTED if outside else "#111827")
        labels.append(Label(n, "\n".join(lines[n]), LABEL_PX, (x0, y0, x1, y1)))
    return MapImage(canvas.png(), canvas.size, tuple(labels), title)


def render_overview(corpus: Corpus, mastered: Iterable[str], studied: Iterable[str]) -> MapImage:
    """All topics as a layered overview by discipline: one row per discipline, foundations first.

    Rows follow the layers of the discipline graph (a discipline comes after every discipline whose notes it
    builds on); arcs on the right join a discipline to those that build on it, thicker for more prerequisite
    links. An arc diagram keeps every arrow visible where straight lines would run behind the boxes.
    """
    mastered, studied = set(mastered), set(studied)
    by = corpus.by_discipline()
    order = {d: i for i, d in enumerate(DISCIPLINES)}
    links = nx.DiGraph()
    links.add_nodes_from(by)
    for u, v in corpus.graph.nx.edges:
        a, b = corpus.notes[u].discipline, corpus.notes[v].discipline
        if a != b:
            links.add_edge(a, b, count=links.get_edge_data(a, b, {"count": 0})["count"] + 1)
    flow = nx.condensation(links)  # a cycle between disciplines (none today) would share a layer
    depth: dict[int, int] = {}
    for m in nx.topological_sort(flow):
        depth[m] = max((depth[p] + 1 for p in flow.predecessors(m)), default=0)
    layer = {d: depth[flow.graph["mapping"][d]] for d in by}
    rows = sorted(by, key=lambda d: (layer[d], order.get(d, len(order)), d))
    bold, face = font(LABEL_PX + 4, bold=True), font(SMALL_PX + 2)
    box_w, row_h, gap = 520, LABEL_PX + SMALL_PX + 2 + 3 * PAD + 34, 22
    arcs_w = 150 + 40 * max((abs(rows.index(a) - rows.index(b)) for a, b in links.edges), default=0)
    x0 = MARGIN + 110  # room for the layer numbers
    width = max(MIN_WIDTH, x0 + box_w + arcs_w + MARGIN)
    subtitle = ("Foundations first. Arcs: notes of one discipline are prerequisites of another's (thicker = more). "
                "/map with a discipline shows its topics.")
    head = header_height(subtitle, width, MARGIN)
    canvas = Canvas(width, MARGIN + head + len(rows) * (row_h + gap) + MARGIN)
    title = f"All topics by discipline: {len(mastered & set(corpus.notes))} of {len(corpus.notes)} mastered"
    canvas.header(title, subtitle, ["mastered", "studied", "new"], MARGIN)
    rect, labels = {}, []
    for i, d in enumerate(rows):
        y = MARGIN + head + i * (row_h + gap)
        rect[d] = (x0, y, x0 + box_w, y + row_h)
        if i == 0 or layer[rows[i - 1]] != layer[d]:
            canvas.text((MARGIN, y + PAD), [f"Step {layer[d] + 1}"], face, fill=MUTED)
    for a, b, data in sorted(links.edges(data=True), key=lambda e: -e[2]["count"]):
        (_, ay0, ax1, ay1), (_, by0, bx1, by1) = rect[a], rect[b]
        bulge = 60 + 40 * abs(rows.index(a) - rows.index(b))
        canvas.arc((ax1, (ay0 + ay1) / 2 - 12), (bx1 + 2, (by0 + by1) / 2 + 12), bulge,
                   width=min(10, 2 + data["count"] // 3))
    for d, (bx0, by0, bx1, by1) in rect.items():
        ids = {n.id for n in by[d]}
        done, started = len(ids & mastered), len(ids & studied - mastered)
        share = done / len(ids)
        canvas.node((bx0, by0, bx1, by1), "mastered" if share == 1 else "studied" if done or started else "new")
        name = DISCIPLINE_LABELS.get(d, d)
        stats = f"{done} of {len(ids)} mastered" + (f" · {started} started" if started else "")
        canvas.text((bx0 + PAD + 4, by0 + PAD), [name], bold)
        canvas.text((bx0 + PAD + 4, by0 + 2 * PAD + LABEL_PX + 4), [stats], face, fill=MUTED)
        bar = (bx0 + PAD + 4, by1 - PAD - 12, bx1 - PAD - 4, by1 - PAD)
        canvas.draw.rectangle(bar, fill="#e5e7eb")
        canvas.draw.rectangle((bar[0], bar[1], bar[0] + int((bar[2] - bar[0]) * share), bar[3]), fill="#2e9d4f")
        labels.append(Label(d, name, LABEL_PX + 4, (bx0, by0, bx1, by1)))
        labels.append(Label(f"{d}:stats", stats, SMALL_PX + 2, (bx0, by0, bx1, by1)))
    return MapImage(canvas.png(), canvas.size, tuple(labels), title)


def render_map(corpus: Corpus, mastered: Iterable[str] = (), studied: Iterable[str] = (), scope: str = MINE,
               recent: Sequence[str] = (), suggestions: Sequence[str] = ()) -> MapImage:
    """The learner's map: `scope` is MINE (their neighbourhood), ALL (the overview) or a discipline."""
    mastered, studied = set(mastered), set(studied)
    if scope == ALL:
        return render_overview(corpus, mastered, studied)

    def state(n: str) -> str:
        return "mastered" if n in mastered else "studied" if n in studied else "new"

    if scope == MINE:
        seen, nxt = neighbourhood(corpus, mastered, list(recent) or sorted(studied), suggestions)
        states = {n: state(n) for n in seen} | {n: "next" for n in nxt}
        if seen:
            title = (f"Your study map: {len(mastered & set(seen))} mastered, "
                     f"{len(set(seen) - mastered)} started, {len(nxt)} to study next")
            subtitle = "What you studied most recently and what comes next. Arrows: prerequisite → what builds on it."
        else:
            title = "Your study map: where to start"
            subtitle = "Nothing studied yet: these topics need no prerequisites. Try /topic, /ask or /quiz."
        return render_topics(corpus, states, states, title, subtitle, ["mastered", "studied", "next"])
    inside, outside = map_nodes(corpus, scope)
    states = {n: state(n) for n in inside} | {n: "outside" for n in outside}
    name = DISCIPLINE_LABELS.get(scope, scope)
    title = f"{name}: {len(mastered & inside)} of {len(inside)} mastered"
    subtitle = "Arrows: prerequisite → what builds on it. Dashed: prerequisites from other disciplines."
    return render_topics(corpus, states, states, title, subtitle, ["mastered", "studied", "new", "outside"])


__all__ = ["ALL", "MINE", "MapImage", "map_nodes", "neighbourhood", "render_map"]
