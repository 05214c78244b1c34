"""The prerequisite graph: edges run from a prerequisite to the note that needs it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import networkx as nx


class PrerequisiteGraph:
    """A DAG over note ids. "Next topics" are computed here, never written by hand."""

    def __init__(self, prerequisites: Mapping[str, Iterable[str]]):
        g = nx.DiGraph()
        g.add_nodes_from(prerequisites)
        for note_id, prereqs in prerequisites.items():
            for p in prereqs:
                g.add_edge(p, note_id)
        self._g = g

    def __contains__(self, note_id: str) -> bool:
        return note_id in self._g

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    @property
    def nx(self) -> nx.DiGraph:
        """The underlying networkx graph (read it, do not mutate it)."""
        return self._g

    def prerequisites_of(self, note_id: str) -> list[str]:
        """Direct prerequisites, sorted."""
        return sorted(self._g.predecessors(note_id))

    def next_topics(self, note_id: str) -> list[str]:
        """Notes that list this one as a prerequisite, sorted."""
        return sorted(self._g.successors(note_id))

    def ancestors(self, note_id: str) -> set[str]:
        """Every note that must come before this one (transitively)."""
        return nx.ancestors(self._g, note_id)

    def path_to(self, target: str, known: Iterable[str] = ()) -> list[str]:
        """What to learn before `target`, then `target`, in an order where each note comes after its prerequisites.

        Notes in `known` (and what only they lead to) are skipped. Ties are broken alphabetically so the
        order is stable.
        """
        return self.in_order(self.needed_for(target, known) | {target})

    def needed_for(self, target: str, known: Iterable[str] = ()) -> set[str]:
        """The prerequisites of `target` still to learn: its ancestors reached through notes not in `known`.

        A known note stands for its own foundations: its prerequisites are needed only when another unknown
        note needs them too.
        """
        known = set(known)
        needed: set[str] = set()
        frontier = [p for p in self._g.predecessors(target) if p not in known]
        while frontier:
            n = frontier.pop()
            if n not in needed:
                needed.add(n)
                frontier.extend(p for p in self._g.predecessors(n) if p not in known)
        return needed

    def in_order(self, notes: Iterable[str], key: Callable[[str], Any] | None = None) -> list[str]:
        """`notes` in an order where each comes after its prerequisites among them.

        Of the notes ready at each step, the smallest `key(note)` comes first (default: alphabetical).
        """
        return list(nx.lexicographical_topological_sort(self._g.subgraph(set(notes)), key=key))

    def critical_chain(self, target: str, among: Iterable[str],
                       prefer: Callable[[str, str], bool] | None = None) -> list[str]:
        """The longest chain of prerequisites within `among` that ends at `target`, first note first.

        Each note of the chain is a direct prerequisite of the next. Among equally long chains, a step goes to
        the prerequisite for which `prefer(prerequisite, note)` is true (e.g. the same discipline), then to the
        alphabetically first, so the chain is stable.
        """
        allowed = set(among) | {target}
        sub = self._g.subgraph(allowed)
        length: dict[str, int] = {}
        best: dict[str, str | None] = {}
        for n in nx.lexicographical_topological_sort(sub):
            options = sorted(sub.predecessors(n), key=lambda p: (-length[p], not (prefer and prefer(p, n)), p))
            best[n] = options[0] if options else None
            length[n] = length[options[0]] + 1 if options else 1
        chain, node = [], target
        while node is not None:
            chain.append(node)
            node = best[node]
        return chain[::-1]

    def cycles(self) -> list[list[str]]:
        """One cycle per strongly connected component that has one (empty for a DAG), the same every time.

        Each is the shortest cycle through the component's smallest id, following prerequisites (ties broken
        alphabetically) and starting at that id, whatever the order the notes were read in.
        """
        found = []
        for comp in nx.strongly_connected_components(self._g):
            if len(comp) > 1:
                found.append(self._shortest_cycle_through(min(comp), comp))
        return sorted(found)

    def _shortest_cycle_through(self, start: str, comp: set[str]) -> list[str]:
        came_from: dict[str, str] = {}
        frontier = [start]
        while frontier:
            following = []
            for node in frontier:
                for nxt in sorted(self._g.predecessors(node)):  # node's prerequisites
                    if nxt not in comp:
                        continue
                    if nxt == start:
                        cycle = [node]
                        while cycle[-1] != start:
                            cycle.append(came_from[cycle[-1]])
                        return cycle[::-1]
                    if nxt not in came_from:
                        came_from[nxt] = node
                        following.append(nxt)
            frontier = following
        raise ValueError(f"no cycle through {start}")  # pragma: no cover - a component of size > 1 has one

    def components(self) -> list[set[str]]:
        """Weakly connected components, largest first."""
        return sorted(nx.weakly_connected_components(self._g), key=lambda c: (-len(c), min(c)))

    def longest_chain(self) -> int:
        """Number of notes in the longest prerequisite chain."""
        return nx.dag_longest_path_length(self._g) + 1 if len(self._g) else 0
