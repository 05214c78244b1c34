"""Architecture rules of the domain packages touched by server notes: no discord import; curation SQL in store.py."""

from __future__ import annotations

import re
from pathlib import Path

import bot.curation
import bot.knowledge
import bot.retrieval
from tests.study.test_boundaries import imported_modules

PACKAGES = [Path(p.__file__).parent for p in (bot.curation, bot.knowledge, bot.retrieval)]


def test_domain_packages_never_import_discord():
    modules = [m for pkg in PACKAGES for m in sorted(pkg.glob("*.py"))]
    offenders = {p.name: m for p in modules for m in imported_modules(p) if m.split(".")[0] == "discord"}
    assert modules and offenders == {}


def test_curation_sql_lives_only_in_its_store():
    sql = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")
    curation = Path(bot.curation.__file__).parent
    assert [p.name for p in curation.glob("*.py") if p.name != "store.py" and sql.search(p.read_text())] == []
