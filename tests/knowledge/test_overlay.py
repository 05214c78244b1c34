"""A server's view of the notes (base + own - hidden) and the validation of a server note, without a model."""

from __future__ import annotations

import pytest

from bot.knowledge.corpus import load_corpus
from bot.knowledge.overlay import ServerNotes, check_server_note, merge
from tests.notes_factory import note_text

A, B = 1, 2


@pytest.fixture
def base(small_corpus):
    return load_corpus(small_corpus)


def own(base, guild: int, *texts: str, hidden: frozenset[str] = frozenset()) -> ServerNotes:
    server = ServerNotes(guild, {}, hidden)
    for text in texts:
        note, problems = check_server_note(base, server, text, "upload.md")
        assert note is not None, problems
        server = server.with_note(note)
    return server


def test_view_is_base_plus_own_notes_minus_hidden(base):
    server = own(base, A, note_text("sigmoid", prerequisites=["derivatives"]), hidden=frozenset({"bayes-theorem"}))
    view = merge(base, server)
    assert "sigmoid" in view.notes and "bayes-theorem" not in view.notes
    assert set(view.notes) == (set(base.notes) - {"bayes-theorem"}) | {"sigmoid"}
    assert view.graph.prerequisites_of("sigmoid") == ["derivatives"]
    assert view.notes["sigmoid"].path == "server notes/calculus/sigmoid.md"
    assert merge(base, None) is base and "sigmoid" not in base.notes  # the base itself is never changed


def test_an_own_note_overrides_the_base_note_with_its_id(base):
    server = own(base, A, note_text("chain-rule", title="Our chain rule", prerequisites=["derivatives"]))
    assert merge(base, server).notes["chain-rule"].title == "Our chain rule"
    assert base.notes["chain-rule"].title == "The chain rule"
    assert server.excluded_base() == {"chain-rule"}


def test_prerequisites_may_name_base_notes_or_the_servers_own(base):
    server = own(base, A, note_text("sigmoid", prerequisites=["derivatives"]))
    note, problems = check_server_note(base, server, note_text("logistic-regression",
                                                               prerequisites=["sigmoid", "gradient-descent"]), "x.md")
    assert note is not None and problems == []
    _, problems = check_server_note(base, ServerNotes(B), note_text("logistic-regression", prerequisites=["sigmoid"]),
                                    "x.md")
    assert [p.message for p in problems] == ["unknown prerequisite 'sigmoid' (not a base note or one of this "
                                             "server's notes)"]


def test_a_hidden_note_cannot_be_a_prerequisite(base):
    server = ServerNotes(A, {}, frozenset({"derivatives"}))
    _, problems = check_server_note(base, server, note_text("sigmoid", prerequisites=["derivatives"]), "s.md")
    assert [p.message for p in problems] == ["prerequisite 'derivatives' is hidden in this server"]
    view = merge(base, server)
    assert view.graph.prerequisites_of("chain-rule") == []  # base notes simply lose the hidden edge


def test_cycles_are_checked_in_the_merged_graph(base):
    # derivatives is a prerequisite of chain-rule in the base; making chain-rule a prerequisite of derivatives
    # closes a cycle that neither layer has alone.
    _, problems = check_server_note(base, ServerNotes(A), note_text("derivatives", prerequisites=["chain-rule"]),
                                    "derivatives.md")
    assert any("prerequisite cycle" in p.message for p in problems)


def test_the_validator_reports_format_problems_with_lines(base):
    _, problems = check_server_note(base, ServerNotes(A), "no front matter here", "bad.md")
    assert problems and all(str(p).startswith("bad.md:") for p in problems)
