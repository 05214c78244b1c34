"""Issue 15, study side, end to end: time phrases (7), relearning today's misses (8) and the study map (4)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.e2e.conftest import button_ids, reply_to

pytestmark = pytest.mark.e2e

GROUP = "Backprop club"


async def test_an_impossible_time_is_not_understood_rather_than_in_the_past(small):
    fake = small.fake
    await reply_to(fake, fake.alice, "group create", {"name": GROUP})
    reply = await reply_to(fake, fake.alice, "session schedule", {"group": GROUP, "when": "yesterday at 25:99"})
    assert reply.ephemeral and "I don't understand" in reply.content and "in the past" not in reply.content
    assert await small.services.study.groups.sessions(fake.guild_id) == []


async def test_seconds_are_too_soon_without_a_nonsense_suggestion(small):
    fake = small.fake
    await reply_to(fake, fake.alice, "group create", {"name": GROUP})
    reply = await reply_to(fake, fake.alice, "session schedule", {"group": GROUP, "when": "in 5 seconds"})
    assert reply.ephemeral and "too soon" in reply.content
    assert "in 5 seconds 18:00" not in reply.content and "in 10 minutes" in reply.content


async def answer_quiz(small, user, wrong: set[int]):
    """Take a 2-question solo quiz on the chain rule, missing the questions at the given indexes."""
    fake = small.fake
    started = await reply_to(fake, user, "quiz", {"scope": "chain-rule", "count": 2})
    message = started.message
    for i in range(2):
        run_id, position = map(int, button_ids(message["components"])[0].split(":")[1:3])
        run = await small.services.study.quizzes.get(fake.guild_id, run_id)
        q = next(q for q in run.questions if q.position == position)
        right = small.services.answers.corpus.notes[q.note_id].quiz[q.item_index].answer
        choice = (right + 1) % 4 if i in wrong else right
        click = await fake.click(user, message, f"sbq:{run_id}:{position}:{choice}")
        reply = await fake.wait_for_interaction_reply(click)
        message = reply.message
    return reply


async def test_right_after_a_wrong_answer_the_review_relearns_it(small):
    fake = small.fake
    done = await answer_quiz(small, fake.alice, wrong={1})
    assert "The one you missed comes back for a quick relearning step" in done.embeds[1]["description"]
    review = await reply_to(fake, fake.alice, ("review", "start"))
    assert review.ephemeral and "**1** of your 2 review cards are due" in review.content
    assert "missed lately" in review.content
    assert review.embeds[0]["title"] == "Review · question 1 of 1"
    run_id, position = map(int, button_ids(review.components)[0].split(":")[1:3])
    run = await small.services.study.quizzes.get(fake.guild_id, run_id)
    q = run.questions[0]
    right = small.services.answers.corpus.notes[q.note_id].quiz[q.item_index].answer
    relearned = await fake.wait_for_interaction_reply(await fake.click(fake.alice, review.message,
                                                                       f"sbq:{run_id}:{position}:{right}"))
    assert relearned.embeds[0]["title"] == "✅ Right!"
    again = await reply_to(fake, fake.alice, ("review", "start"))
    assert "Nothing to review right now" in again.content  # graduated: SM-2's next interval is a day


async def test_all_right_leaves_nothing_to_review_today(small):
    fake = small.fake
    done = await answer_quiz(small, fake.bob, wrong=set())
    assert "relearning" not in done.embeds[1]["description"]
    review = await reply_to(fake, fake.bob, ("review", "start"))
    assert "Nothing to review right now" in review.content


async def map_of(fake, user, options=None):
    iid = await fake.slash(user, "map", options or {})
    reply = await fake.wait_for_interaction_reply(iid, timeout=30)
    [upload] = [f for e in fake.interaction_responses(iid) for f in e.files]
    image = Image.open(io.BytesIO(upload.data))
    assert reply.ephemeral and reply.embeds[0]["image"]["url"] == "attachment://map.png"
    return reply, image, upload.data


async def test_map_defaults_to_the_learners_neighbourhood_and_offers_disciplines_and_an_overview(small):
    fake = small.fake
    start, start_image, start_png = await map_of(fake, fake.alice)
    assert start.embeds[0]["title"] == "Your study map" and "study next" in start.embeds[0]["description"]
    await answer_quiz(small, fake.alice, wrong=set())
    mine, image, png = await map_of(fake, fake.alice)
    assert png != start_png  # the map follows what alice studied
    calculus, calculus_image, _ = await map_of(fake, fake.alice, {"discipline": "calculus"})
    assert calculus.embeds[0]["title"] == "Your study map: Calculus"
    overview, overview_image, _ = await map_of(fake, fake.alice, {"discipline": "all"})
    assert overview.embeds[0]["title"] == "All topics, by discipline"
    for picture in (start_image, image, calculus_image, overview_image):
        half = picture.reduce(2)  # Discord shows a preview; at half size the map must still read
        assert half.width >= 700 and half.height >= 150
