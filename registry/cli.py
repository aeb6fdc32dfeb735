"""`copyme registry ...`: thin commands over the registry library.

``serve`` runs the HTTP service; ``trust add|remove|show`` manage the organisations the
operator vouches for (the service re-signs its TrustList on every change).  All commands find
the registry's files the same way: ``--db PATH``, else ``--home DIR``, else
``$COPYME_HOME/registry``, else ``~/.copyme/registry``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from protocol import CopyMeError, TrustList, cli_exit

from .service import Registry, resolve_paths

app = typer.Typer(
    help="The status registry: serves signed status lists and pushes their changes; holds no consents.",
    no_args_is_help=True,
)
trust_app = typer.Typer(
    help="The organisations this registry's operator vouches for, signed as a TrustList with the "
         "council key kept in the home folder (created on first use).",
    no_args_is_help=True,
)
app.add_typer(trust_app, name="trust")

_HOME_HELP = "Home folder holding registry.db and council.key (default: $COPYME_HOME/registry, else ~/.copyme/registry)."
_DB_HELP = "The SQLite database file itself (council.key is kept beside it); overrides --home."
_JSON_HELP = "Print JSON instead of text (errors too, on stderr)."


def _location(home: Path | None, db: Path | None) -> Path:
    if db is not None:
        return db
    if home is not None:
        return home
    base = os.environ.get("COPYME_HOME")
    return (Path(base) if base else Path.home() / ".copyme") / "registry"


def _open(home: Path | None, db: Path | None) -> Registry:
    return Registry.open(_location(home, db))


def _show(signed: TrustList, as_json: bool) -> None:
    body: dict[str, Any] = {
        "council": signed.issuer,
        "issued_at": signed.issued_at,
        "expires_at": signed.expires_at,
        "organisations": [
            {"did": o.did, "name": {"ja": o.name_ja, "en": o.name_en}, "role": o.role}
            for o in signed.organisations
        ],
    }
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    typer.echo(f"council: {signed.issuer}")
    if not signed.organisations:
        typer.echo("no organisations listed")
    for org in signed.organisations:
        typer.echo(f"{org.did}  {org.role:<11}  {org.name_ja} / {org.name_en}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8600,
    home: Annotated[Path | None, typer.Option("--home", help=_HOME_HELP)] = None,
    db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
    heartbeat: Annotated[float, typer.Option(min=0.1, help="Seconds between heartbeat comments on an idle change feed.")] = 15.0,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug.")] = "info",
) -> None:
    """Run the registry: PUT/GET /v1/lists/{id}, GET /v1/events (SSE), GET /v1/trust-list, /health.

    OpenAPI docs are served at /docs. The database and council key are created on first start.
    """
    import uvicorn

    from .app import create_app

    try:
        registry = _open(home, db)
        application = create_app(registry, heartbeat=heartbeat)
    except CopyMeError as err:
        cli_exit(err)
    db_path, _ = resolve_paths(_location(home, db))
    typer.echo(f"registry on http://{host}:{port}  db={db_path}  council={registry.council_key.did}")
    uvicorn.run(application, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=3)


@trust_app.command("add")
def trust_add(
    did: Annotated[str, typer.Argument(help="The organisation's did:key.")],
    ja: Annotated[str, typer.Option("--ja", help="Its name in Japanese (at most 100 characters).")],
    en: Annotated[str, typer.Option("--en", help="Its name in English (at most 100 characters).")],
    role: Annotated[str, typer.Option("--role", help="data_user, data_holder or both.")],
    home: Annotated[Path | None, typer.Option("--home", help=_HOME_HELP)] = None,
    db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """List an organisation (or update its names and role) and re-sign the trust list."""
    try:
        _show(_open(home, db).trust_add(did, ja, en, role), as_json)
    except CopyMeError as err:
        cli_exit(err, as_json=as_json)


@trust_app.command("remove")
def trust_remove(
    did: Annotated[str, typer.Argument(help="The organisation's did:key.")],
    home: Annotated[Path | None, typer.Option("--home", help=_HOME_HELP)] = None,
    db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Take an organisation off the trust list and re-sign it."""
    try:
        _show(_open(home, db).trust_remove(did), as_json)
    except CopyMeError as err:
        cli_exit(err, as_json=as_json)


@trust_app.command("show")
def trust_show(
    home: Annotated[Path | None, typer.Option("--home", help=_HOME_HELP)] = None,
    db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Show the council key's DID (for wallets to trust) and the listed organisations."""
    try:
        _show(_open(home, db).trust_list(), as_json)
    except CopyMeError as err:
        cli_exit(err, as_json=as_json)
