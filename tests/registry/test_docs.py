"""Docs that fail the build: the README's registry section names every route, command and refusal code."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from registry import cli, create_app

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- section: registry -->(.*)<!-- /section: registry -->", text, re.S)
    assert match, "README has no registry section"
    return match.group(1)


def test_every_route_is_documented(tmp_path: Path) -> None:
    section = _section()
    app = create_app(tmp_path)
    for path, ops in app.openapi()["paths"].items():
        for method in ops:
            assert f"`{method.upper()} {path}`" in section, f"{method.upper()} {path}"


def test_every_command_is_documented() -> None:
    section = _section()
    group = typer.main.get_command(cli.app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        names += [f"copyme registry {name} {sub}" for sub in subs] if subs else [f"copyme registry {name}"]
    for name in names:
        assert name in section, name


def test_every_refusal_code_is_documented() -> None:
    section = _section()
    for code in ("status_invalid", "status_rollback", "conflict", "too_large", "bad_signature", "wrong_type",
                 "malformed", "expired", "not_yet_valid", "not_found"):
        assert f"`{code}`" in section or f" {code}`" in section, code
