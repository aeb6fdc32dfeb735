"""pyproject's runtime dependencies say the truth: each one is used by the product, and the
floors the code relies on are the floors it asks for (the CI's lowest-versions run installs
exactly those floors and runs the protocol, verifier, registry and wallet suites on them)."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ["protocol", "common", "storage", "wallet", "issuer", "verifier", "registry", "copyme"]
#: Distribution name -> the module the product imports it by (jinja2 through FastAPI's templates).
IMPORTED_AS = {"pynacl": "nacl", "sqlite-utils": "sqlite_utils", "psycopg-pool": "psycopg_pool",
               "uvicorn": "uvicorn", "jinja2": "fastapi.templating"}


def _requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]
    found = {}
    for line in lines:
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][0-9.]*)", line)
        assert match, f"{line!r} has no floor (>=)"
        found[match.group(1).lower()] = match.group(2)
    return found


def _imports() -> set[str]:
    names: set[str] = set()
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module)
    return names


@pytest.mark.parametrize("name", sorted(_requirements()))
def test_every_runtime_dependency_is_used(name: str) -> None:
    module = IMPORTED_AS.get(name, name.replace("-", "_"))
    imported = _imports()
    assert any(m == module or m.startswith(module + ".") for m in imported), f"{name} is never imported"


def test_floors_match_what_the_code_calls() -> None:
    floors = _requirements()
    assert tuple(int(p) for p in floors["sqlite-utils"].split(".")[:1]) >= (4,)  # Database.atomic()
    assert "python-multipart" not in floors and "pyinstrument" not in floors  # not used by the product
