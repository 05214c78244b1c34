"""Question understanding: what retrieval reads of a real post (markup, code, long posts, typos)."""

from __future__ import annotations

import pytest

from bot.retrieval.question import QuestionReader, Speller, focus, set_code_aside, split_identifier, strip_markup

MARKUP = "<@123456789012345678> <@!42> <@&77> <#99> <:pepe:123> <a:dance:456> <t:1700000000:R> :thinking: 🤔"


@pytest.mark.parametrize("markup", [
    "<@123456789012345678>", "<@!42>", "<@&77>", "<#99>", "<:pepe:123>", "<a:dance:456>",
    "<t:1700000000:R>", "https://example.com/x?y=1", "<https://example.com>", "@bob", "@everyone", ":thinking:",
    "🤔", "</ask:123>",
])
def test_each_kind_of_markup_is_removed(markup):
    assert " ".join(strip_markup(f"{markup} what is a confusion matrix? {markup}").split()) == \
        "what is a confusion matrix?"


def test_markup_never_changes_what_retrieval_reads():
    reader = QuestionReader(Speller(known=set(), targets={"matrix": 5, "confusion": 3}))
    plain = "can you tell me what a confusion matrix is?"
    assert reader.read(f"{MARKUP} {plain} https://discord.com/channels/1/2/3") == reader.read(plain) == plain


def test_identifiers_are_split_into_words():
    assert split_identifier("ScaledDotProductAttention") == ["scaled", "dot", "product", "attention"]
    assert split_identifier("keep_prob") == ["keep", "prob"]
    assert split_identifier("HTTPServer2") == ["http", "server", "2"]


def test_code_and_stack_traces_are_set_aside_keeping_concept_names():
    post = (
        "Why does my loss become nan?\n"
        "```python\nloss = nn.CrossEntropyLoss()(logits, y)\nopt = torch.optim.Adam(model.parameters(), lr=10)\n```\n"
        "Traceback (most recent call last):\n"
        '  File "train.py", line 12, in <module>\n'
        "Thanks in advance!"
    )
    prose, words = set_code_aside(post)
    assert "Traceback" not in prose and "train.py" not in prose and "nn." not in prose
    assert "Why does my loss become nan?" in prose
    assert {"cross", "entropy", "loss", "adam"} <= set(words)


def test_inline_code_stays_in_the_sentence_as_words():
    prose, _ = set_code_aside("why is `keep_prob` divided in `sparse_dropout`?")
    assert " ".join(prose.split()) == "why is keep prob divided in sparse dropout?"


def test_the_reader_keeps_only_corpus_words_from_code():
    reader = QuestionReader(Speller(known={"model"}, targets={"attention": 9, "scaled": 2, "product": 3}))
    text = reader.read("What is temper here?\n```\nattn = ScaledDotProductAttention(temperature=d ** 0.5)\n```")
    assert text.startswith("What is temper here?")
    assert "(scaled product attention)" in text and "attn" not in text


def test_greetings_and_thanks_are_dropped():
    assert focus("Hi everyone, what is a p-value? Thanks in advance!") == "what is a p-value?"
    assert focus("Dear peers, I am confused by p-values.") == "I am confused by p-values."


def test_long_posts_keep_their_opening_and_question_first():
    filler = " ".join(["I trained the model for many epochs on my own data set with the default settings."] * 12)
    post = f"Loss does not decrease with Adam. {filler} Why does the learning rate matter so much here?"
    focused = focus(post)
    assert focused.startswith("Loss does not decrease with Adam.")
    assert "Why does the learning rate matter so much here?" in focused
    assert len(focused.split()) < len(post.split())


def test_short_posts_are_not_focused():
    post = "My model overfits. It has ten layers. What can I do?"
    assert focus(post) == post


def test_typos_are_corrected_toward_corpus_words_only():
    speller = Speller(known={"rice", "cook", "devise", "value"}, targets={"value": 40, "eigen": 8, "interval": 12})
    assert speller.fix("eigen vlaue") == "eigen value"
    assert speller.fix("a fixed interbal schedule") == "a fixed interval schedule"
    assert speller.fix("How do I cook rice") == "How do I cook rice"  # known words are never "corrected"
    assert speller.fix("xylophone") == "xylophone"  # nothing close: left as typed


@pytest.mark.model
def test_mentions_do_not_change_the_answer(shipped_service):
    plain = shipped_service.answer("can you tell me what a confusion matrix is?")
    marked = shipped_service.answer("<@123456> @bob can you tell me what a confusion matrix is? <:hmm:42> https://x.y/z")
    assert plain.answered and marked.answered
    assert [r.id for r in marked.results] == [r.id for r in plain.results]
    assert marked.best.id == "classification-metrics"


@pytest.mark.model
def test_a_question_of_only_markup_gets_a_friendly_message(shipped_service):
    from bot.errors import InvalidInput

    with pytest.raises(InvalidInput, match="in words"):
        shipped_service.answer("<@123> <:wave:1> https://example.com")


def test_the_reader_applies_the_speller():
    reader = QuestionReader(Speller(known=set(), targets={"value": 40, "eigen": 8}))
    assert reader.read("what is an eigen vlaue?") == "what is an eigen value?"


@pytest.mark.model
@pytest.mark.parametrize("question, note, only", [
    # The dense model alone ranks another note first; the words of the question decide.
    ("what's the reparameterization trick and why can't you backprop through sampling", "variational-autoencoders", "bm25"),
    # BM25 alone is misled by shared words; the meaning decides.
    ("why do i stop noticing the fridge hum after a few minutes", "habituation-and-sensitization", "dense"),
    ("How do neurons detect and assemble edges?", "orientation-selectivity", "dense"),
])
def test_the_hybrid_ranking_uses_both_retrievers(shipped_service, question, note, only):
    state = shipped_service.state
    reading = state.retriever.read(question)
    vector = shipped_service.embedder.encode([reading])[0]
    first = {m: state.retriever.rank(reading, vector, m)[0].note_id for m in ("hybrid", "dense", "bm25")}
    assert first["hybrid"] == note
    other = "dense" if only == "bm25" else "bm25"
    assert first[other] != note, f"{other} alone already finds it: the case no longer tests fusion"
