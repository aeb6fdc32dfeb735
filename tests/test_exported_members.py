"""Each package's front door: ``__all__`` is sorted and lists exactly its public names."""

from __future__ import annotations

import importlib

import pytest

PARTIES = ["wallet", "issuer", "verifier", "registry"]
PACKAGES = ["protocol", "common", "storage", *PARTIES]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    public = {
        attr for attr, value in vars(module).items()
        if not attr.startswith("_")
        and getattr(value, "__module__", name).startswith(name)
        and not isinstance(value, type(importlib))  # submodules are reachable, not exported
    }
    missing = public - set(exported)
    assert not missing, f"{name} has public names missing from __all__: {sorted(missing)}"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names {attr}, which does not exist"


@pytest.mark.parametrize("name", [*PARTIES, "storage"])
def test_packages_never_import_each_other(name: str) -> None:
    """wallet, issuer, verifier and registry depend on protocol (and the storage glue) only (DESIGN.md);
    the storage glue depends on no party."""
    import ast
    from pathlib import Path

    root = Path(importlib.import_module(name).__file__).parent  # type: ignore[arg-type]
    others = set(PARTIES) - {name} | {"copyme"}
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            else:
                continue
            for target in targets:
                assert target.split(".")[0] not in others, f"{path} imports {target}"


def test_protocol_imports_no_framework() -> None:
    import ast
    from pathlib import Path

    root = Path(importlib.import_module("protocol").__file__).parent  # type: ignore[arg-type]
    banned = {"fastapi", "starlette", "typer", "click", "sqlite3", "sqlite_utils", "uvicorn", "rich"}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for target in names:
                assert target.split(".")[0] not in banned, f"{path} imports {target}"


@pytest.mark.parametrize(("name", "below"), [("protocol", {"common"}), ("common", {*PARTIES, "copyme"})])
def test_the_ground_imports_nothing_above_it(name: str, below: set[str]) -> None:
    """protocol never imports common; common (the shared web glue beside it) never imports a party."""
    import ast
    from pathlib import Path

    root = Path(importlib.import_module(name).__file__).parent  # type: ignore[arg-type]
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for target in names:
                assert target.split(".")[0] not in below, f"{path} imports {target}"
