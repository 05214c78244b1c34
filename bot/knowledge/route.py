"""Learning routes to a target note: what to study first, in order, skipping what the learner has mastered.

Two routes, both ending with the target and both ordered so that each note comes after its prerequisites:

* **full**: every prerequisite the learner still needs: the target's ancestors reached through notes they
  have not mastered. A mastered note stands for its own foundations, so prerequisites needed only through
  mastered notes are skipped too (and counted, so the learner is told).
* **short** (the default): the essential route. Of the full route, the longest chain of prerequisites that
  ends at the target, each note a direct prerequisite of the next (the critical path: these steps must come
  one after another however the rest is scheduled), plus the target's own direct prerequisites that are not
  on that chain. Among equally long chains a step prefers a prerequisite of the same discipline, then the
  alphabetically first, so the route is stable.

For transformers on the shipped corpus the full route has 87 steps and the short route 20: linear algebra up
to least squares, then linear and logistic regression, softmax and attention, plus batch normalization,
embeddings and residual connections.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.knowledge.corpus import Corpus
from bot.knowledge.notes import DISCIPLINES, LEVELS


@dataclass(frozen=True)
class Route:
    """The notes to study, in order, to reach `target`."""

    target: str
    steps: tuple[str, ...]  # learning order, the target last
    full: bool
    needed: int  # prerequisites still to learn (the full route without the target)
    mastered_skipped: int  # prerequisites left out because the learner has mastered them
    covered_skipped: int  # prerequisites left out because only mastered notes need them
    by_discipline: tuple[tuple[str, int], ...]  # steps before the target per discipline, most first

    @property
    def skipped(self) -> int:
        return self.mastered_skipped + self.covered_skipped


def plan_route(corpus: Corpus, target: str, mastered: Iterable[str] = (), full: bool = False) -> Route:
    """The short (default) or full route to `target` for a learner who has mastered `mastered`."""
    graph, notes = corpus.graph, corpus.notes
    known = frozenset(mastered)
    ancestors = graph.ancestors(target)
    needed = graph.needed_for(target, known)
    if full:
        steps = tuple(_grouped_order(corpus, needed | {target}))
    else:
        same_discipline = lambda p, n: notes[p].discipline == notes[n].discipline  # noqa: E731
        chain = graph.critical_chain(target, needed, prefer=same_discipline)
        chosen = set(chain[:-1]) | (set(graph.prerequisites_of(target)) & needed)
        position = {n: i for i, n in enumerate(chain)}
        # The chain first; the target's other prerequisites as late as their own order allows.
        steps = tuple(graph.in_order(chosen | {target}, key=lambda n: (position.get(n, len(chain) - 1), n)))
    order = {d: i for i, d in enumerate(DISCIPLINES)}
    counts = Counter(notes[n].discipline for n in steps[:-1])
    by_discipline = tuple(sorted(counts.items(), key=lambda dc: (-dc[1], order.get(dc[0], len(order)), dc[0])))
    mastered_skipped = len(ancestors & known)
    return Route(target=target, steps=steps, full=full, needed=len(needed), mastered_skipped=mastered_skipped,
                 covered_skipped=len(ancestors) - len(needed) - mastered_skipped, by_discipline=by_discipline)


def _grouped_order(corpus: Corpus, chosen: set[str]) -> list[str]:
    """`chosen` with every note after its prerequisites, staying in one discipline as long as the order allows.

    Of the notes whose prerequisites are done, the next is one of the discipline just studied if any, else
    of the earliest discipline in the syllabus; easiest level first, then by title.
    """
    notes, graph = corpus.notes, corpus.graph
    order = {d: i for i, d in enumerate(DISCIPLINES)}
    levels = {lvl: i for i, lvl in enumerate(LEVELS)}
    waiting = {n: sum(p in chosen for p in graph.prerequisites_of(n)) for n in chosen}
    ready = {n for n, count in waiting.items() if count == 0}
    out: list[str] = []
    while ready:
        last = notes[out[-1]].discipline if out else None
        n = min(ready, key=lambda m: (notes[m].discipline != last, order.get(notes[m].discipline, len(order)),
                                      levels.get(notes[m].level, len(levels)), notes[m].title, m))
        ready.remove(n)
        out.append(n)
        for nxt in graph.next_topics(n):
            if nxt in waiting:
                waiting[nxt] -= 1
                if waiting[nxt] == 0:
                    ready.add(nxt)
    return out
