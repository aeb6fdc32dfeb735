"""`copyme registry ...`: thin commands over the registry library.

``serve`` runs the HTTP service; ``trust add|remove|show`` manage the organisations the
operator vouches for (the service re-signs its TrustList on every change).  All commands find
the registry's files the same way: ``--db PATH``, else ``--home DIR``, else
``$COPYME_HOME/registry``, else ``~/.copyme/registry``.  ``--db postgresql://...`` (or
``$COPYME_REGISTRY_DB``) keeps the lists in PostgreSQL instead; the council key stays in the
home folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from common import home_folder, run_server, serve_workers, worker_config
from protocol import DEFAULT_LIST_SIZE, CopyMeError, InvalidArgument, TrustList, cli_exit
from storage import describe, is_postgres

from .admission import DEFAULT_NEW_LISTS_PER_MINUTE, Admission
from .service import Registry, resolve_paths

app = typer.Typer(
    help="The status registry: serves signed status lists and pushes their changes; holds no consents.",
    no_args_is_help=True,
)
trust_app = typer.Typer(
    help="The organisations (and other registries) this registry's operator vouches for, signed as a TrustList with the "
         "council key kept in the home folder (created on first use).",
    no_args_is_help=True,
)
app.add_typer(trust_app, name="trust")

_HOME_HELP = "Home folder holding registry.db and council.key (default: $COPYME_HOME/registry, else ~/.copyme/registry)."
_DB_HELP = ("The SQLite database file itself (council.key is kept beside it; overrides --home), or a "
            "postgresql:// URL (council.key stays in the home folder).")
_DB_ENV = "COPYME_REGISTRY_DB"
_JSON_HELP = "Print JSON instead of text (errors too, on stderr)."


def _location(home: Path | None, db: str | None) -> Path:
    if db is not None and not is_postgres(db):
        return Path(db)
    return home_folder(home, "registry")


def _open(home: Path | None, db: str | None, admission: Admission | None = None) -> Registry:
    return Registry.open(_location(home, db), dsn=db if is_postgres(db) else None, admission=admission)


def _admission(max_list_size: int, new_lists_per_minute: float, workers: int = 1) -> Admission:
    """The admission policy of one serving process.  Each of ``workers`` processes keeps its own
    count, so each admits its share of the allowance: together they never admit more."""
    try:
        return Admission(max_list_size=max_list_size, new_lists_per_minute=new_lists_per_minute / workers)
    except ValueError as err:
        raise InvalidArgument(str(err), field="max_list_size") from None


def _show(signed: TrustList, as_json: bool) -> None:
    body: dict[str, Any] = {
        "council": signed.issuer,
        "issued_at": signed.issued_at,
        "expires_at": signed.expires_at,
        "organisations": [
            {"did": o.did, "name": {"ja": o.name_ja, "en": o.name_en}, "role": o.role}
            for o in signed.organisations
        ],
        "registries": list(signed.registries),
    }
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    typer.echo(f"council: {signed.issuer}")
    if not signed.organisations:
        typer.echo("no organisations listed")
    for org in signed.organisations:
        typer.echo(f"{org.did}  {org.role:<11}  {org.name_ja} / {org.name_en}")
    for url in signed.registries:
        typer.echo(f"registry: {url}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8600,
    home: Annotated[Path | None, typer.Option("--home", help=_HOME_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", envvar=_DB_ENV, help=_DB_HELP)] = None,
    heartbeat: Annotated[float, typer.Option(min=0.1, help="Seconds between heartbeat comments on an idle change feed.")] = 15.0,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes sharing the port (with PostgreSQL, "
                                                          "the change feed reaches subscribers of every worker).")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug.")] = "info",
    max_list_size: Annotated[int, typer.Option("--max-list-size", min=4, help="The most entries a new list may have "
                                                                           "(a multiple of 4).")] = DEFAULT_LIST_SIZE,
    new_lists_per_minute: Annotated[float, typer.Option(
        "--new-lists-per-minute", min=0.01,
        help="New lists one client address may create per minute (and in one burst); shared by all workers.")]
        = DEFAULT_NEW_LISTS_PER_MINUTE,
) -> None:
    """Run the registry: PUT/GET /v1/lists/{id}, GET /v1/events (SSE), GET /v1/trust-list, /health.

    OpenAPI docs are served at /docs. The database and council key are created on first start.
    """
    from .app import create_app

    try:
        admission = _admission(max_list_size, new_lists_per_minute, workers)
        registry = _open(home, db, admission)  # also creates the key and the schema once, before any worker
    except CopyMeError as err:
        cli_exit(err)
    location = _location(home, db)
    where = describe(db) if db is not None and is_postgres(db) else str(resolve_paths(location)[0])
    typer.echo(f"registry on http://{host}:{port}  db={where}  workers={workers}  council={registry.council_key.did}")
    if workers == 1:
        run_server(create_app(registry, heartbeat=heartbeat), host=host, port=port, log_level=log_level)
        return
    registry.close()
    config = {"home": str(location), "db": db, "heartbeat": heartbeat, "max_list_size": max_list_size,
              "new_lists_per_minute": new_lists_per_minute, "workers": workers}
    serve_workers("registry.cli:app_from_env", config, env=_WORKER_ENV, workers=workers, host=host, port=port,
                  log_level=log_level)


_WORKER_ENV = "COPYME_REGISTRY_SERVE"


def app_from_env() -> Any:
    """The app of one ``serve --workers N`` worker process, configured by its parent (see ``serve``)."""
    from .app import create_app

    config = worker_config(_WORKER_ENV)
    admission = _admission(config["max_list_size"], config["new_lists_per_minute"], config["workers"])
    registry = _open(Path(config["home"]), config["db"], admission)
    return create_app(registry, heartbeat=config["heartbeat"])


@trust_app.command("add")
def trust_add(
    did: Annotated[str, typer.Argument(help="The organisation's did:key.")],
    ja: Annotated[str, typer.Option("--ja", help="Its name in Japanese (at most 100 characters).")],
    en: Annotated[str, typer.Option("--en", help="Its name in English (at most 100 characters).")],
    role: Annotated[str, typer.Option("--role", help="data_user, data_holder or both.")],
    home: Annotated[Path | None, typer.Option("--home", help=_HOME_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", envvar=_DB_ENV, help=_DB_HELP)] = None,
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
    db: Annotated[str | None, typer.Option("--db", envvar=_DB_ENV, help=_DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Take an organisation off the trust list and re-sign it."""
    try:
        _show(_open(home, db).trust_remove(did), as_json)
    except CopyMeError as err:
        cli_exit(err, as_json=as_json)


