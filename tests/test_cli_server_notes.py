"""`studybot server-notes`: operators curate a server's notes from the host, through the curation service."""

from __future__ import annotations

import zipfile

from typer.testing import CliRunner

from bot.errors import NoteInvalid
from tests.notes_factory import note_text


def _cli(monkeypatch, small_settings, embedder):
    from bot import cli

    monkeypatch.setattr(cli, "_settings", lambda: small_settings)
    monkeypatch.setattr("bot.retrieval.answering.make_embedder", lambda settings: embedder)
    return cli.app


def test_add_list_export_remove_a_server_note(tmp_path, monkeypatch, small_settings, embedder):
    app = _cli(monkeypatch, small_settings, embedder)
    note = tmp_path / "zorblax.md"
    note.write_text(note_text("zorblax", title="The zorblax activation"), encoding="utf-8")
    runner = CliRunner()

    added = runner.invoke(app, ["server-notes", "add", "--guild", "42", str(note)])
    assert added.exit_code == 0, added.output
    assert "added 'zorblax'" in added.output
    listed = runner.invoke(app, ["server-notes", "list", "--guild", "42"])
    assert "zorblax: The zorblax activation" in listed.output
    other = runner.invoke(app, ["server-notes", "list", "--guild", "7"])
    assert "zorblax" not in other.output and "0 of" in other.output  # another server sees nothing of it

    archive = tmp_path / "notes.zip"
    exported = runner.invoke(app, ["server-notes", "export", "--guild", "42", "--out", str(archive)])
    assert exported.exit_code == 0, exported.output
    assert any(name.endswith("zorblax.md") for name in zipfile.ZipFile(archive).namelist())

    removed = runner.invoke(app, ["server-notes", "remove", "--guild", "42", "zorblax"])
    assert removed.exit_code == 0 and "removed 'zorblax'" in removed.output
    assert "zorblax" not in runner.invoke(app, ["server-notes", "list", "--guild", "42"]).output


def test_an_invalid_note_is_refused_with_its_line(tmp_path, monkeypatch, small_settings, embedder):
    app = _cli(monkeypatch, small_settings, embedder)
    bad = tmp_path / "broken.md"
    bad.write_text("---\nid: broken\n---\nno sections\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["server-notes", "add", "--guild", "42", str(bad)])
    # A studybot error: `studybot`'s entry point (bot.cli.main) prints it as a message, never a traceback.
    assert isinstance(result.exception, NoteInvalid)
    assert "broken.md:1: missing field 'aliases'" in str(result.exception)
    listed = CliRunner().invoke(app, ["server-notes", "list", "--guild", "42"])
    assert "0 of" in listed.output  # nothing was stored
