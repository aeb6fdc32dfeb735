"""The README's verifier section documents every command, route and reason code of the verifier."""

from __future__ import annotations

from pathlib import Path

from verifier.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    return text[text.index("<!-- section: verifier -->"):text.index("<!-- /section: verifier -->")]


def test_commands_routes_and_codes_are_documented() -> None:
    section = _section()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert f"copyme verifier {name}" in section, name
    for route in ("POST /v1/data", "POST /v1/verify", "POST /v1/links", "GET /v1/nonce", "GET /v1/holder",
                  "GET /health"):
        assert route in section, route
    for code in ("malformed", "too_large", "bad_signature", "not_subject", "wrong_audience", "replayed",
                 "not_linked", "expired", "not_yet_valid", "items_not_granted", "purpose_not_granted", "revoked",
                 "suspended", "status_unavailable", "status_invalid", "status_rollback", "link_code_invalid",
                 "data_unavailable", "records_tampered"):
        assert f"`{code}`" in section, code
