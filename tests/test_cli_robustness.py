"""The CLI on real-world input: `ask --json -` answers every stdin line, `run` explains an unusable data folder."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bot.errors import StorageUnavailable
from bot.knowledge.corpus import load_corpus
from bot.retrieval.index import IndexStore
from tests.conftest import REPO


def cli_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_") and k != "DISCORD_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env["HF_HUB_OFFLINE"] = "1"
    return {**env, **{f"STUDYBOT_{k.upper()}": v for k, v in settings.items()}}


@pytest.mark.model
def test_ask_json_stdin_gives_one_line_per_input_line_in_order(small_settings, onnx_embedder):
    # The default (ONNX) path, with the session's artifact in the index folder, as after `studybot index build`.
    index_dir = small_settings.index_dir
    shutil.copytree(onnx_embedder.dir, index_dir / "onnx" / onnx_embedder.dir.name)
    IndexStore(index_dir).build(load_corpus(small_settings.corpus_dir), onnx_embedder)
    lines = [b"what does the chain rule say?", b"", b"   ", "caf\u00e9 au lait?".encode("latin-1"),
             b"x" * (70 * 1024), b"how do I grill a steak?", "caf\u00e9 and gradient descent?".encode(),
             b"what is gradient descent?"]  # the last line has no newline
    env = cli_env(corpus_dir=str(small_settings.corpus_dir), index_dir=str(small_settings.index_dir))
    env.update(LC_ALL="C", LANG="C", PYTHONIOENCODING="ascii:strict")  # a locale that would choke on bytes
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json", "-"], input=b"\n".join(lines),
                          env=env, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert len(rows) == len(lines)
    assert [r["answered"] for r in rows] == [True, False, False, False, False, False, True, True]
    assert ["error" in r for r in rows] == [False, True, True, True, True, False, False, False]
    assert rows[0]["results"][0]["id"] == "chain-rule" and rows[7]["results"][0]["id"] == "gradient-descent"
    assert rows[3]["error"].startswith("line 4 is not valid UTF-8") and rows[3]["question"] == "caf\ufffd au lait?"
    assert rows[4]["error"].startswith("line 5 is longer than 65,536 bytes") and len(rows[4]["question"]) <= 200
    assert rows[6]["question"] == "caf\u00e9 and gradient descent?"  # UTF-8 out, whatever the locale
    assert "Traceback" not in proc.stderr.decode()


@pytest.mark.model
def test_an_unexpected_exception_costs_only_its_own_line(small_settings, embedder, monkeypatch):
    from bot import cli
    from bot.retrieval.answering import AnswerService

    monkeypatch.setattr(cli, "_settings", lambda: small_settings)
    monkeypatch.setattr("bot.retrieval.answering.make_embedder", lambda settings: embedder)
    real = AnswerService.answer_many

    def fragile(self, questions, *args, **kwargs):
        if any("boom" in q for q in questions):
            raise TypeError("the tokenizer choked")  # not a studybot error
        return real(self, questions, *args, **kwargs)

    monkeypatch.setattr(AnswerService, "answer_many", fragile)
    questions = [f"what does the chain rule say? ({i})" for i in range(70)]
    questions[3] = "boom: what is the chain rule?"
    result = CliRunner().invoke(cli.app, ["ask", "--json", "-"], input="\n".join(questions).encode() + b"\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    assert rows[3]["error"] == "internal error (TypeError: the tokenizer choked)"
    assert all(r["answered"] for i, r in enumerate(rows) if i != 3)  # in both batches of 64 and 6


def test_text_mode_stdin_reports_a_bad_line_and_answers_the_rest(small_settings, embedder, monkeypatch):
    from bot import cli

    monkeypatch.setattr(cli, "_settings", lambda: small_settings)
    monkeypatch.setattr("bot.retrieval.answering.make_embedder", lambda settings: embedder)
    result = CliRunner().invoke(cli.app, ["ask", "-"], input=b"\xff\xfe\n\nwhat does the chain rule say?\n")
    assert result.exit_code == 1
    assert "line 1 is not valid UTF-8" in result.stderr and "The chain rule" in result.stdout


def without_root_overrides() -> None:
    """In the child, before exec: root loses the capabilities that ignore permission bits (when it has them)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_run_on_a_read_only_data_dir_says_so_in_one_line(tmp_path, small_corpus):
    data = tmp_path / "read-only-data"
    data.mkdir()
    data.chmod(0o555)
    env = cli_env(corpus_dir=str(small_corpus), index_dir=str(tmp_path / "index"), data_dir=str(data))
    env["DISCORD_TOKEN"] = "not-a-real-token"
    try:
        proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, capture_output=True, text=True,
                              timeout=120, preexec_fn=without_root_overrides)
    finally:
        data.chmod(0o755)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: Cannot use the database '{data / 'studybot.sqlite3'}': unable to open")
    assert "writable" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "index").exists()  # it failed before any index work


@pytest.mark.parametrize("failure", ["disk full", "a folder where the file should be"])
async def test_an_unusable_database_is_one_clear_error_naming_the_file(tmp_path, monkeypatch, failure):
    from bot.study.service import StudyService

    path = tmp_path / "studybot.sqlite3"
    if failure == "disk full":
        async def full(*args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr("bot.study.storage.sqlite.aiosqlite.connect", full)
    else:
        path.mkdir()
    with pytest.raises(StorageUnavailable) as info:
        await StudyService.open(path, lambda: None)
    message = str(info.value)
    assert f"Cannot use the database '{path}'" in message and "\n" not in message
    if failure == "disk full":
        assert "database or disk is full" in message
