"""Text helpers for Discord's limits: clean cuts, safe names, pages."""

from __future__ import annotations

import re

# Discord's embed limits (https-free summary): title 256, description 4096, field name 256,
# field value 1024, footer 2048, 25 fields, 6000 characters in all; message content 2000.
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
CONTENT_MAX = 2000
SELECT_LABEL_MAX = 100
SELECT_DESCRIPTION_MAX = 100
CHOICE_NAME_MAX = 100

ELLIPSIS = "…"


def clean_cut(text: str, limit: int) -> str:
    """Text no longer than `limit`, cut at a paragraph, sentence or word boundary, with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    budget = limit - len(ELLIPSIS)
    head = text[:budget]
    for boundary in ("\n\n", "\n", ". ", "; ", ", ", " "):
        cut = head.rfind(boundary)
        if cut >= budget * 0.6:
            head = head[: cut + (1 if boundary in (". ", "; ", ", ") else 0)]
            break
    head = head.rstrip()
    if head.count("`") % 2:  # do not leave an inline code span open
        head = head[: head.rfind("`")].rstrip()
    return head + ELLIPSIS


def pages(text: str, limit: int = DESCRIPTION_MAX - 100) -> list[str]:
    """Split long Markdown into pages of at most `limit` characters, at paragraph boundaries when possible."""
    out: list[str] = []
    current = ""
    for para in re.split(r"(\n\s*\n)", text):
        if len(current) + len(para) <= limit:
            current += para
            continue
        if current.strip():
            out.append(current.strip())
        while len(para) > limit:
            piece = clean_cut(para, limit)
            out.append(piece)
            para = para[len(piece) - len(ELLIPSIS):].lstrip()
        current = para
    if current.strip():
        out.append(current.strip())
    return out or [""]


def strip_bot_mention(content: str, bot_id: int) -> str:
    """The message text without the bot's own mention(s)."""
    return re.sub(rf"<@!?{bot_id}>", " ", content).strip()


def neutralise_mentions(text: str) -> str:
    """Make @everyone/@here inert in text we echo back (allowed_mentions is also set to none)."""
    return text.replace("@everyone", "@\u200beveryone").replace("@here", "@\u200bhere")
