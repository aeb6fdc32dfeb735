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


#: Import circles between modules of one package that are known and not yet mended (none now).
KNOWN_CIRCLES: list[set[str]] = []


def _module_imports(name: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (anywhere in the file, lazily too)."""
    import ast
    from pathlib import Path

    root = Path(importlib.import_module(name).__file__).parent  # type: ignore[arg-type]
    modules = {".".join((name, *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__"): p
               for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                candidates = [f"{base}.{a.name}" for a in node.names] + [base]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            found.update(c for c in candidates if c in modules and c != module and c != name)
        graph[module] = found
    return graph


@pytest.mark.parametrize("name", PACKAGES)
def test_no_new_import_circles_inside_a_package(name: str) -> None:
    """A module never needs, through its imports, a module that needs it (the package front door aside)."""
    graph = _module_imports(name)
    circles: list[set[str]] = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start and len(path) > 1:
                    circles.append(set(path))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    new = [c for c in circles if not any(c <= known for known in KNOWN_CIRCLES)]
    assert not new, f"import circles in {name}: {sorted(sorted(c) for c in new)}"
