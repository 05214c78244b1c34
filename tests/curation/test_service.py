"""CurationService over a real database and the real model: limits, rules, audit, export, restore."""

from __future__ import annotations

import io
import zipfile

import pytest
import pytest_asyncio

from bot.curation import CurationService
from bot.errors import InvalidInput, NoteInvalid, NotFound
from bot.retrieval.answering import AnswerService
from bot.study.storage import Store
from tests.databases import BACKENDS, database
from tests.notes_factory import note_text

A, B, MOD, OWNER = 11, 22, 7, 99




@pytest_asyncio.fixture(loop_scope="function", params=BACKENDS)
async def db_url(request, tmp_path):
    """Server notes are stored on SQLite and on PostgreSQL alike."""
    async with database(request.param, tmp_path) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="function")
async def curation(small_settings, embedder, db_url):
    settings = small_settings.model_copy(update={"server_notes_max": 2, "server_note_max_bytes": 4000,
                                                 "database": db_url})
    answers = AnswerService(settings, embedder=embedder)
    answers.ensure_ready()
    store = await Store.open(settings.database_url)
    service = CurationService(store, answers, settings)
    yield service
    await store.close()


def md(note_id: str, **fields) -> bytes:
    return note_text(note_id, fields.pop("discipline", "calculus"), **fields).encode()


async def test_limits_give_clear_messages(curation):
    await curation.add(A, MOD, "one.md", md("one"))
    await curation.add(A, MOD, "two.md", md("two"))
    with pytest.raises(InvalidInput, match="already has 2 notes, the limit is 2"):
        await curation.add(A, MOD, "three.md", md("three"))
    await curation.add(A, MOD, "two.md", md("two", title="Two, edited"))  # replacing is not a new note
    await curation.add(B, MOD, "three.md", md("three"))  # the limit is per server
    with pytest.raises(InvalidInput, match="at most 4,000 bytes"):
        await curation.add(B, MOD, "big.md", md("big", intuition="x " * 3000))
    with pytest.raises(NoteInvalid, match="bin.md:1: not valid UTF-8"):  # at its line, like the base corpus
        await curation.add(B, MOD, "bin.md", b"\xff\xfe---")


async def test_invalid_notes_change_nothing(curation):
    with pytest.raises(NoteInvalid, match="unknown prerequisite 'ghost'"):
        await curation.add(A, MOD, "bad.md", md("bad", prerequisites=["ghost"]))
    assert await curation.notes.notes(A) == [] and await curation.audit_log(A) == []


async def test_every_change_is_audited_with_server_actor_note_and_time(curation):
    await curation.add(A, MOD, "chain-rule.md", md("chain-rule", prerequisites=["derivatives"]))
    await curation.hide(A, MOD, "bayes-theorem")
    await curation.unhide(A, MOD, "bayes-theorem")
    await curation.remove(A, MOD, "chain-rule")
    await curation.reload_base(OWNER, A)
    rows = await curation.audit_log(A)
    assert [(r.action, r.note_id, r.actor_id) for r in reversed(rows)] == [
        ("note.add", "chain-rule", MOD), ("note.hide", "bayes-theorem", MOD), ("note.unhide", "bayes-theorem", MOD),
        ("note.remove", "chain-rule", MOD), ("base.reload", None, OWNER)]
    assert rows[-1].detail == "overrides the base note" and all(r.guild_id == A and r.at for r in rows)
    assert await curation.audit_log(B) == []
    await curation.reload_base(OWNER)  # from the CLI: audited in the base scope
    assert [r.action for r in await curation.audit_log(0)] == ["base.reload"]


async def test_removal_and_hiding_refuse_to_break_the_servers_notes(curation):
    await curation.add(A, MOD, "sigmoid.md", md("sigmoid", prerequisites=["derivatives"]))
    await curation.add(A, MOD, "softmax.md", md("softmax", prerequisites=["sigmoid"]))
    with pytest.raises(InvalidInput, match="prerequisite of `softmax`"):
        await curation.remove(A, MOD, "sigmoid")
    with pytest.raises(InvalidInput, match="prerequisite of this server's `sigmoid`"):
        await curation.hide(A, MOD, "derivatives")
    with pytest.raises(InvalidInput, match="base note"):
        await curation.remove(A, MOD, "derivatives")
    with pytest.raises(NotFound):
        await curation.remove(B, MOD, "sigmoid")  # another server's note is not addressable from B
    with pytest.raises(NotFound):
        await curation.unhide(A, MOD, "chain-rule")


