"""What CI needs to know about the product's direct dependencies, read from pyproject.toml.

``python .ci/deps.py versions [NAME ...]`` prints the resolved version of every direct dependency
and of the names given (``--only NAME ...``: just those) in the running interpreter;
``python .ci/deps.py floors [EXTRA ...]`` prints a pip constraints file pinning each direct
dependency to its lowest allowed version, so CI can install exactly the floors pyproject.toml
promises; ``python .ci/deps.py check [--floors]`` fails unless every direct dependency is
installed (and, with ``--floors``, installed at its floor).
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(\[[^\]]*\])?\s*(.*)$")


def direct(extras: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(name, specifier) of every runtime dependency, plus those of the named extras."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project.get("optional-dependencies", {}).get(extra, [])
    out = []
    for line in lines:
        match = REQUIREMENT.match(line.split(";")[0])
        if match:
            out.append((match.group(1), match.group(3).strip()))
    return out


def _release(version: str) -> tuple[int, ...]:
    """``"1.5"`` and ``"1.5.0"`` alike: the numeric release, trailing zeros dropped."""
    parts = [int(p) for p in re.findall(r"\d+", version.split("+")[0])[:4]]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def main(argv: list[str]) -> int:
    command, *rest = argv or ["versions"]
    if command == "floors":
        for name, spec in direct(tuple(rest)):
            floor = re.search(r">=\s*([^,\s]+)", spec)
            if floor is None:
                print(f"{name} has no floor in pyproject.toml", file=sys.stderr)
                return 1
            print(f"{name}=={floor.group(1)}")
        return 0
    if command == "check":
        wrong = []
        for name, spec in direct():
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                wrong.append(f"{name} is not installed")
                continue
            floor = re.search(r">=\s*([^,\s]+)", spec)
            if "--floors" in rest and floor and _release(version) != _release(floor.group(1)):
                wrong.append(f"{name} {version} is not its floor {floor.group(1)}")
        for line in wrong:
            print(f"deps: {line}", file=sys.stderr)
        return 1 if wrong else 0
    if command == "versions":
        names = rest[1:] if rest[:1] == ["--only"] else [name for name, _ in direct()] + rest
        width = max(len(name) for name in names)
        for name in names:
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = "(not installed)"
            print(f"  {name:<{width}}  {version}")
        return 0
    print("usage: deps.py versions [--only] [NAME ...] | floors [EXTRA ...] | check [--floors]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
