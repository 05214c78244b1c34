"""Self-tests of the loopback fake Discord, driven by a small bot defined here."""
from __future__ import annotations

import io

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord

pytestmark = pytest.mark.e2e

TOPICS = ["transformers", "tokenizers", "training", "attention"]


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text = discord.ui.TextInput(label="Your feedback", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class DoneView(discord.ui.View):
    @discord.ui.button(label="Done", custom_id="card:done")
    async def done(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()  # type 6: acknowledge, edit later
        await interaction.edit_original_response(content="done", embed=None, view=None)
        await interaction.followup.send("bye", ephemeral=True)


class PanelView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="OK", custom_id="panel:ok")
    async def ok(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content=f"clicked by {interaction.user.name}", view=self)

    @discord.ui.select(custom_id="panel:pick", options=[discord.SelectOption(label=t, value=t) for t in TOPICS])
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"picked {','.join(select.values)}")

    @discord.ui.button(label="Feedback", custom_id="panel:feedback")
    async def feedback(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(FeedbackModal())


def make_bot(*, message_content: bool = True, cls: type = commands.Bot) -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = message_content
    bot = cls(command_prefix="!", intents=intents)

    @bot.listen("on_message")
    async def on_message(message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.content.startswith("hello"):
            await message.reply(f"hi {message.author.mention}", allowed_mentions=discord.AllowedMentions.none())
        elif message.content == "card":
            embed = discord.Embed(title="Backprop", description="chain rule")
            await message.channel.send(embed=embed, view=DoneView())
        elif bot.user in message.mentions:
            await message.channel.send(f"you said: {message.content}")

    @bot.tree.command(description="Echo text after deferring")
    async def echo(interaction: discord.Interaction, text: str) -> None:
        await interaction.response.defer()
        await interaction.followup.send(f"echo: {text}")

    @bot.tree.command(description="Defer publicly, then follow up asking for ephemeral")
    async def oops(interaction: discord.Interaction, delete_first: bool = False) -> None:
        await interaction.response.defer(thinking=True)
        if delete_first:
            await interaction.delete_original_response()
        await interaction.followup.send("meant for you only", ephemeral=True)

    @bot.tree.command(description="A secret")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("only you can see this", ephemeral=True)

    @bot.tree.command(description="Read an attachment")
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        data = await file.read()
        await interaction.response.send_message(f"{file.filename}: {len(data)} bytes: {data.decode()}")

    @bot.tree.command(description="Send a file back")
    async def report(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("here", file=discord.File(io.BytesIO(b"report body"), "report.txt"))

    @bot.tree.command(description="Show the panel")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("panel", view=PanelView())

    @bot.tree.command(description="Pick a topic")
    async def topic(interaction: discord.Interaction, query: str, count: int = 1) -> None:
        await interaction.response.send_message(f"topic={query} count={count}")

    @topic.autocomplete("query")
    async def topic_ac(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in TOPICS if t.startswith(current)]

    corpus = app_commands.Group(name="corpus", description="Corpus admin")

    @corpus.command(name="reload", description="Reload the corpus")
    async def reload(interaction: discord.Interaction, who: discord.Member | None = None) -> None:
        if not interaction.permissions.manage_guild:
            await interaction.response.send_message("admins only", ephemeral=True)
            return
        suffix = f" for {who.name}" if who else ""
        await interaction.response.send_message(f"reloaded{suffix}")

    bot.tree.add_command(corpus)
    return bot


@pytest_asyncio.fixture(loop_scope="function")
async def env():
    async with FakeDiscord() as fake:
        bot = make_bot()
        await fake.connect(bot)
        yield fake, bot
    # teardown: the fake must not have seen unknown routes nor logged client errors
    assert fake.unknown_requests == []
    assert fake.client_errors == []


async def test_connect_populates_guild_and_restores_routes():
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscord() as fake:
        bot = make_bot()
        await fake.connect(bot)
        guild = bot.get_guild(fake.guild_id)
        assert guild is not None and guild.name == fake.guild_name
        assert {c.name for c in guild.text_channels} == {"general", "study"}
        assert guild.owner_id == int(fake.admin["id"])
        assert bot.user.id == int(fake.bot_user["id"]) and bot.application_id == fake.app_id
        assert discord.http.Route.BASE.startswith("http://127.0.0.1:")
        await fake.close_client()
        assert bot.is_closed()
    assert (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == (base, gateway)


async def test_message_listener_reply_and_allowed_mentions(env):
    fake, bot = env
    sent = await fake.send_message(fake.general, fake.alice, "hello there")
    reply = await fake.wait_for_message(fake.general, lambda m: m["content"].startswith("hi"))
    assert reply["content"] == f"hi <@{fake.alice['id']}>"
    assert reply["message_reference"]["message_id"] == sent["id"]
    assert fake.allowed_mentions(reply) == {"parse": []}
    assert reply["mentions"] == []  # the fake applied allowed_mentions: nobody pinged


async def test_message_content_intent_is_enforced():
    async with FakeDiscord() as fake:
        bot = make_bot(message_content=False)
        await fake.connect(bot)
        await fake.send_message(fake.general, fake.bob, "hello")  # content arrives empty: no reply
        await fake.send_message(fake.general, fake.bob, f"<@{fake.bot_user['id']}> ping")  # mentioned: content kept
        reply = await fake.wait_for_message(fake.general)
        assert reply["content"] == f"you said: <@{fake.bot_user['id']}> ping"
        assert len(fake.messages_in(fake.general)) == 1


async def test_sync_then_echo_defers_before_followup(env):
    fake, bot = env
    synced = await bot.tree.sync()
    put = await fake.wait_for_request(lambda r: r.method == "PUT" and r.path.endswith("/commands"))
    assert {c["name"] for c in put.json} == {c.name for c in synced} >= {"echo", "corpus", "topic"}
    assert all(c.id for c in synced)

    guild = discord.Object(fake.guild_id)
    bot.tree.copy_global_to(guild=guild)
    await bot.tree.sync(guild=guild)
    put = await fake.wait_for_request(lambda r: r.method == "PUT" and f"/guilds/{fake.guild_id}/" in r.path)
    assert fake.commands[(fake.guild_id, "echo", 1)]["guild_id"] == str(fake.guild_id)

    iid = await fake.slash(fake.alice, "echo", {"text": "attention is all you need"})
    assert fake.interactions[iid].payload["data"]["guild_id"] == str(fake.guild_id)  # guild command preferred
    reply = await fake.wait_for_interaction_reply(iid)
    assert reply.content == "echo: attention is all you need"
    kinds = [(e.kind, e.type) for e in fake.interaction_responses(iid)]
    assert kinds == [("callback", 5), ("followup", None)]
    assert not reply.ephemeral


async def test_the_first_follow_up_after_a_public_defer_is_public_unless_the_placeholder_was_deleted(env):
    fake, _ = env
    public = await fake.wait_for_interaction_reply(await fake.slash(fake.alice, "oops"))
    assert public.content == "meant for you only" and not public.ephemeral  # as on Discord: it replaced "thinking…"
    iid = await fake.slash(fake.alice, "oops", {"delete_first": True})
    private = await fake.wait_for_interaction_reply(iid)
    assert private.ephemeral and private.message_id != fake.interaction_responses(iid)[0].message_id
    assert [e.kind for e in fake.interaction_responses(iid)] == ["callback", "delete", "followup"]


async def test_ephemeral_reply_has_flag_64(env):
    fake, _ = env
    iid = await fake.slash(fake.bob, "secret")  # not synced: the fake registers bot.tree itself
    reply = await fake.wait_for_interaction_reply(iid)
    assert reply.content == "only you can see this"
    assert reply.flags & EPHEMERAL and reply.ephemeral


async def test_attachment_option_bytes_reach_the_command(env):
    fake, _ = env
    iid = await fake.slash(fake.alice, "upload", {"file": ("notes.md", b"# gradient descent", "text/markdown")})
    reply = await fake.wait_for_interaction_reply(iid)
    assert reply.content == "notes.md: 18 bytes: # gradient descent"


async def test_bot_file_upload_is_recorded_and_served(env):
    fake, _ = env
    iid = await fake.slash(fake.alice, "report", channel=fake.study)
    reply = await fake.wait_for_interaction_reply(iid)
    (uploaded,) = reply.events[0].files
    assert (uploaded.filename, uploaded.data) == ("report.txt", b"report body")
    (att,) = reply.message["attachments"]
    async with aiohttp.ClientSession() as session, session.get(att["url"]) as resp:
        assert await resp.read() == b"report body"
    assert fake.messages_in(fake.study)[-1]["id"] == str(reply.message_id)


async def test_button_click_edits_message(env):
    fake, _ = env
    reply = await fake.wait_for_interaction_reply(await fake.slash(fake.alice, "panel"))
    assert reply.content == "panel" and reply.components
    iid = await fake.click(fake.bob, reply.message_id, "panel:ok")
    edited = await fake.wait_for_interaction_reply(iid)
    assert edited.message_id == reply.message_id
    assert edited.content == "clicked by bob"
    assert fake.interaction_responses(iid)[0].type == 7


async def test_select_sends_new_message(env):
    fake, _ = env
    panel = await fake.wait_for_interaction_reply(await fake.slash(fake.alice, "panel"))
    iid = await fake.select(fake.alice, panel.message_id, "panel:pick", ["training"])
    reply = await fake.wait_for_interaction_reply(iid)
    assert reply.content == "picked training" and reply.message_id != panel.message_id


async def test_button_opens_modal_and_submission_reaches_callback(env):
    fake, _ = env
    await fake.wait_for_interaction_reply(await fake.slash(fake.alice, "panel"))
    iid = await fake.click(fake.alice, None, "panel:feedback")  # None: newest message with that button
    modal = await fake.wait_for_modal(iid)
    assert modal["title"] == "Feedback"
    sub = await fake.submit_modal(fake.alice, {"feedback:text": "more examples please"})
    reply = await fake.wait_for_interaction_reply(sub)
    assert reply.content == "thanks: more examples please" and reply.ephemeral


async def test_autocomplete_returns_choices(env):
    fake, _ = env
    choices = await fake.autocomplete(fake.alice, "topic", "query", "t", options={"count": 2})
    assert [c["value"] for c in choices] == ["transformers", "tokenizers", "training"]
    assert fake.interactions[max(fake.interactions)].events[0].type == 8


async def test_subcommand_and_member_permissions(env):
    fake, _ = env
    denied = await fake.wait_for_interaction_reply(await fake.slash(fake.alice, ("corpus", "reload")))
    assert denied.content == "admins only" and denied.ephemeral
    ok = await fake.wait_for_interaction_reply(await fake.slash(fake.admin, "corpus reload", {"who": fake.bob}))
    assert ok.content == "reloaded for bob" and not ok.ephemeral


async def test_dm_roundtrip(env):
    fake, bot = env
    user = await bot.fetch_user(int(fake.alice["id"]))
    await user.send("a direct message")
    dm = fake.dm_channel(fake.alice)
    assert (await fake.wait_for_message(dm))["content"] == "a direct message"
    assert any(r.path == "/users/@me/channels" for r in fake.requests)


async def test_slash_in_dm(env):
    fake, _ = env
    dm = fake.dm_channel(fake.bob)
    iid = await fake.slash(fake.bob, "echo", {"text": "in a DM"}, channel=dm)
    assert "guild_id" not in fake.interactions[iid].payload and fake.interactions[iid].payload["context"] == 1
    reply = await fake.wait_for_interaction_reply(iid)
    assert reply.content == "echo: in a DM" and reply.message["channel_id"] == dm["id"]


async def test_history_and_fetch(env):
    fake, bot = env
    first = await fake.send_message(fake.study, fake.alice, "one")
    await fake.send_message(fake.study, fake.bob, "two")
    channel = bot.get_channel(int(fake.study["id"]))
    assert [m.content async for m in channel.history(limit=10)] == ["two", "one"]
    assert (await channel.fetch_message(int(first["id"]))).author.name == "alice"


async def test_channel_send_embed_view_then_deferred_edit(env):
    fake, _ = env
    await fake.send_message(fake.general, fake.alice, "card")
    card = await fake.wait_for_message(fake.general, lambda m: m["embeds"])
    assert card["embeds"][0]["title"] == "Backprop" and card["components"]
    iid = await fake.click(fake.alice, card, "card:done")
    reply = await fake.wait_for_interaction_reply(iid)
    assert [(e.kind, e.type) for e in reply.events] == [("callback", 6), ("edit", None), ("followup", None)]
    assert fake.messages[int(card["id"])]["content"] == "done"
    assert fake.messages[int(card["id"])]["embeds"] == [] and fake.messages[int(card["id"])]["components"] == []
    assert reply.content == "bye" and reply.ephemeral  # the last visible response is the follow-up


async def test_channel_added_after_connect(env):
    fake, bot = env
    late = fake.add_channel("late")
    await fake.dispatch("CHANNEL_CREATE", late)
    await fake.send_message(late, fake.bob, "hello")
    assert (await fake.wait_for_message(late))["content"] == f"hi <@{fake.bob['id']}>"
    assert bot.get_channel(int(late["id"])).name == "late"


async def test_unknown_route_is_404_and_recorded():
    async with FakeDiscord() as fake:
        bot = make_bot()
        await fake.connect(bot)
        channel = bot.get_channel(int(fake.general["id"]))
        with pytest.raises(discord.NotFound):
            await channel.create_webhook(name="nope")
        unknown = [(r.method, r.path) for r in fake.unknown_requests]
        assert unknown == [("POST", f"/channels/{fake.general['id']}/webhooks")]


async def test_auto_sharded_bot_connects_and_handles_slash():
    async with FakeDiscord() as fake:
        bot = make_bot(cls=commands.AutoShardedBot)
        await fake.connect(bot)
        assert bot.shard_count == 1 and bot.get_guild(fake.guild_id) is not None
        reply = await fake.wait_for_interaction_reply(await fake.slash(fake.alice, "echo", {"text": "sharded"}))
        assert reply.content == "echo: sharded"
