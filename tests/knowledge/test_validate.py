"""The validator reports every kind of problem as path:line: message, and never raises on bad content."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import CorpusInvalid
from bot.knowledge.corpus import check_corpus, load_corpus
from tests.notes_factory import QUIZ, note_text, write_note, write_small_corpus


def problems_for(root: Path) -> list[str]:
    return [str(p) for p in check_corpus(root).problems]


def only_problem(root: Path, path: Path) -> tuple[int, str]:
    """The single problem reported, as (line, message); fails if there are others."""
    problems = check_corpus(root).problems
    assert len(problems) == 1, problems
    assert Path(problems[0].path).resolve() == path.resolve()
    return problems[0].line, problems[0].message


@pytest.fixture
def corpus(tmp_path) -> Path:
    return write_small_corpus(tmp_path / "corpus")


def test_valid_corpus_has_no_problems(corpus):
    report = check_corpus(corpus)
    assert report.ok and report.problems == []
    assert set(report.notes) == {"derivatives", "chain-rule", "gradient-descent", "backpropagation", "bayes-theorem"}
    assert len(report.notes["chain-rule"].quiz) == 2
    assert report.notes["chain-rule"].quiz[0].answer == 1


def test_bad_yaml_reports_its_line(corpus):
    path = corpus / "calculus" / "chain-rule.md"
    text = path.read_text().replace('aliases: ["derivative of a composition"]', 'aliases: [unclosed, "list"')
    path.write_text(text)
    line, message = only_problem(corpus, path)
    assert "bad YAML" in message
    assert 2 <= line <= 9


def test_missing_front_matter(corpus):
    path = corpus / "calculus" / "derivatives.md"
    path.write_text("## Intuition\n\nNo front matter here.\n")
    problems = problems_for(corpus)
    assert any(p.startswith(f"{path}:1: missing YAML front matter") or "derivatives.md:1: missing YAML" in p for p in problems)


def test_missing_field(corpus):
    path = corpus / "calculus" / "gradient-descent.md"
    path.write_text(re.sub(r"^summary:.*\n", "", path.read_text(), flags=re.M))
    line, message = only_problem(corpus, path)
    assert message == "missing field 'summary'"


def test_unknown_discipline_names_the_allowed_ones(corpus):
    path = write_note(corpus, "alchemy", "calculus", prerequisites=["derivatives"])
    path.write_text(path.read_text().replace("discipline: calculus", "discipline: alchemy"))
    problems = problems_for(corpus)
    assert any("alchemy.md:4: unknown discipline 'alchemy'" in p and "statistics" in p for p in problems)


def test_duplicate_id(corpus):
    dup = corpus / "deep_learning" / "derivatives.md"
    dup.write_text(note_text("derivatives", "deep_learning"))
    problems = problems_for(corpus)
    assert any("deep_learning/derivatives.md:2: duplicate id 'derivatives'" in p for p in problems)


def test_id_must_match_file_name(corpus):
    path = corpus / "calculus" / "renamed.md"
    path.write_text(note_text("not-the-file-name", "calculus"))
    assert any("renamed.md:2: id 'not-the-file-name' does not match file name" in p for p in problems_for(corpus))


def test_unknown_prerequisite(corpus):
    path = write_note(corpus, "jacobian", "calculus", prerequisites=["derivatives", "no-such-note"])
    line, message = only_problem(corpus, path)
    assert (line, message) == (6, "unknown prerequisite 'no-such-note'")


def test_prerequisite_cycle(corpus):
    path = corpus / "calculus" / "derivatives.md"
    path.write_text(path.read_text().replace("prerequisites: []", "prerequisites: [backpropagation]"))
    problems = [p for p in problems_for(corpus) if "prerequisite cycle" in p]
    assert len(problems) == 1
    assert "backpropagation" in problems[0] and "derivatives" in problems[0]


def test_empty_section(corpus):
    path = corpus / "calculus" / "derivatives.md"
    path.write_text(path.read_text().replace("For f(x) = x^2 the derivative is 2x, so at x = 3 the slope is 6.", "   "))
    line, message = only_problem(corpus, path)
    assert message == "empty section '## Worked example'"
    assert path.read_text().split("\n")[line - 1] == "## Worked example"


def test_missing_section(corpus):
    path = corpus / "calculus" / "derivatives.md"
    path.write_text(path.read_text().replace("## Why it matters for deep learning", "## Why bother"))
    problems = problems_for(corpus)
    assert any("missing section '## Why it matters for deep learning'" in p for p in problems)


def test_key_idea_is_accepted_instead_of_key_formula(corpus):
    path = corpus / "calculus" / "derivatives.md"
    path.write_text(path.read_text().replace("## Key formula", "## Key idea"))
    assert problems_for(corpus) == []


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda q: q.replace("   - [ ] a last wrong one\n", "", 1), "question 1 has 3 options, expected 4"),
        (lambda q: q.replace("- [ ] wrong one", "- [x] wrong one", 1), "question 1 has 2 ticked answers"),
        (lambda q: q.replace("- [x] right one", "- [ ] right one", 1), "question 1 has 0 ticked answers"),
        (lambda q: q.replace("   Why: the first option answers it.\n", "", 1), "question 2 has no 'Why:' line"),
        (lambda q: q.split("2. And")[0], "1 question(s), at least 2 required"),
    ],
    ids=["three-options", "two-answers", "no-answer", "no-why", "one-question"],
)
def test_malformed_quiz(tmp_path, mutate, expected):
    root = tmp_path / "corpus"
    path = write_note(root, "solo", "calculus", quiz=mutate(QUIZ))
    line, message = only_problem(root, path)
    assert message.startswith("malformed quiz") and expected in message
    assert line > 10


def test_every_problem_is_reported_at_once(corpus):
    (corpus / "calculus" / "derivatives.md").write_text(note_text("derivatives", "calculus", level="expert"))
    write_note(corpus, "other", "calculus", prerequisites=["ghost"])
    problems = problems_for(corpus)
    assert any("unknown level 'expert'" in p for p in problems)
    assert any("unknown prerequisite 'ghost'" in p for p in problems)


def test_load_corpus_raises_a_domain_error_listing_problems(corpus):
    write_note(corpus, "other", "calculus", prerequisites=["ghost"])
    with pytest.raises(CorpusInvalid) as info:
        load_corpus(corpus)
    assert "unknown prerequisite 'ghost'" in str(info.value)


def test_binary_file_is_a_problem_not_a_crash(corpus):
    (corpus / "calculus" / "garbage.md").write_bytes(b"\xff\xfe\x00binary")
    assert any("garbage.md:1: not valid UTF-8" in p for p in problems_for(corpus))


def test_cli_check_prints_path_line_and_exits_nonzero(corpus):
    write_note(corpus, "other", "calculus", prerequisites=["ghost"])
    result = CliRunner().invoke(app, ["corpus", "check", str(corpus)])
    assert result.exit_code == 1
    assert re.search(r"other\.md:6: unknown prerequisite 'ghost'", result.output)
    assert "Traceback" not in result.output


def test_cli_check_passes_on_a_good_corpus(corpus):
    result = CliRunner().invoke(app, ["corpus", "check", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "ok: 5 notes" in result.output


def test_cli_check_of_one_discipline_folder_resolves_other_disciplines(corpus):
    result = CliRunner().invoke(app, ["corpus", "check", str(corpus / "deep_learning")])
    assert result.exit_code == 0, result.output


def test_cli_check_missing_path_is_a_clear_error(tmp_path):
    from bot.cli import main  # the console-script entry point turns domain errors into one line

    import sys
    argv, sys.argv = sys.argv, ["studybot", "corpus", "check", str(tmp_path / "nope")]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = argv
    assert exit_info.value.code == 1
