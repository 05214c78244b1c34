"""Settings come from the environment and .env; missing secrets give a clear message, not a traceback."""

from __future__ import annotations

import sys

import pytest

from bot.config import Settings


def test_settings_read_dotenv_prefix_and_token_alias(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc123\nSTUDYBOT_MAX_NOTES=2\nSTUDYBOT_SHARD_IDS=0,1\n")
    s = Settings()
    assert s.discord_token.get_secret_value() == "abc123"
    assert (s.max_notes, s.shard_ids) == (2, [0, 1])
    assert "abc123" not in repr(s)  # the secret never shows in logs


def test_run_without_a_token_explains_how_to_get_one(tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("STUDYBOT_DISCORD_TOKEN", raising=False)
    monkeypatch.setattr(sys, "argv", ["studybot", "run"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "No Discord token" in err and "DISCORD_TOKEN" in err and "Traceback" not in err