@trust_app.command("add-registry")
def trust_add_registry(
    url: Annotated[str, typer.Argument(help="Another registry's base URL, e.g. https://status.example.org.")],
    home: Annotated[Path | None, typer.Option("--home", help=_HOME_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", envvar=_DB_ENV, help=_DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Name another registry on the trust list: holders following this council fetch its status lists too."""
    try:
        _show(_open(home, db).trust_add_registry(url), as_json)
    except CopyMeError as err:
        cli_exit(err, as_json=as_json)


@trust_app.command("remove-registry")
def trust_remove_registry(
    url: Annotated[str, typer.Argument(help="A registry's base URL, as it is on the trust list.")],
    home: Annotated[Path | None, typer.Option("--home", help=_HOME_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", envvar=_DB_ENV, help=_DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Take a registry off the trust list and re-sign it."""
    try:
        _show(_open(home, db).trust_remove_registry(url), as_json)
    except CopyMeError as err:
        cli_exit(err, as_json=as_json)


@trust_app.command("show")
def trust_show(
    home: Annotated[Path | None, typer.Option("--home", help=_HOME_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", envvar=_DB_ENV, help=_DB_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
) -> None:
    """Show the council key's DID (for wallets to trust) and the listed organisations."""
    try:
        _show(_open(home, db).trust_list(), as_json)
    except CopyMeError as err:
        cli_exit(err, as_json=as_json)
