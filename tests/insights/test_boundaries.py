"""Architecture rules of the gap report and privacy packages: no discord import; SQL only in their query modules;
modules under 500 lines."""

from __future__ import annotations

import re
from pathlib import Path

import bot.discord.gaps
import bot.discord.privacy
import bot.insights
import bot.privacy
from tests.study.test_boundaries import imported_modules

DOMAIN = [Path(p.__file__).parent for p in (bot.insights, bot.privacy)]
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")
SQL_MODULES = {"gap_queries.py", "store.py"}


def test_domain_packages_never_import_discord():
    modules = [m for pkg in DOMAIN for m in sorted(pkg.glob("*.py"))]
    offenders = {p.name: m for p in modules for m in imported_modules(p) if m.split(".")[0] == "discord"}
    assert modules and offenders == {}


def test_sql_lives_only_in_the_query_modules():
    modules = [m for pkg in DOMAIN for m in pkg.glob("*.py")]
    cogs = [m for p in (bot.discord.gaps, bot.discord.privacy) for m in Path(p.__file__).parent.glob("*.py")]
    assert [p.name for p in modules + cogs if p.name not in SQL_MODULES and SQL.search(p.read_text())] == []


def test_modules_stay_small():
    modules = [m for pkg in DOMAIN for m in pkg.glob("*.py")]
    modules += [m for p in (bot.discord.gaps, bot.discord.privacy) for m in Path(p.__file__).parent.glob("*.py")]
    assert {p.name: n for p in modules if (n := len(p.read_text().splitlines())) >= 500} == {}


def test_queries_go_through_the_storage_interface():
    """No database driver and nothing SQLite-only: the same SQL runs on SQLite and PostgreSQL (bot/study/storage)."""
    modules = [m for pkg in DOMAIN for m in pkg.glob("*.py")]
    drivers = {(p.name, m) for p in modules for m in imported_modules(p) if m in ("sqlite3", "aiosqlite", "asyncpg")}
    sqlite_only = re.compile(r"\browid\b|sqlite_master|PRAGMA", re.IGNORECASE)
    assert drivers == set() and [p.name for p in modules if sqlite_only.search(p.read_text())] == []
