"""`copyme verifier ...`: thin commands over the verifier library.

Each command opens the holder kept in ``--home`` (else ``$COPYME_HOME/verifier``, else
``~/.copyme/verifier``), makes one library call and prints the result; errors are one line
``error: <code>: <detail>`` and a non-zero exit.  ``--db postgresql://...`` (or
``$COPYME_VERIFIER_DB``) keeps the stores in PostgreSQL, shared by ``serve --workers N``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from common import home_folder, run_server, serve_workers, worker_config
from protocol import cli_exit
from protocol.errors import CopyMeError, InvalidArgument
from storage import is_postgres

from .errors import NoDataSource
from .holder import Holder
from .links import DEFAULT_CODE_TTL
from .sources import DEMO_CUSTOMERS, DataSource, demo_source, load_source
from .sql_source import SqlSource
from .status_cache import DEFAULT_MAX_STALENESS

app = typer.Typer(help="The data holder's gate: release data only under a valid, current consent.",
                  no_args_is_help=True)

HomeOption = typer.Option(None, "--home", help="Holder folder (key, SQLite). Default: $COPYME_HOME/verifier, else ~/.copyme/verifier.")
JsonOption = typer.Option(False, "--json", help="Print JSON.")
DbOption = typer.Option(None, "--db", envvar="COPYME_VERIFIER_DB",
                        help="The stores' database: a postgresql:// URL (shared by every worker; the key stays in "
                             "--home) or a SQLite file. Default: verifier.db in the home folder.")
_ENV = "COPYME_VERIFIER_SERVE"


def _home(home: Path | None) -> Path:
    return home_folder(home, "verifier")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8700, "--port", help="Port to listen on."),
    home: Path | None = HomeOption,
    registry: str = typer.Option("http://127.0.0.1:8600", "--registry", help="Base URL of the status registry."),
    max_staleness: int = typer.Option(DEFAULT_MAX_STALENESS, "--max-staleness",
                                      help="Longest a status list is used without re-fetching (seconds)."),
    synchronous: str = typer.Option("normal", "--synchronous",
                                    help="SQLite commit durability: normal (survives a process crash) or full "
                                         "(also a power cut: one fsync per group of concurrent releases)."),
    council: str | None = typer.Option(None, "--council",
                                          help="DID that must sign the registry's trust list (recipient names). "
                                               "Default: the first one seen."),
    db: str | None = DbOption,
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Worker processes sharing the port; above 1 needs --db postgresql://… "
                                     "(replay entries, nonces, links and records must be shared)."),
    source: str | None = typer.Option(None, "--source", help="Your data source: a Python callable "
                                      "module:function taking (customer_id, items) and returning {item: value}."),
    sql: str | None = typer.Option(None, "--sql", help="Serve one table of your database: sqlite:///path.db "
                                   "or postgresql://… (with --sql-table, --sql-key)."),
    sql_table: str = typer.Option("customers", "--sql-table", help="The table: one row per customer."),
    sql_key: str = typer.Option("customer_id", "--sql-key", help="The column holding the customer id."),
    sql_json: list[str] = typer.Option([], "--sql-json", help="A column holding JSON text (repeat for more)."),
    demo: bool = typer.Option(False, "--demo", help="Serve the built-in fictional customers (demos and tests only)."),
) -> None:
    """Run the verifier HTTP service (POST /v1/data, /v1/verify, /v1/links; GET /v1/nonce, /v1/holder).

    It serves a data source you name (--source or --sql); the fictional demo customers only with
    --demo. Without one it refuses to start (no_data_source).
    """
    from .app import create_app

    if synchronous not in ("normal", "full"):
        cli_exit(InvalidArgument("--synchronous must be normal or full"))
    if workers > 1 and not is_postgres(db):
        cli_exit(InvalidArgument("--workers above 1 needs --db postgresql://… (the stores must be shared)"))
    config: dict[str, Any] = {"home": str(_home(home)), "registry_url": registry, "max_staleness": max_staleness,
                              "synchronous": synchronous, "council": council, "database": db}
    # the data source travels to each worker process as its options' text, never as a Python object:
    # every worker imports the module or opens the database itself
    spec: dict[str, Any] = {"source": source, "sql": sql, "table": sql_table, "key": sql_key,
                            "json_columns": list(sql_json), "demo": demo}
    try:
        data_source = _source(**spec)  # checked here, once: a bad module or table stops the start
        holder = Holder.open(config["home"], database=db, synchronous=synchronous)  # schema and key, once
        holder.close()
        if workers == 1:
            application = create_app(**config, source=data_source)
    except CopyMeError as err:
        cli_exit(err)
    if workers == 1:
        run_server(application, host=host, port=port)
        return
    serve_workers("verifier.cli:app_from_env", {**config, "data_source": spec}, env=_ENV, workers=workers,
                  host=host, port=port)


def app_from_env() -> Any:
    """The app of one ``serve --workers N`` worker process, configured by its parent (see ``serve``)."""
    from .app import create_app

    config = worker_config(_ENV)
    spec = config.pop("data_source")
    return create_app(**config, source=_source(**spec))


def _source(source: str | None, sql: str | None, table: str, key: str, json_columns: list[str],
            demo: bool) -> DataSource:
    if sum([source is not None, sql is not None, demo]) != 1:
        raise NoDataSource("name exactly one data source: --source module:function, --sql URL, "
                           "or --demo for the built-in fictional customers")
    if source is not None:
        return load_source(source)
    if sql is not None:
        return SqlSource(sql, table=table, key=key, json_columns=json_columns)
    return demo_source()


@app.command("link-code")
def link_code(
    customer: str = typer.Argument(..., help="Customer id, e.g. C-1001 (see `copyme verifier customers`)."),
    home: Path | None = HomeOption,
    demo: bool = typer.Option(False, "--demo", help="Only for one of the built-in fictional customers."),
    ttl: int = typer.Option(DEFAULT_CODE_TTL, "--ttl", help="Seconds the code stays usable."),
    as_json: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """Make a one-time code the customer types into `copyme wallet link` to link their wallet."""
    try:
        holder = Holder.open(_home(home), database=db, customers=DEMO_CUSTOMERS if demo else None)
        code = holder.new_link_code(customer, ttl=ttl)
    except CopyMeError as err:
        cli_exit(err, as_json=as_json)
    if as_json:
        typer.echo(json.dumps({"customer": customer, "code": code, "expires_in": ttl, "holder": holder.did}))
    else:
        typer.echo(code)


@app.command()
def records(
    home: Path | None = HomeOption,
    csv: bool = typer.Option(False, "--csv", help="Print the records as CSV (APPI provision record items)."),
    verify_chain: bool = typer.Option(False, "--verify-chain",
                                      help="Check the hash chain and print its head; exit non-zero if broken."),
    head: bool = typer.Option(False, "--head", help="Print the head (COUNT:HASH) to keep outside this holder."),
    expect_head: str | None = typer.Option(None, "--expect-head",
                                              help="With --verify-chain: a head printed earlier that the chain "
                                                   "must still hold (detects cut-off newest records)."),
    as_json: bool = JsonOption,
    db: str | None = DbOption,
) -> None:
    """Show the provision (and refusal) records, oldest first."""
    try:
        log = Holder.open(_home(home), database=db).records
        if head:
            value = log.head()
            typer.echo(json.dumps({"head": value}) if as_json else value)
            return
        if verify_chain or expect_head is not None:
            value = log.verified_head(expect_head)
            count = int(value.partition(":")[0])
            typer.echo(json.dumps({"chain": "ok", "records": count, "head": value}) if as_json
                       else f"chain ok: {count} records, head {value}")
            return
        if csv:
            typer.echo(log.to_csv(), nl=False)
            return
        rows = log.all()
    except CopyMeError as err:
        cli_exit(err, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        what = f"{' '.join(row['items'])} for {row['purpose']}" if row["items"] else "-"
        outcome = f"consent {row['consent_id']}" if row["kind"] == "provision" else f"refused: {row['reason']}"
        who = (row["recipient_name"] or {}).get("en") or row["recipient"] or "-"
        typer.echo(f"{row['seq']:>5}  {row['at']}  {row['kind']:<9} {row['person'] or '-':<8} "
                   f"{who[:32]:<32}  {what}  {outcome}")


@app.command()
def customers(as_json: bool = JsonOption) -> None:
    """List the demo data source's fictional customers."""
    if as_json:
        typer.echo(json.dumps(DEMO_CUSTOMERS, ensure_ascii=False))
        return
    for cid, record in DEMO_CUSTOMERS.items():
        typer.echo(f"{cid}  {record['name']} ({record['name_en']})  balance ¥{record['balance']:,}  "
                   f"{len(record['transactions'])} transactions")


@app.command()
def did(home: Path | None = HomeOption, db: str | None = DbOption) -> None:
    """Print this holder's DID (created with its key on first use)."""
    try:
        holder = Holder.open(_home(home), database=db)
    except CopyMeError as err:
        cli_exit(err)
    typer.echo(holder.did)
