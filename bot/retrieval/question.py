"""Question understanding: turn a learner's raw post into the text retrieval should read.

Real posts are not tidy questions. They carry Discord markup (mentions, custom emoji, timestamps), URLs,
code blocks and stack traces, greetings and thanks, several paragraphs of context, and typos. Each step
below removes one kind of noise; `docs/EVALUATION.md` measures each on the dev and real question sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

# -- Discord markup and links ------------------------------------------------------------------------
_MARKUP = re.compile(
    r"<@[!&]?\d+>"            # user and role mentions
    r"|<#\d+>"                # channel mentions
    r"|</[\w -]+:\d+>"        # slash-command mentions
    r"|<a?:\w+:\d+>"          # custom emoji
    r"|<t:-?\d+(?::[tTdDfFR])?>"  # timestamps
    r"|<?https?://[^\s>]+>?"  # links (angle brackets suppress embeds)
    r"|(?<![\w@])@(?:everyone|here|[\w.]{2,32}\b)"  # typed @names
    r"|(?<!\w):[a-z0-9_+-]{2,32}:(?!\w)"   # :emoji: shortcodes
)
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]")
_FORMATTING = re.compile(r"\|\||\*\*|__|~~|^\s*>+\s?|^\s*#{1,3}\s", re.MULTILINE)


def strip_markup(text: str) -> str:
    """The text without Discord mentions, custom emoji, timestamps, URLs and formatting marks."""
    text = _MARKUP.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = _FORMATTING.sub(" ", text)
    return text


# -- code and stack traces ---------------------------------------------------------------------------
_FENCE = re.compile(r"```[\w+-]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`")
_TRACE_LINE = re.compile(
    r"^\s*(Traceback \(most recent call last\)|File \".*\", line \d+|at [\w$.<>]+\(.*\)|\^+\s*$|~+\s*$"
    r"|\[?\d{4}-\d\d-\d\d[ T][\d:.,]+\]?\s)",
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_identifier(name: str) -> list[str]:
    """`ScaledDotProductAttention` -> scaled dot product attention; `keep_prob` -> keep prob."""
    return [p.lower() for part in name.split("_") for p in _CAMEL.findall(part)]


def _looks_like_code(line: str) -> bool:
    s = line.strip()
    if not s:
        return False
    symbols = sum(ch in "=()[]{};<>+*/\\|&%$#" for ch in s)
    return (symbols >= 4 and symbols / len(s) > 0.08) or s.startswith((">>> ", "$ ", "import ", "from ", "def "))


def set_code_aside(text: str) -> tuple[str, list[str]]:
    """Prose without code blocks, stack-trace or code-like lines; plus the words named in the code."""
    code: list[str] = []

    def keep(match: re.Match) -> str:
        code.append(match.group(1))
        return " "

    text = _FENCE.sub(keep, text)
    prose_lines = []
    for line in text.splitlines():
        if _TRACE_LINE.match(line) or _looks_like_code(line):
            code.append(line)
        else:
            prose_lines.append(line)
    text = "\n".join(prose_lines)
    # Inline code stays in the sentence, as words: `keep_prob` reads as "keep prob".
    text = _INLINE.sub(lambda m: " ".join(w for tok in _IDENTIFIER.findall(m.group(1))
                                          for w in split_identifier(tok)), text)
    words = [w for block in code for tok in _IDENTIFIER.findall(block) for w in split_identifier(tok)]
    return text, words


# -- focusing long posts on their question -------------------------------------------------------------
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# Greetings, thanks and apologies: removed where they stand at the start or end of a sentence.
_GREETING = re.compile(
    r"^(hi|hello|hey|dear|greetings|good (morning|afternoon|evening))\b[^,.!?:]{0,30}[,.!:]?\s*",
    re.IGNORECASE,
)
_SOCIAL = re.compile(
    r"^(thanks?( you)?( so much| very much| a lot| in advance)?|thx|cheers|(best |kind )?regards"
    r"|any (help|advice|pointers?) (is|would be) (much |greatly |really )?appreciated"
    r"|(i )?(would )?(really )?appreciate (it|any help)|hope (you|this)\b.*|edit:?"
    r"|sorry (if|for)\b.{0,60})[\s!.,:)]*$",
    re.IGNORECASE,
)
_ASKING = re.compile(
    r"\?|^(what|why|how|when|where|which|who|is|are|was|were|can|could|does|do|did|should|would|will"
    r"|explain|define|describe|discuss|compare|outline|differentiate|write down|state|list|eli5|tell me)\b",
    re.IGNORECASE,
)
FOCUS_WORDS = 120  # posts longer than this are focused: the opening, then question sentences, then the rest
_BUDGET = 120


def focus(text: str) -> str:
    """Drop greetings and thanks; in a long post keep its opening and its question sentences first."""
    sentences = [_GREETING.sub("", s.strip()) for s in _SENTENCE.split(text) if s and s.strip()]
    sentences = [s for s in sentences if s and not _SOCIAL.match(s)] or [" ".join(text.split())]
    if sum(len(s.split()) for s in sentences) <= FOCUS_WORDS:
        return " ".join(sentences)
    order = [0] + [i for i in range(1, len(sentences)) if _ASKING.search(sentences[i])]
    order += [i for i in range(1, len(sentences)) if i not in order]
    kept, budget = set(), _BUDGET
    for i in order:
        if budget <= 0:
            break
        kept.add(i)
        budget -= len(sentences[i].split())
    return " ".join(sentences[i] for i in sorted(kept))


# -- typos ----------------------------------------------------------------------------------------------
_WORD = re.compile(r"[A-Za-z]{4,}")


def _deletes(word: str) -> Iterable[str]:
    yield word
    for i in range(len(word)):
        yield word[:i] + word[i + 1:]


class Speller:
    """Corrects words that no known vocabulary has to a corpus word one edit away (symmetric deletes).

    `known` holds every word that must stay as typed (the corpus words plus a general word list, such as
    the embedding model's own vocabulary); `targets` maps corpus words to their frequency, the candidates.
    """

    def __init__(self, known: Iterable[str], targets: dict[str, int]):
        self.known = frozenset(w.lower() for w in known) | frozenset(targets)
        self.targets = targets
        self._by_delete: dict[str, list[str]] = {}
        for word in targets:
            if len(word) >= 4:
                for d in set(_deletes(word)):
                    self._by_delete.setdefault(d, []).append(word)
        self.correct = lru_cache(maxsize=20_000)(self._correct)

    def _correct(self, word: str) -> str:
        lower = word.lower()
        if lower in self.known or len(lower) < 5:
            return word
        candidates = {c for d in set(_deletes(lower)) for c in self._by_delete.get(d, ())}
        candidates = [c for c in candidates if abs(len(c) - len(lower)) <= 1 and c[0] == lower[0]]
        if not candidates:
            return word
        return max(candidates, key=lambda c: (self.targets[c], c))

    def fix(self, text: str) -> str:
        return _WORD.sub(lambda m: self.correct(m.group(0)), text)


# -- the whole reading ----------------------------------------------------------------------------------
STEPS = ("markup", "code", "focus", "typos")


@dataclass(frozen=True)
class QuestionReader:
    """Reads a raw post into retrieval text; `steps` names the steps to apply (all by default)."""

    speller: Speller | None = None
    steps: tuple[str, ...] = STEPS

    def read(self, raw: str) -> str:
        text = raw
        if "markup" in self.steps:
            text = strip_markup(text)
        code_words: list[str] = []
        if "code" in self.steps:
            text, code_words = set_code_aside(text)
        if "focus" in self.steps:
            text = focus(text)
        if "typos" in self.steps and self.speller is not None:
            text = self.speller.fix(text)
            code_words = [w for w in code_words if w in self.speller.targets]
        text = " ".join(text.split())
        if code_words:
            seen = dict.fromkeys(w for w in code_words if len(w) >= 3)
            named = " ".join(list(seen)[:12])
            text = f"{text} ({named})" if text else named
        return text or " ".join(raw.split())
