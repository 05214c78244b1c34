"""Bounded inputs and truthful messages: size caps, invalid UTF-8 at its own line, deterministic cycles."""

from __future__ import annotations

import itertools
import random
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import CorpusInvalid
from bot.knowledge.corpus import check_corpus
from bot.knowledge.graph import PrerequisiteGraph
from tests.knowledge.test_validate import only_problem
from tests.notes_factory import write_note, write_small_corpus

KB = 1024


@pytest.fixture
def corpus(tmp_path) -> Path:
    return write_small_corpus(tmp_path / "corpus")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").split("\n"), 1)
                if needle in line)


def paragraphs(n: int, size: int) -> str:
    """n paragraphs of about `size` bytes each, blank lines between."""
    sentence = "The gradient points uphill, so we step the other way. "
    return "\n\n".join((sentence * (size // len(sentence) + 1))[:size].strip() for _ in range(n))


def test_a_note_over_the_size_cap_is_reported_at_its_first_line(corpus):
    extra = "".join(f"\n## More {i}\n\n{paragraphs(7, 1000)}\n" for i in range(10))  # ~70 KB, each part in bounds
    path = write_note(corpus, "huge", "calculus", prerequisites=["derivatives"])
    path.write_text(path.read_text() + extra)
    line, message = only_problem(corpus, path)
    assert line == 1 and message.startswith(f"note is {path.stat().st_size:,} bytes, over the limit of 65,536")


def test_a_section_over_its_cap_is_reported_at_its_heading(corpus):
    path = write_note(corpus, "long", "calculus", prerequisites=["derivatives"], example=paragraphs(6, 3 * KB))
    line, message = only_problem(corpus, path)
    assert line == line_of(path, "## Worked example")
    assert message.startswith("section '## Worked example' is") and "over the limit of 16,384" in message


def test_a_paragraph_over_its_cap_is_reported_at_its_first_line(corpus):
    example = "A first, short paragraph.\n\n" + paragraphs(1, 9 * KB) + "\n\nA last one."
    path = write_note(corpus, "wordy", "calculus", prerequisites=["derivatives"], example=example)
    line, message = only_problem(corpus, path)
    assert line == line_of(path, "The gradient points uphill")
    assert message.startswith("paragraph is 9,216 bytes, over the limit of 8,192")


def test_a_50_mb_note_is_refused_quickly_without_blaming_the_notes_that_need_it(corpus):
    path = corpus / "calculus" / "derivatives.md"  # three other notes list it as a prerequisite
    text = path.read_text()
    with path.open("w") as f:
        f.write(text + "\n" + "a" * (50 * KB * KB) + "\n")
    started = time.perf_counter()
    line, message = only_problem(corpus, path)
    assert time.perf_counter() - started < 5
    assert line == 1 and message.startswith(f"note is {path.stat().st_size:,} bytes, over the limit")


def test_limits_come_from_the_settings(corpus, monkeypatch):
    monkeypatch.setenv("STUDYBOT_MAX_PARAGRAPH_BYTES", "256")
    write_note(corpus, "wordy", "calculus", prerequisites=["derivatives"], example=paragraphs(1, 300))
    result = CliRunner().invoke(app, ["corpus", "check", str(corpus)])
    assert result.exit_code == 1
    assert "wordy.md:" in result.output and "over the limit of 256 (STUDYBOT_MAX_PARAGRAPH_BYTES)" in result.output


def test_the_answering_service_loads_the_corpus_with_the_settings_limits(small_settings, embedder):
    from bot.retrieval.answering import AnswerService

    settings = small_settings.model_copy(update={"max_section_bytes": 256, "max_paragraph_bytes": 256})
    write_note(settings.corpus_dir, "wordy", "calculus", prerequisites=["derivatives"], example=paragraphs(1, 300))
    with pytest.raises(CorpusInvalid, match="wordy.md:.*over the limit of 256"):
        AnswerService(settings, embedder=embedder).ensure_ready()


def test_invalid_utf8_is_reported_at_its_own_line_and_blames_no_other_note(corpus):
    path = corpus / "calculus" / "derivatives.md"  # chain-rule, gradient-descent and bayes-theorem need it
    text = path.read_text().replace("the slope of its graph", "the slope of its gr\udcffaph", 1)
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    line, message = only_problem(corpus, path)
    assert line == line_of(path, "the slope of its gr") and line > 1
    assert message.startswith("not valid UTF-8 text (invalid start byte: byte 0xff at column")


def test_invalid_utf8_in_the_id_line_still_blames_no_other_note(corpus):
    path = corpus / "calculus" / "derivatives.md"
    path.write_bytes(path.read_bytes().replace(b"id: derivatives", b"id: deriv\xc3atives", 1))
    problems = check_corpus(corpus).problems
    assert [(Path(p.path).name, p.line) for p in problems] == [("derivatives.md", 2)]
    assert "not valid UTF-8" in problems[0].message


def test_every_invalid_line_is_reported_and_other_problems_too(corpus):
    path = corpus / "calculus" / "derivatives.md"
    data = path.read_bytes().replace(b"level: intro", b"level: expert").split(b"\n")
    data[12] += b"\xfe"
    data[16] += b"\xc3"
    path.write_bytes(b"\n".join(data))
    got = [(p.line, p.message.split(" (")[0]) for p in check_corpus(corpus).problems]
    assert got == [(7, "unknown level 'expert'"), (13, "not valid UTF-8 text"), (17, "not valid UTF-8 text")]


CYCLE = ("prerequisite cycle: backpropagation → chain-rule → derivatives → backpropagation "
         "(each note lists the next as a prerequisite)")


@pytest.mark.parametrize("order", ["chain-rule, gradient-descent", "gradient-descent, chain-rule"])
def test_the_cycle_report_is_the_same_whatever_the_order(corpus, order):
    derivatives = corpus / "calculus" / "derivatives.md"
    derivatives.write_text(derivatives.read_text().replace("prerequisites: []", "prerequisites: [backpropagation]"))
    backprop = corpus / "deep_learning" / "backpropagation.md"
    backprop.write_text(backprop.read_text().replace("prerequisites: [chain-rule, gradient-descent]",
                                                     f"prerequisites: [{order}]"))
    problems = [p for p in check_corpus(corpus).problems if "cycle" in p.message]
    assert [(Path(p.path).name, p.line, p.message) for p in problems] == [("backpropagation.md", 6, CYCLE)]


def test_graph_cycles_do_not_depend_on_insertion_order():
    edges = {"a": ["c", "b"], "b": ["d"], "c": ["d"], "d": ["a", "e"], "e": ["f"], "f": ["e"], "g": []}
    expected = [["a", "b", "d"], ["e", "f"]]
    rng = random.Random(17)
    for _ in range(20):
        notes = list(edges)
        rng.shuffle(notes)
        graph = PrerequisiteGraph({n: rng.sample(edges[n], len(edges[n])) for n in notes})
        assert graph.cycles() == expected


def test_problem_lines_are_never_wrapped(tmp_path, monkeypatch, capsys):
    from bot import cli
    from bot.config import Settings

    deep = tmp_path.joinpath(*itertools.repeat("a-rather-long-folder-name", 4)) / "corpus"
    write_small_corpus(deep)
    write_note(deep, "ghost-user", "calculus", prerequisites=["a-prerequisite-that-does-not-exist-anywhere"])
    problem = str(check_corpus(deep).problems[0])
    assert len(problem) > 200
    monkeypatch.setattr(cli, "_settings", lambda: Settings(corpus_dir=deep, index_dir=tmp_path / "index",
                                                           _env_file=None))
    monkeypatch.setattr(sys, "argv", ["studybot", "index", "build"])
    with pytest.raises(SystemExit):
        cli.main()
    assert problem in capsys.readouterr().err.splitlines()
