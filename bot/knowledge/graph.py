"""The prerequisite graph: edges run from a prerequisite to the note that needs it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
        """What to learn before `target`, in an order where each note comes after its prerequisites.

        Notes in `known` (and what only they lead to) are skipped. Ties are broken alphabetically so the
        order is stable.
        """
        known = set(known)
        needed = {n for n in self.ancestors(target) if n not in known} | {target}
        sub = self._g.subgraph(needed)
        return list(nx.lexicographical_topological_sort(sub))

    def cycles(self) -> list[list[str]]:
        """One cycle per strongly connected component that has one (empty for a DAG)."""
        found = []
        for comp in nx.strongly_connected_components(self._g):
            if len(comp) > 1:
                edges = nx.find_cycle(self._g.subgraph(comp))
                found.append([u for u, _ in edges])
        return sorted(found)

    def components(self) -> list[set[str]]:
        """Weakly connected components, largest first."""
        return sorted(nx.weakly_connected_components(self._g), key=lambda c: (-len(c), min(c)))

    def longest_chain(self) -> int:
        """Number of notes in the longest prerequisite chain."""
        return nx.dag_longest_path_length(self._g) + 1 if len(self._g) else 0
