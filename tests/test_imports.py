"""No import circles inside a package: each module's relative imports, top level or deferred
inside a function (those under ``if TYPE_CHECKING`` aside), form a graph without cycles (a circle
once hid behind a function-level import between the wallet's local API and its web pages)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: registry still has one (store.py opens pg_store.py, which imports store.py's row types).
PACKAGES = ("protocol", "common", "storage", "wallet", "verifier", "issuer", "copyme")


def _graph(package: str) -> dict[str, set[str]]:
    modules = {p.stem if p.name != "__init__.py" else "__init__": p for p in (ROOT / package).glob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in typing_only:
                targets = [node.module] if node.module else [alias.name for alias in node.names]
                graph[name] |= {t.split(".")[0] for t in targets if t and t.split(".")[0] in modules}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if nxt == "__init__":
                continue  # a package's __init__ re-exports; importing it from a module is not a circle
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start != "__init__" and start not in state and (found := visit(start)):
            return found
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle_between_a_packages_modules(package: str) -> None:
    found = _cycle(_graph(package))
    assert found is None, f"{package}: import circle {' -> '.join(found)}"
