"""The domain package stays pure: no I/O, no clocks, no randomness, no async frameworks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chat_server.domain

DOMAIN_DIR = Path(chat_server.domain.__file__).parent
DOMAIN_FILES = sorted(DOMAIN_DIR.glob("*.py"))
# Top-level modules that mean I/O, wall-clock time, randomness or an event loop. datetime and
# zoneinfo are fine: the domain is handed `now` and only computes with it.
FORBIDDEN_MODULES = frozenset(
    {
        "aiohttp",
        "redis",
        "asyncio",
        "websockets",
        "socket",
        "os",
        "subprocess",
        "time",
        "random",
        "secrets",
    }
)
FORBIDDEN_CALLS = frozenset({"open"})


def imported_modules(tree: ast.AST) -> set[str]:
    """Top-level names of every absolute module imported anywhere in ``tree``."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def called_names(tree: ast.AST) -> set[str]:
    """Plain names and attribute names that are called anywhere in ``tree``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return names


def test_the_domain_package_has_modules() -> None:
    """The check below really looks at the domain modules (it is not vacuous)."""
    names = {path.stem for path in DOMAIN_FILES}
    assert {"models", "protocol", "queue", "ratelimit", "delivery"} <= names


def test_the_checker_sees_forbidden_imports() -> None:
    """The import reader catches plain, dotted and from-imports, and allows datetime.time."""
    tree = ast.parse(
        "import os.path\nfrom redis.asyncio import Redis\nimport time as t\n"
        "from datetime import time\nfrom .models import X\n"
    )
    assert imported_modules(tree) & FORBIDDEN_MODULES == {"os", "redis", "time"}
    assert "open" in called_names(ast.parse("with open('x') as f: pass"))


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.name)
def test_module_imports_nothing_impure(path: Path) -> None:
    """No domain module imports a module that does I/O, reads clocks or draws random numbers."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    assert imported_modules(tree) & FORBIDDEN_MODULES == set()


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.name)
def test_module_never_opens_files(path: Path) -> None:
    """No domain module calls open()."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    assert called_names(tree) & FORBIDDEN_CALLS == set()
