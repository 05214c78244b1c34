"""Architecture rules of the study layer: no discord import; all SQL inside the storage package, and each database
driver only in its backend module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import bot.study

STUDY = Path(bot.study.__file__).parent
STORAGE = STUDY / "storage"
MODULES = sorted(STUDY.rglob("*.py"))
DRIVERS = {"aiosqlite": STORAGE / "sqlite.py", "asyncpg": STORAGE / "postgres.py"}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_study_layer_never_imports_discord():
    assert MODULES
    offenders = {p.name: m for p in MODULES for m in imported_modules(p) if m.split(".")[0] == "discord"}
    assert offenders == {}


def test_sql_lives_only_in_storage():
    sql = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")
    assert STORAGE / "migrations.py" in MODULES
    offenders = [p.name for p in MODULES if STORAGE not in p.parents and sql.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    drivers = {(p.name, m) for p in MODULES for m in imported_modules(p) if m in DRIVERS and DRIVERS[m] != p}
    assert drivers == set()