async def test_export_is_a_zip_of_markdown_and_the_hidden_ids(curation):
    await curation.add(A, MOD, "sigmoid.md", md("sigmoid", prerequisites=["derivatives"]))
    await curation.hide(A, MOD, "bayes-theorem")
    with zipfile.ZipFile(io.BytesIO(await curation.export(A))) as archive:
        assert sorted(archive.namelist()) == ["calculus/sigmoid.md", "hidden.txt"]
        assert archive.read("calculus/sigmoid.md") == md("sigmoid", prerequisites=["derivatives"])
        assert archive.read("hidden.txt") == b"bayes-theorem\n"
    with pytest.raises(NotFound, match="no notes of its own"):
        await curation.export(B)


async def test_restore_brings_back_every_servers_notes(curation, small_settings, embedder):
    await curation.add(A, MOD, "sigmoid.md", md("sigmoid", prerequisites=["derivatives"]))
    await curation.add(A, MOD, "softmax.md", md("softmax", prerequisites=["sigmoid"]))  # needs the one above
    await curation.hide(B, MOD, "bayes-theorem")
    fresh = AnswerService(small_settings, embedder=embedder)
    fresh.ensure_ready()
    again = CurationService(curation.notes._store, fresh, small_settings)
    assert await again.restore() == 2
    assert {"sigmoid", "softmax"} <= set(fresh.corpus_for(A).notes) and "bayes-theorem" in fresh.corpus_for(A).notes
    assert "bayes-theorem" not in fresh.corpus_for(B).notes and "sigmoid" not in fresh.corpus_for(B).notes
    listing = await again.listing(A)
    assert [n.id for n in listing.notes] == ["sigmoid", "softmax"] and listing.hidden == ()


async def test_server_notes_obey_the_corpus_size_limits_of_the_settings(small_settings, embedder):
    strict = small_settings.model_copy(update={"max_paragraph_bytes": 256})
    answers = AnswerService(strict, embedder=embedder)
    answers.ensure_ready()
    store = await Store.open(strict.database_path)
    try:
        wordy = dict(example="Words and more words. " * 20)  # one 440-byte paragraph
        await CurationService(store, answers, small_settings).add(A, MOD, "wordy.md", md("wordy", **wordy))
        service = CurationService(store, answers, strict)
        with pytest.raises(NoteInvalid, match=r"other\.md:\d+: paragraph is 440 bytes, over the limit of 256"):
            await service.add(A, MOD, "other.md", md("other", **wordy))
        await service.restore()  # as at a start with the stricter settings: the stored note is not served
        assert "wordy" not in service.server(A).notes and answers.corpus_for(A).get("wordy") is None
    finally:
        await store.close()


async def test_a_note_added_through_one_process_answers_in_another_within_two_seconds(curation, small_settings,
                                                                                      embedder):
    """Two processes on one database: B follows A's changes (NOTIFY on PostgreSQL, polling on SQLite)."""
    import asyncio
    import time

    other = AnswerService(small_settings, embedder=embedder)
    other.ensure_ready()
    b = CurationService(await Store.open(curation.notes._store.db.url), other,
                        small_settings.model_copy(update={"notes_poll_seconds": 0.5}))
    await b.restore()
    follower = asyncio.create_task(b.follow_changes())
    try:
        await asyncio.sleep(0.2)  # B is listening (or polling)
        question = "what does the zorblax activation squash its input into?"
        assert "zorblax" not in other.corpus_for(A).notes
        started = time.monotonic()
        await curation.add(A, MOD, "zorblax.md", md("zorblax", title="The zorblax activation",
                                                    intuition="The zorblax activation squashes its input into a "
                                                              "zorblax interval between minus two and two."))
        while "zorblax" not in other.corpus_for(A).notes:
            assert time.monotonic() - started < 2.0, "process B did not see the new note within 2 s"
            await asyncio.sleep(0.05)
        assert other.answer(question, guild_id=A).best.id == "zorblax"
        assert "zorblax" not in other.corpus_for(B).notes  # only that server's index changed
        await curation.remove(A, MOD, "zorblax")
        while "zorblax" in other.corpus_for(A).notes:
            assert time.monotonic() - started < 6.0, "process B did not see the removal"
            await asyncio.sleep(0.05)
    finally:
        follower.cancel()
        await b.notes._store.close()
