"""Issue 15, end to end on the shipped corpus: /path pages long routes and keeps the target (1); pagers never
expire, even across a restart (5)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import assert_within_discord_limits, button_ids, reply_to

pytestmark = pytest.mark.e2e

TARGET = "**Transformers and self-attention**"


def steps(reply) -> list[str]:
    return re.findall(r"^\d+\. .*$", reply.embeds[0]["description"], re.MULTILINE)


def every_bot_message_fits(fake) -> None:
    for message in fake.messages.values():
        if message["author"]["id"] == fake.bot_user["id"]:
            assert_within_discord_limits(message)


async def test_path_by_default_is_the_essential_route_ending_at_the_target(shipped):
    fake = shipped.fake
    reply = await reply_to(fake, fake.alice, "path", {"target": "transformers"})
    lines = steps(reply)
    assert reply.ephemeral and reply.components == []  # one page: nothing to page through
    assert TARGET in lines[-1] and "🎯" in lines[-1] and len(lines) < 87
    text = reply.embeds[0]["description"]
    assert "essential route" in text and "of the 86 topics" in text and "full: True" in text
    assert text.index("Softmax") < text.index("The attention mechanism") < text.rindex(TARGET)
    every_bot_message_fits(fake)


async def test_the_full_path_is_paged_with_the_target_on_the_last_page(shipped):
    fake = shipped.fake
    first = await reply_to(fake, fake.alice, "path", {"target": "transformers", "full": True})
    ids = button_ids(first.components)
    assert ids == [f"sb:pg:full:transformers:{p}:{s}" for p, s in ((0, "first"), (0, "prev"), (1, "next"),
                                                                     (4, "last"))]
    fields = {f["name"]: f["value"] for f in first.embeds[0]["fields"]}
    assert fields["Per discipline"].startswith("Linear algebra 19 · ")
    assert sum(map(int, re.findall(r"\d+", fields["Per discipline"]))) == 86
    assert TARGET not in first.embeds[0]["description"]
    seen, message = steps(first), first.message
    for _ in range(4):
        page = await fake.wait_for_interaction_reply(await fake.click(fake.alice, message, button_ids(
            message["components"])[2]))
        assert page.message_id == first.message_id  # paged in place
        seen += steps(page)
        message = page.message
    assert len(seen) == 87 and seen[-1].startswith("87. 🎯 " + TARGET)
    assert page.embeds[0]["footer"]["text"].startswith("page 5/5")
    last = await fake.wait_for_interaction_reply(await fake.click(fake.alice, first.message,
                                                                  "sb:pg:full:transformers:4:last"))
    assert TARGET in steps(last)[-1]
    every_bot_message_fits(fake)


async def test_the_path_skips_what_the_learner_mastered_and_says_so(shipped):
    fake = shipped.fake
    quizzes = shipped.services.study.quizzes
    run = await quizzes.start(fake.guild_id, int(fake.alice["id"]), "dot-product", 2)
    for q in run.questions:
        right = shipped.services.answers.corpus.notes[q.note_id].quiz[q.item_index].answer
        await quizzes.answer(fake.guild_id, run.id, int(fake.alice["id"]), q.position, right)
    reply = await reply_to(fake, fake.alice, "path", {"target": "transformers", "full": True})
    text = reply.embeds[0]["description"]
    assert "Skipped 1 topic you've mastered" in text and "Dot product" not in text
    last = await fake.wait_for_interaction_reply(await fake.click(fake.alice, reply.message,
                                                                  button_ids(reply.components)[-1]))
    assert TARGET in steps(last)[-1]


async def test_pagers_never_expire_even_across_a_restart(shipped):
    fake = shipped.fake
    topic = await reply_to(fake, fake.alice, "topic", {"name": "conjugate-priors"})
    detail = await fake.wait_for_interaction_reply(await fake.click(fake.alice, topic.message,
                                                                    "sb:detail:conjugate-priors"))
    assert detail.ephemeral and button_ids(detail.components) == ["sb:pg:note:conjugate-priors:0:prev",
                                                                  "sb:pg:note:conjugate-priors:1:next"]
    assert [c["disabled"] for row in detail.components for c in row["components"]] == [True, False]
    path = await reply_to(fake, fake.alice, "path", {"target": "transformers", "full": True})
    await shipped.restart()  # every in-memory view is gone; the buttons must still work
    second = await fake.wait_for_interaction_reply(await fake.click(fake.alice, detail.message,
                                                                    "sb:pg:note:conjugate-priors:1:next"))
    assert second.embeds[0]["footer"]["text"].startswith("page 2/2")
    assert [c["disabled"] for row in second.components for c in row["components"]] == [False, True]
    last = await fake.wait_for_interaction_reply(await fake.click(fake.alice, path.message,
                                                                  "sb:pg:full:transformers:4:last"))
    assert TARGET in steps(last)[-1]
