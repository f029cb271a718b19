"""The layering the README promises: services and storage never import discord; cogs stay small."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DISCORD_FREE = sorted(
    [*REPO.glob("bot/core/**/*.py"), *REPO.glob("bot/providers/*.py"), *REPO.glob("storage/*.py")]
    + [REPO / "bot" / "app" / "config.py"]
)
MAX_COG_LINES = 300


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", DISCORD_FREE, ids=lambda p: str(p.relative_to(REPO)))
def test_services_and_storage_do_not_import_discord(path: Path) -> None:
    assert not {m for m in imported_modules(path) if m.split(".")[0] in {"discord", "cogs"}}


@pytest.mark.parametrize("path", sorted(REPO.glob("cogs/*.py")), ids=lambda p: p.name)
def test_cogs_stay_thin(path: Path) -> None:
    assert len(path.read_text("utf-8").splitlines()) <= MAX_COG_LINES


def test_there_are_services_to_check() -> None:
    assert len(DISCORD_FREE) >= 8
