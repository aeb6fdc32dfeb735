"""Docs that fail the build: every CLI command, HTTP route and reason code must be documented.

Commands must appear in README.md (as ``copyme <group> <command>``), routes in README.md or
specs/*.md (by path), reason codes in specs/protocol.md (as ```code```).
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import typer

import issuer  # noqa: F401  # imported so that each package's own error codes register
import registry  # noqa: F401
import verifier  # noqa: F401
import wallet  # noqa: F401
from copyme.cli import app
from protocol import error_codes

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SPECS = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "specs").glob("*.md")))
PROTOCOL_SPEC = (ROOT / "specs" / "protocol.md").read_text(encoding="utf-8") if (ROOT / "specs" / "protocol.md").exists() else ""


def _commands() -> list[str]:
    root = typer.main.get_command(app)
    found: list[str] = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.append(" ".join(path))

    walk(root, ["copyme"])
    return sorted(found)


_ROUTE = re.compile(r"""\.(?:get|post|put|delete|patch|api_route)\(\s*["'](/[^"']*)["']""")


def _routes() -> list[str]:
    paths: set[str] = set()
    for package in ("registry", "verifier", "issuer", "wallet"):
        for source in (ROOT / package).rglob("*.py"):
            paths.update(_ROUTE.findall(source.read_text(encoding="utf-8")))
    return sorted(p for p in paths if p not in {"/openapi.json", "/docs", "/redoc", "/"})


@pytest.mark.parametrize("command", _commands())
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    assert command in README, f"`{command}` is not documented in README.md"


_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def _shape(text: str) -> str:
    """Routes are matched with placeholders blanked, so ``/r/{id}`` documents ``/r/{request_id}``."""
    return _PLACEHOLDER.sub("{}", text)


@pytest.mark.parametrize("route", _routes())
def test_every_http_route_is_documented(route: str) -> None:
    docs = _shape(README + SPECS)
    assert _shape(route) in docs, f"route {route} is documented neither in README.md nor in specs/"


@pytest.mark.parametrize("code", sorted(error_codes()))
def test_every_reason_code_is_in_the_spec(code: str) -> None:
    assert f"`{code}`" in PROTOCOL_SPEC, f"reason code `{code}` is missing from specs/protocol.md"


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```", 2)[1]
    assert "copyme demo" in first_block and "bash .ci/run" in first_block
    ci = (ROOT / ".ci" / "run").read_text()
    # the main suite runs in the environment made as the README installs the product
    assert '"$V/product/bin/python" -m pytest' in ci and "-e '.[postgres]'" in ci
