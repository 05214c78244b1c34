"""studybot's own BM25 tokenizer against bm25s's, in the same run (issue 16).

    .venv/bin/python benchmarks/tokenizer_bench.py [--repeats 7]

(a) Indexing: tokenize every chunk of the shipped corpus and map the tokens to vocabulary ids, the way
`Retriever.__init__` does (studybot: `lexical_tokens` + a vocab dict; bm25s: `bm25s.tokenize(...)`, and
`bm25s.tokenization.Tokenizer(...).tokenize(...)`, both with PyStemmer "english" and stopwords "en").
(b) 1,000 questions (eval/dev.jsonl repeated), tokenized one at a time as the bot does, into strings.
Every repetition starts cold (stem caches cleared, fresh Tokenizer); the "warm" rows reuse the caches, as a
running bot does. Reports the median of the repetitions and the ratio to studybot's code, and checks the
tokens are identical on all chunks and all dev and real questions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bm25s  # noqa: E402
import Stemmer  # noqa: E402
from bm25s.tokenization import Tokenizer  # noqa: E402

from bot.knowledge.corpus import load_corpus  # noqa: E402
from bot.retrieval import search  # noqa: E402
from bot.retrieval.chunking import chunk_note  # noqa: E402

STEMMER = Stemmer.Stemmer("english")


def ours_index(texts):
    vocab: dict[str, int] = {}
    return [[vocab.setdefault(t, len(vocab)) for t in search.lexical_tokens(x)] for x in texts], vocab


def bm25s_index(texts):
    return bm25s.tokenize(texts, stopwords="en", stemmer=STEMMER, show_progress=False)


def tokenizer_index(texts, tok=None):
    tok = tok or Tokenizer(stopwords="en", stemmer=STEMMER)
    return tok.tokenize(texts, return_as="tuple", show_progress=False)


def ours_questions(qs):
    return [search.lexical_tokens(q) for q in qs]


def bm25s_questions(qs):
    return [bm25s.tokenize([q], stopwords="en", stemmer=STEMMER, return_ids=False, show_progress=False)[0]
            for q in qs]


def tokenizer_questions(qs, tok=None):
    # A question tokenizer must keep words that are not in the chunks' vocabulary (coverage counts them), so it
    # has to add them to its own vocabulary: update_vocab=True.
    tok = tok or Tokenizer(stopwords="en", stemmer=STEMMER)
    return [tok.tokenize([q], update_vocab=True, return_as="string", show_progress=False)[0] for q in qs]


def timed(fn, arg, repeats, cold):
    out = []
    for _ in range(repeats):
        if cold:
            search._stem.cache_clear()
        t = time.perf_counter()
        fn(arg)
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000, min(out) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    corpus = load_corpus(REPO / "corpus")
    texts = [c.lexical_text for n in corpus.notes.values() for c in chunk_note(n)]
    dev = [json.loads(line)["q"] for line in (REPO / "eval/dev.jsonl").read_text().splitlines() if line.strip()]
    real = [json.loads(line)["q"] for line in (REPO / "eval/real.jsonl").read_text().splitlines() if line.strip()]
    questions = (dev * (1000 // len(dev) + 1))[:1000]

    # Same tokens?
    ours = [search.lexical_tokens(x) for x in texts]
    same_chunks = (ours == bm25s.tokenize(texts, stopwords="en", stemmer=STEMMER, return_ids=False,
                                          show_progress=False)
                   and ours == Tokenizer(stopwords="en", stemmer=STEMMER).tokenize(
                       texts, return_as="string", show_progress=False))
    qs = dev + real
    same_q = ours_questions(qs) == bm25s_questions(qs) == tokenizer_questions(qs)
    print(f"{len(texts)} chunks, {len(qs)} dev+real questions: identical tokens on chunks {same_chunks}, "
          f"on questions {same_q}")

    warm_q = Tokenizer(stopwords="en", stemmer=STEMMER)
    tokenizer_questions(questions, warm_q)
    rows = [
        ("(a) index chunks, cold", texts, True,
         [("studybot lexical_tokens", ours_index), ("bm25s.tokenize", bm25s_index),
          ("bm25s Tokenizer", tokenizer_index)]),
        ("(b) 1,000 questions, cold", questions, True,
         [("studybot lexical_tokens", ours_questions), ("bm25s.tokenize", bm25s_questions),
          ("bm25s Tokenizer", tokenizer_questions)]),
        ("(b) 1,000 questions, warm", questions, False,
         [("studybot lexical_tokens", ours_questions), ("bm25s.tokenize", bm25s_questions),
          ("bm25s Tokenizer", lambda q: tokenizer_questions(q, warm_q))]),
    ]
    print("| workload | tokenizer | median ms | min ms | ratio to studybot (median) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for label, arg, cold, fns in rows:
        base = None
        for name, fn in fns:
            med, low = timed(fn, arg, args.repeats, cold)
            base = base or med
            print(f"| {label} | {name} | {med:.1f} | {low:.1f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
