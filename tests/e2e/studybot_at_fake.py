"""`studybot run`, the real CLI command, pointed at a loopback fake Discord: for the multi-process e2e test.

    python -m tests.e2e.studybot_at_fake http://127.0.0.1:PORT

Redirects discord.py's two URLs (as FakeDiscord does in-process), lowers `guild_ready_timeout`, syncs the
slash commands once ready (so the fake knows them) and prints `STUDYBOT READY` on stdout. Everything else,
settings from the environment included, is `studybot run`.
"""

from __future__ import annotations

import sys

import discord.gateway
import discord.http
import yarl


def main() -> None:
    base = sys.argv[1].rstrip("/")
    discord.http.Route.BASE = f"{base}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http://", "ws://") + "/gateway")

    import bot.discord.app as app

    create = app.create_bot

    def create_bot(settings, services):  # noqa: ANN001, ANN202
        client = create(settings, services)
        client._connection.guild_ready_timeout = 0.05

        async def announce() -> None:
            await client.tree.sync()
            print("STUDYBOT READY", flush=True)

        client.add_listener(announce, "on_ready")
        return client

    app.create_bot = create_bot
    sys.argv = ["studybot", "run"]
    from bot.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
