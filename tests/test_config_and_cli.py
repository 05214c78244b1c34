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


def refuse_to_load(monkeypatch) -> None:
    """Make loading the model, the corpus and index, or the database an error (for `studybot sync`)."""
    from bot.retrieval.answering import AnswerService
    from bot.retrieval.embedding import Embedder
    from bot.retrieval.index import IndexStore
    from bot.study import Store

    def refuse(*args, **kwargs):
        raise AssertionError("studybot sync loaded the model, the index or the database")

    monkeypatch.setattr(Embedder, "model", property(refuse))
    monkeypatch.setattr(AnswerService, "ensure_ready", refuse)
    monkeypatch.setattr(IndexStore, "load", refuse)
    monkeypatch.setattr(IndexStore, "build", refuse)
    monkeypatch.setattr(Store, "open", refuse)


def test_sync_loads_no_model_index_or_database(tmp_path, monkeypatch, capsys):
    import bot.discord.app
    from bot.cli import main

    refuse_to_load(monkeypatch)
    synced = []

    async def fake_sync(bot, token, guild_id):  # everything but the HTTP calls (the e2e tier does those)
        async with bot:
            await bot.setup_hook()
            synced.append(len(bot.tree.get_commands()))
            for name in list(bot.cogs):  # stops the reminder loop, which waits for a connection that never comes
                await bot.remove_cog(name)
        return synced[0]

    monkeypatch.setattr(bot.discord.app, "sync_commands", fake_sync)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    monkeypatch.setattr(sys, "argv", ["studybot", "sync"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    assert "synced" in capsys.readouterr().out and synced[0] > 5
    assert list(tmp_path.iterdir()) == []  # no database, no index
