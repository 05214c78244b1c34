"""Issue 14 end to end: the gap report and note drafts for moderators; /privacy export and forget-me; a server
the bot leaves. The real discord.py client against the loopback fake Discord, over the five-note test corpus."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.insights.draft import PLACEHOLDER
from tests.e2e.conftest import assert_within_discord_limits, button_ids, reply_to

pytestmark = pytest.mark.e2e

# 50 logged questions: four topics the notes do not cover (36, refused), 10 answered well, 4 answered and rated 👎.
TOPICS = {
    "dropout": ["what is dropout in neural networks?", "how does dropout regularization work",
                "dropout layer, what does it do?", "can someone explain dropout"],
    "attention": ["what is the attention mechanism in transformers", "how does self-attention compute its weights",
                  "explain queries keys and values in attention"],
    "batch": ["how do I choose the batch size", "does a bigger batch size train faster",
              "what batch size should I use for my GPU"],
    "p-value": ["what is a p-value", "how do I interpret a p value in a hypothesis test",
                "p-value meaning in statistics"],
}
COUNTS = {"dropout": 12, "attention": 10, "batch": 8, "p-value": 6}
ANSWERED = ["what is a derivative", "what does the chain rule say", "how does gradient descent work",
            "what is backpropagation", "what is bayes theorem"] * 2
DOWNVOTED = ["why does backpropagation need the chain rule", "how does backprop use the chain rule",
             "chain rule in backprop, why?", "backpropagation and the chain rule"]


async def fifty_questions(live) -> None:
    fake, questions = live.fake, live.services.study.questions
    users = [int(fake.alice["id"]), int(fake.bob["id"])]
    n = 0
    for topic, count in COUNTS.items():
        for i in range(count):
            await questions.log(fake.guild_id, users[n % 2], TOPICS[topic][i % len(TOPICS[topic])], False)
            n += 1
    for q in ANSWERED:
        await questions.log(fake.guild_id, users[n % 2], q, True, "derivatives")
        n += 1
    for q in DOWNVOTED:
        qid = await questions.log(fake.guild_id, users[0], q, True, "chain-rule")
        await questions.feedback(fake.guild_id, users[0], qid, False, "no worked example of backprop")
        n += 1
    assert n == 50 and (await questions.stats(fake.guild_id)).total == 50


def field_names(reply) -> list[str]:
    return [f["name"] for f in reply.embeds[0]["fields"]]


async def test_a_moderator_sees_the_gap_groups_and_drafts_a_note_from_one(small):
    fake = small.fake
    await fifty_questions(small)

    denied = await reply_to(fake, fake.alice, ("corpus", "gaps"))
    assert denied.ephemeral and "Only moderators" in denied.content

    report = await reply_to(fake, fake.admin, ("corpus", "gaps"), {"days": 30})
    assert report.ephemeral
    assert_within_discord_limits(report.message)
    embed = report.embeds[0]
    assert "40 refused or 👎-rated question(s)" in embed["description"]
    names = field_names(report)
    assert names[0].startswith("1. Dropout: 12 question(s) (12 refused)")
    assert names[1].startswith("2. ") and "10 question(s)" in names[1]
    assert names[2].startswith("3. ") and "8 question(s)" in names[2]
    assert "Suggested note: `dropout`" in embed["fields"][0]["value"] and "Closest notes: `" in embed["fields"][0]["value"]
    ids = button_ids(report.components)
    draft_ids = [i for i in ids if i.startswith("sb:gap:draft:")]
    assert len(draft_ids) == 3 and any(i.endswith(":next") for i in ids)

    # Draft a note from the largest group: a Markdown file, front matter filled, the questions listed.
    iid = await fake.click(fake.admin, report.message, draft_ids[0])
    drafted = await fake.wait_for_interaction_reply(iid, timeout=60)
    assert drafted.ephemeral and "`dropout`" in drafted.content
    [upload] = [f for e in fake.interaction_responses(iid) for f in e.files]
    text = upload.data.decode()
    assert upload.filename == "dropout.md" and text.startswith("---\nid: dropout\n")
    assert all(q in text for q in TOPICS["dropout"])

    # Page 2: the smaller groups, with the 👎 reasons.
    page = await fake.wait_for_interaction_reply(await fake.click(fake.admin, report.message,
                                                                  next(i for i in ids if i.endswith(":next"))))
    names2 = field_names(page)
    assert names2[0].startswith("4. ") and "6 question(s)" in " ".join(names2)
    chain = next(f for f in page.embeds[0]["fields"] if "rated 👎" in f["name"])
    assert "4 question(s)" in chain["name"] and "no worked example of backprop" in chain["value"]
    assert_within_discord_limits(page.message)

    # As drafted it is refused; completed, it is added to this server.
    refused = await reply_to(fake, fake.admin, ("corpus", "add"), {"file": ("dropout.md", text.encode())})
    assert refused.ephemeral and "placeholder" in refused.content
    filled = PLACEHOLDER.sub("Dropout switches off a random half of the units at each training step.", text)
    added = await reply_to(fake, fake.admin, ("corpus", "add"), {"file": ("dropout.md", filled.encode())})
    assert "added in this server only" in added.embeds[0]["description"]


async def test_privacy_export_and_forget_me(small):
    fake = small.fake
    alice, bob = int(fake.alice["id"]), int(fake.bob["id"])
    for user, question in ((fake.alice, "what is the chain rule?"), (fake.alice, "how do I bake bread?"),
                           (fake.bob, "what is a derivative?")):
        await reply_to(fake, user, "ask", {"question": question, "private": True})

    exported = await reply_to(fake, fake.alice, ("privacy", "export"))
    assert exported.ephemeral
    [upload] = [f for e in exported.events for f in e.files]
    data = json.loads(upload.data)
    assert data["user_id"] == alice and data["guild_id"] == fake.guild_id
    assert sorted(q["question"] for q in data["question_log"]) == ["how do I bake bread?", "what is the chain rule?"]
    assert "derivative" not in upload.data.decode()  # Bob's question is not in Alice's export

    asked = await reply_to(fake, fake.alice, ("privacy", "forget-me"))
    assert asked.ephemeral and "cannot be undone" in asked.content
    yes = f"sb:forget:yes:{alice}"
    assert button_ids(asked.components) == [yes, f"sb:forget:no:{alice}"]
    stolen = await fake.wait_for_interaction_reply(await fake.click(fake.bob, asked.message, yes))
    assert stolen.ephemeral and "someone else" in stolen.content
    stats_before = await small.services.study.questions.stats(fake.guild_id)

    done = await fake.wait_for_interaction_reply(await fake.click(fake.alice, asked.message, yes))
    assert done.content.startswith("Done. Deleted in this server: 2 question(s)") and done.components == []

    again = await reply_to(fake, fake.alice, ("privacy", "export"))
    [upload] = [f for e in again.events for f in e.files]
    after = json.loads(upload.data)
    assert after["question_log"] == [] and after["study_events"] == []
    bob_export = await reply_to(fake, fake.bob, ("privacy", "export"))
    [bob_file] = [f for e in bob_export.events for f in e.files]
    assert [q["question"] for q in json.loads(bob_file.data)["question_log"]] == ["what is a derivative?"]
    assert await small.services.study.questions.stats(fake.guild_id) == stats_before  # counts stay


async def departures_become(cog, predicate) -> dict:
    for _ in range(250):
        found = await cog.service.queries.departures()
        if predicate(found):
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"departures stayed {found}")


async def test_a_server_the_bot_leaves_is_deleted_after_the_grace_period_unless_it_comes_back(small):
    fake = small.fake
    await fifty_questions(small)
    cog = small.bot.get_cog("Privacy")
    store = small.services.study.store
    gid = fake.guild_id

    # Removed, then added back within the grace period: nothing is ever deleted.
    await fake.dispatch("GUILD_DELETE", {"id": str(gid)})
    first = (await departures_become(cog, lambda d: gid in d))[gid]
    rejoin = {k: v for k, v in fake.guild_payload().items() if k != "unavailable"}  # a join, not an outage
    await fake.dispatch("GUILD_CREATE", rejoin)
    await departures_become(cog, lambda d: gid not in d)
    assert (await cog.daily_purge(now=first + timedelta(days=31))).guilds_deleted == ()
    assert (await store.table_counts(gid))["question_log"] == 50

    # Removed for good: kept through the grace period, then deleted.
    await fake.dispatch("GUILD_DELETE", {"id": str(gid)})
    removed_at = (await departures_become(cog, lambda d: gid in d))[gid]
    assert (await cog.daily_purge(now=removed_at + timedelta(days=29))).guilds_deleted == ()
    assert (await store.table_counts(gid))["question_log"] == 50

    report = await cog.daily_purge(now=removed_at + timedelta(days=31))
    assert report.guilds_deleted == (gid,)
    assert all(n == 0 for n in (await store.table_counts(gid)).values())
