"""`copyme issuer ...`: thin commands over the issuer library."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from common import home_folder, run_server
from protocol import CopyMeError, InvalidArgument, NotFound, cli_exit

HOME_HELP = "The issuer's home folder (key, issuer.db). Default: $COPYME_HOME/issuer, else ~/.copyme/issuer."
DB_HELP = ("Where consents and records are kept: a postgresql:// URL (shared by several instances; the key "
           "stays in --home) or a SQLite file. Default: issuer.db in the home folder.")
DB_ENV = "COPYME_ISSUER_DB"


def _home(home: Path | None) -> Path:
    """The same home convention as every other ``copyme`` service."""
    return home_folder(home, "issuer")

app = typer.Typer(help="The data user's SDK: sign consent requests, show the CopyMe button, receive consents, fetch data.", no_args_is_help=True)


@app.command()
def serve(
    holder: str = typer.Option(..., "--holder", help="Base URL of the data holder's verifier service."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8020, "--port", help="Port to listen on."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    wallet: str | None = typer.Option(None, "--wallet", help="A wallet dashboard's base URL; the button links to <wallet>/review?u=..."),
    public_url: str | None = typer.Option(None, "--public-url", help="Base URL wallets reach this service at (default: from each request)."),
    holder_did: str | None = typer.Option(None, "--holder-did", help="The holder's DID (default: asked of <holder>/v1/holder)."),
    nonce: bool = typer.Option(False, "--nonce", help="Use the holder's nonce (GET /v1/nonce) in every presentation."),
    demo_app: str = typer.Option("kakeibo", "--app", help="Which demo company: kakeibo (a budget app) or hoken (an insurer asking for other items)."),
    db: str | None = typer.Option(None, "--db", envvar=DB_ENV, help=DB_HELP),
    registry: list[str] = typer.Option([], "--registry", help="A status registry's base URL whose lists the status "
                                                               "watcher may fetch (repeatable); lists elsewhere stay "
                                                               "unknown (status_untrusted)."),
) -> None:
    """Run the Kakeibo demo: the CopyMe button, the callback, consents and 'fetch my bank data'."""
    from .app import create_app
    from .demo import DEMO_APPS

    home = _home(home)
    try:
        if demo_app not in DEMO_APPS:
            raise InvalidArgument(f"--app must be one of {', '.join(DEMO_APPS)}", field="app")
        config = DEMO_APPS[demo_app](holder)
        web = create_app(home, holder, wallet=wallet, public_url=public_url, holder_did=holder_did,
                         use_nonce=nonce, config=config, database=db, registries=registry)
    except CopyMeError as err:
        cli_exit(err)
    typer.echo(f"{config.name['en']} (issuer demo) on http://{host}:{port}  home={home}", err=True)
    run_server(web, host=host, port=port, log_level="warning")


@app.command("records")
def records_cmd(
    account: str | None = typer.Option(None, "--account", help="Only this account's records."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    db: str | None = typer.Option(None, "--db", envvar=DB_ENV, help=DB_HELP),
) -> None:
    """Print the recipient records (APPI) as CSV."""
    from storage import is_postgres

    from .records import export_csv, list_records
    from .service import DB_FILE
    from .store import open_store

    home = _home(home)
    location = db if db is not None else str(home / DB_FILE)
    if not is_postgres(location) and not Path(location).exists():
        cli_exit(NotFound(f"no issuer database in {home}"))
    try:
        store = open_store(location)
    except CopyMeError as err:
        cli_exit(err)
    try:
        sys.stdout.write(export_csv(list_records(store, account)))
    finally:
        store.close()
