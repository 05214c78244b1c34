"""Discord stays at the edge: no domain module imports `discord` or `bot.discord`, directly or transitively."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DOMAIN = ("bot.knowledge", "bot.retrieval", "bot.study", "bot.curation", "bot.errors", "bot.config")
FORBIDDEN = ("discord", "bot.discord")


def forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def domain_files() -> list[Path]:
    files = []
    for name in DOMAIN:
        path = REPO / Path(*name.split("."))
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return files


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` statement of the file names, at any depth (function-level imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_domain_module_imports_discord_or_the_discord_edge():
    files = domain_files()
    offenders = {str(p.relative_to(REPO)): sorted(m for m in imported_modules(p) if forbidden(m)) for p in files}
    assert len(files) > 20 and {p: m for p, m in offenders.items() if m} == {}


IMPORT_ALL = """
import importlib, json, pkgutil, sys
root = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(getattr(root, "__path__", []), root.__name__ + "."):
    importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("package", DOMAIN)
def test_importing_a_domain_package_loads_no_discord_module(package):
    """In a fresh interpreter: import every module of the package, then look at everything that got loaded."""
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL, package], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert package in loaded
    assert [m for m in loaded if forbidden(m)] == []


def test_errors_depend_on_nothing_else_of_studybot():
    """Every layer raises bot.errors, so it imports no layer (no import cycle, not even a type-only one)."""
    imports = imported_modules(REPO / "bot" / "errors.py")
    assert [m for m in imports if m == "bot" or m.startswith("bot.")] == []
