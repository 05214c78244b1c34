"""Architecture rule of curation: its SQL lives in store.py (no discord import: tests/test_architecture.py)."""

from __future__ import annotations

import re
from pathlib import Path

import bot.curation


def test_curation_sql_lives_only_in_its_store():
    sql = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")
    curation = Path(bot.curation.__file__).parent
    assert [p.name for p in curation.glob("*.py") if p.name != "store.py" and sql.search(p.read_text())] == []
