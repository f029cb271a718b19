"""The layering docs/architecture.md describes, checked on every module's runtime imports."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_COG_LINES = 300
# Each layer, and the top-level packages (or bot's sub-packages) its modules may not import at run time.
FORBIDDEN = {
    "bot/core": {"discord", "openai", "aiohttp", "cogs", "bot.app", "bot.discord_ui", "bot.providers"},
    "bot/providers": {"discord", "cogs", "bot.app", "bot.discord_ui"},
    "bot/discord_ui": {"cogs", "bot.app"},
    "storage": {"discord", "openai", "cogs", "bot"},
}
LAYERED = [(path, layer) for layer in FORBIDDEN for path in sorted(REPO.glob(f"{layer}/**/*.py"))]


def runtime_imports(path: Path) -> set[str]:
    """The modules ``path`` imports, leaving out those imported only for type checking."""
    tree = ast.parse(path.read_text("utf-8"))
    type_only: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(ast.walk(node))
    names: set[str] = set()
    for node in ast.walk(tree):
        if node in type_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def reaches(module: str, forbidden: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


@pytest.mark.parametrize(("path", "layer"), LAYERED, ids=[str(path.relative_to(REPO)) for path, _ in LAYERED])
def test_each_layer_imports_only_what_is_beneath_it(path: Path, layer: str) -> None:
    crossing = {m for m in runtime_imports(path) for f in FORBIDDEN[layer] if reaches(m, f)}
    assert not crossing, f"{path.relative_to(REPO)} imports {sorted(crossing)}"


@pytest.mark.parametrize("path", sorted(REPO.glob("cogs/*.py")), ids=lambda p: p.name)
def test_no_cog_imports_another_cog(path: Path) -> None:
    assert not {m for m in runtime_imports(path) if reaches(m, "cogs")}


@pytest.mark.parametrize("path", sorted(REPO.glob("cogs/*.py")), ids=lambda p: p.name)
def test_cogs_stay_thin(path: Path) -> None:
    assert len(path.read_text("utf-8").splitlines()) <= MAX_COG_LINES


def test_the_layers_hold_modules_to_check() -> None:
    assert {layer for _, layer in LAYERED} == set(FORBIDDEN)
    assert len(LAYERED) >= 40


def test_the_check_sees_a_crossing(tmp_path: Path) -> None:
    module = tmp_path / "crossing.py"
    module.write_text("from typing import TYPE_CHECKING\nimport discord\nif TYPE_CHECKING:\n    import cogs.quota\n")
    assert runtime_imports(module) == {"typing", "discord"}
