"""`copyme issuer ...`: thin commands over the issuer library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

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
    council: str | None = typer.Option(None, "--council", help="The council DID whose signed trust list (read from "
                                                               "--registry) may name further registries to trust."),
    demo: bool = typer.Option(False, "--demo", help="Required: this command runs a demo company with its demo terms."),
) -> None:
    """Run a demo company (--demo; Kakeibo, or Hoken with --app hoken): the CopyMe button, the
    callback, consents and 'fetch my bank data'.

    Your own app uses the issuer SDK instead (see examples/company_app in the repository).
    """
    from .app import create_app
    from .demo import DEMO_APPS

    home = _home(home)
    try:
        if not demo:
            raise InvalidArgument("'copyme issuer serve' runs a demo company with demo terms: pass --demo "
                                  "(your own app uses the issuer SDK; see examples/company_app)", field="demo")
        if demo_app not in DEMO_APPS:
            raise InvalidArgument(f"--app must be one of {', '.join(DEMO_APPS)}", field="app")
        config = DEMO_APPS[demo_app](holder)
        web = create_app(home, holder, wallet=wallet, public_url=public_url, holder_did=holder_did,
                         use_nonce=nonce, config=config, database=db, registries=registry, council=council,
                         demo=demo)
    except CopyMeError as err:
        cli_exit(err)
    typer.echo(f"{config.name['en']} (issuer demo) on http://{host}:{port}  home={home}", err=True)
    run_server(web, host=host, port=port, log_level="warning")


def _store(home: Path, db: str | None) -> Any:
    """The issuer's database named by ``--db`` (else ``issuer.db`` in ``home``); ``not_found`` if
    there is no SQLite file yet (reading must not create one)."""
    from storage import is_postgres

    from .service import DB_FILE
    from .store import open_store

    location = db if db is not None else str(home / DB_FILE)
    if not is_postgres(location) and not Path(location).exists():
        cli_exit(NotFound(f"no issuer database in {home}"))
    try:
        return open_store(location)
    except CopyMeError as err:
        cli_exit(err)


@app.command("records")
def records_cmd(
    account: str | None = typer.Option(None, "--account", help="Only this account's records."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    db: str | None = typer.Option(None, "--db", envvar=DB_ENV, help=DB_HELP),
) -> None:
    """Print the recipient records (APPI) as CSV."""
    from .records import export_csv, list_records

    store = _store(_home(home), db)
    try:
        sys.stdout.write(export_csv(list_records(store, account)))
    finally:
        store.close()


rights_app = typer.Typer(help="Rights requests (stop use / erase) from users: list them, carry them out.",
                         no_args_is_help=True)
app.add_typer(rights_app, name="rights")


def _issuer(home: Path | None, db: str | None) -> Any:
    """The demo issuer on its home folder (its key) and database, with the demo app's deletion
    hook (erase what was copied under the consent)."""
    from .demo import kakeibo_config
    from .service import KEY_FILE, Issuer, load_or_create_key

    folder = _home(home)
    if not (folder / KEY_FILE).exists():
        cli_exit(NotFound(f"no issuer in {folder}"))
    holder = "http://127.0.0.1/"  # never contacted: listing and completing need no data holder
    return Issuer(load_or_create_key(folder), _store(folder, db), kakeibo_config(holder), holder=holder)


@rights_app.command("list")
def rights_list(
    open_only: bool = typer.Option(False, "--open", help="Only requests not yet done (pending or overdue)."),
    account: str | None = typer.Option(None, "--account", help="Only this account's requests."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    db: str | None = typer.Option(None, "--db", envvar=DB_ENV, help=DB_HELP),
) -> None:
    """Print the rights requests received, as JSON lines (state pending / overdue / done)."""
    issuer = _issuer(home, db)
    try:
        now = issuer.now()
        for stored in issuer.rights(account=account, open_only=open_only):
            typer.echo(json.dumps(stored.to_json(now), ensure_ascii=False))
    finally:
        issuer.store.close()


@rights_app.command("complete")
def rights_complete(
    rights_id: str = typer.Argument(..., help="The rights request's id (its CID, from `rights list`)."),
    home: Path | None = typer.Option(None, "--home", help=HOME_HELP),
    db: str | None = typer.Option(None, "--db", envvar=DB_ENV, help=DB_HELP),
) -> None:
    """Run the deletion hook for one request and sign the completion the wallet will fetch."""
    issuer = _issuer(home, db)
    try:
        typer.echo(json.dumps(issuer.complete_rights(rights_id).to_json(issuer.now()), ensure_ascii=False))
    except CopyMeError as err:
        cli_exit(err)
    finally:
        issuer.store.close()
