"""`copyme wallet ...`: thin commands over the wallet library (parse, one call, render).

The passphrase comes from ``--passphrase-file``, else ``COPYME_PASSPHRASE``, else a prompt.
Errors are one line ``error: <code>: <detail>``, then the reason in plain words (from
:mod:`wallet.glossary`, in ``--lang``), and a non-zero exit status (see
``protocol.cli_exit``); ``--json`` prints JSON for scripts (errors as JSON on stderr).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import typer

from common import PeerClient, is_loopback_host, is_loopback_url, run_server
from protocol import CopyMeError, InvalidArgument, NotFound, Unavailable, cli_exit

from . import backup as _backup
from . import glossary, overview, render
from .consents import ConsentView
from .derive import Seed
from .errors import UnverifiedRequester, WalletExists
from .home import Home
from .listing import write_json
from .pull import DEFAULT_PULL_INTERVAL
from .refresh import DEFAULT_INTERVAL
from .wallet import Wallet

app = typer.Typer(
    help="The user's consent wallet: receive requests, keep consents, revoke, suspend, resume.",
    no_args_is_help=True,
)

F = TypeVar("F", bound=Callable[..., Any])

HomeOpt = typer.Option(None, "--home", help="Wallet home folder (default: $COPYME_HOME, else ~/.copyme).")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of text (errors too, on stderr).")
PassOpt = typer.Option(None, "--passphrase-file", help="Read the passphrase from this file (else $COPYME_PASSPHRASE, else a prompt).")
LangOpt = typer.Option(None, "--lang", help="Language of what is shown: ja or en (default: $COPYME_LANG, else ja).")


def _command(func: F) -> F:
    """Run a command, turning any CopyMe error into one line and an exit status."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CopyMeError as err:
            if kwargs.get("as_json"):
                cli_exit(err, as_json=True)
            # the code line first (scripts read it), then the reason in the user's words
            typer.echo(f"error: {err.code}: {err.detail}", err=True)
            typer.echo(glossary.reason(err.code, kwargs.get("lang") or os.environ.get("COPYME_LANG") or "ja"),
                       err=True)
            raise SystemExit(err.exit_status) from None
        except OSError as err:  # e.g. an unwritable --out file or home folder
            cli_exit(InvalidArgument(f"{err.strerror or err}: {getattr(err, 'filename', '') or ''}"),
                     as_json=bool(kwargs.get("as_json")))

    return wrapper  # type: ignore[return-value]


def _passphrase(passphrase_file: Path | None, *, confirm: bool = False) -> str:
    if passphrase_file is not None:
        try:
            return passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as err:
            raise NotFound(f"cannot read the passphrase file: {err.strerror}") from None
    env = os.environ.get("COPYME_PASSPHRASE")
    if env:
        return env
    if not sys.stdin.isatty():
        raise InvalidArgument("no passphrase: use --passphrase-file, COPYME_PASSPHRASE or a terminal", field="passphrase")
    value: str = typer.prompt("Wallet passphrase", hide_input=True, confirmation_prompt=confirm)
    return value


def _lang(lang: str | None) -> str:
    chosen = lang or os.environ.get("COPYME_LANG") or "ja"
    if chosen not in ("ja", "en"):
        raise InvalidArgument("--lang must be ja or en", field="lang")
    return chosen


def _open(home: Path | None, passphrase_file: Path | None = None, *, unlock: bool = True) -> Wallet:
    target = Home.at(home)
    if not target.exists():
        return Wallet.open(target)  # raises not_initialised before asking for a passphrase
    return Wallet.open(target, _passphrase(passphrase_file) if unlock else None)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@app.command()
@_command
def init(
    registry: str = typer.Option(..., "--registry", help="Base URL of the status registry, e.g. http://127.0.0.1:8600."),
    council: str | None = typer.Option(None, "--council", help="Pin this council DID for the trust list (default: trust the registry's on first use)."),
    seed_file: Path | None = typer.Option(None, "--seed-file", help="Take the wallet's 32-byte seed (64 hex digits) from this file instead of fresh randomness: for interop tests only."),
    lang: str | None = LangOpt,
    council_name_ja: str | None = typer.Option(None, "--council-name-ja", help="The council's name in Japanese, shown on ✔ badges."),
    council_name_en: str | None = typer.Option(None, "--council-name-en", help="The council's name in English, shown on ✔ badges."),
    home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt,
) -> None:
    """Create a wallet: keys sealed by your passphrase, and the recovery phrase that restores them. Never overwrites one."""
    target = Home.at(home)
    if target.exists():
        raise WalletExists(f"there is already a wallet in {target.path}; it is never overwritten")
    chosen = _lang(lang)
    seed = Seed.from_hex(_read_secret_file(seed_file, "seed file")) if seed_file is not None else None
    names = {k: v for k, v in (("ja", council_name_ja), ("en", council_name_en)) if v}
    with Wallet.init(target, _passphrase(passphrase_file, confirm=True), registry=registry, council=council,
                     seed=seed, council_name=names or None) as w:
        info = w.info()
        assert w.keys is not None and w.keys.phrase_seed is not None
        phrase = w.keys.phrase_seed.phrase(chosen)
    if as_json:
        _print_json({**info, "recovery_phrase": phrase})
    else:
        typer.echo(f"wallet created in {info['home']}\nyour DID: {info['did']}\nregistry: {info['registry']}\n"
                   f"council: {info['council'] or 'not pinned yet (registry unreachable)'}\n\n"
                   f"{render.phrase_notice(chosen)}\n\n    {phrase}\n")


def _read_secret_file(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise NotFound(f"cannot read the {what}: {getattr(err, 'strerror', None) or err}") from None


@app.command()
@_command
def recover(
    backup: Path | None = typer.Option(None, "--backup", help="A backup written by 'copyme wallet backup': brings back every consent and relationship."),
    registry: str | None = typer.Option(None, "--registry", help="The registry URL (needed without --backup)."),
    phrase_file: Path | None = typer.Option(None, "--phrase-file", help="Read the recovery phrase from this file (else $COPYME_PHRASE, else a prompt)."),
    home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt,
) -> None:
    """Rebuild your wallet's keys from its recovery phrase (English or Japanese), into an empty home folder."""
    target = Home.at(home)
    if target.exists():
        raise WalletExists(f"there is already a wallet in {target.path}; recover only into an empty home")
    if phrase_file is not None:
        phrase = _read_secret_file(phrase_file, "phrase file")
    elif os.environ.get("COPYME_PHRASE"):
        phrase = os.environ["COPYME_PHRASE"]
    elif sys.stdin.isatty():
        phrase = typer.prompt("Recovery phrase", hide_input=True)
    else:
        raise InvalidArgument("no recovery phrase: use --phrase-file, COPYME_PHRASE or a terminal", field="phrase")
    Seed.from_phrase(phrase)  # a bad word is named before the passphrase is asked for
    with Wallet.recover(target, phrase, _passphrase(passphrase_file, confirm=backup is None), backup=backup,
                        registry=registry) as w:
        info = w.info()
    if as_json:
        _print_json(info)
    else:
        typer.echo(f"wallet recovered in {info['home']} ({info['consents']} consents)\nyour DID: {info['did']}")


@app.command()
@_command
def did(home: Path | None = HomeOpt, as_json: bool = JsonOpt) -> None:
    """Show your wallet's own DID (sent to no one: companies see one DID per relationship, see 'relationships')."""
    with _open(home, unlock=False) as w:
        info = w.info()
    if as_json:
        _print_json(info)
    else:
        typer.echo(info["did"])


@app.command()
@_command
def receive(
    source: str = typer.Argument(..., help="The request: an https URL, a copyme:// link, or a file."),
    accept: bool = typer.Option(False, "--accept", help="Accept the required items only (name optional ones with --items)."),
    items: str | None = typer.Option(None, "--items", help="Accept these items (comma-separated ids; the required ones are always in)."),
    decline: bool = typer.Option(False, "--decline", help="Decline without asking."),
    days: int | None = typer.Option(None, "--days", help="Shorten the consent's validity to this many days."),
    accept_unverified: bool = typer.Option(False, "--accept-unverified",
                                           help="Needed to accept a request whose requester is UNVERIFIED."),
    lang: str | None = LangOpt, home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Check a consent request, show what it asks in plain words, and answer it.

    Privacy by default: accepting grants the required items only, unless optional ones are
    named with --items; a requester not on the trust list also needs --accept-unverified.
    """
    if sum([accept, items is not None, decline]) > 1:
        raise InvalidArgument("choose one of --accept, --items, --decline", field="answer")
    chosen_lang = _lang(lang)
    words = glossary.words(chosen_lang)
    with _open(home, passphrase_file) as w:
        review = w.review(source, lang=chosen_lang)
        console = render.console()
        if not as_json:
            console.print(render.review_panel(review))
        answer: list[str] | str | None = None
        if accept:
            answer = list(review.required_items)
        elif items is not None:
            named = [i.strip() for i in items.split(",") if i.strip()]
            answer = list(review.required_items) + [i for i in named if i not in review.required_items]
        elif decline:
            answer = "decline"
        elif review.decision != "pending":
            answer = "none"
        elif sys.stdin.isatty() and not as_json:
            answer = _ask(review)
        else:
            raise InvalidArgument("no answer given: use --accept, --items or --decline", field="answer")
        if isinstance(answer, list) and not review.verified and review.decision == "pending":
            if not accept_unverified:
                raise UnverifiedRequester(f"{review.claimed_name!r} is not on the trust list ({review.trust_note}); "
                                          "add --accept-unverified to consent anyway")
            typer.echo(f"⚠ {words['unverified_needs_flag']} ({review.claimed_name})", err=True)
        if answer == "none":
            result: dict[str, Any] = {"review": review.to_json(), "decision": review.decision, "already": True}
        elif answer == "decline":
            result = {"review": w.decline(review).to_json(), "decision": "declined"}
        else:
            consent = w.accept(review, items=list(answer), lang=chosen_lang, validity_days=days)
            result = {"review": review.to_json(), "decision": "accepted", "consent": consent.to_json()}
    if as_json:
        _print_json(result)
        return
    if result.get("already"):
        typer.echo(f"this request was already {result['decision']}")
    elif result["decision"] == "declined":
        typer.echo("declined: no data was shared; the requester was told only that you said no"
                   if result["review"].get("notified") else
                   "declined: no data was shared (the requester could not be told: its callback did not answer)")
    elif result["decision"] == "accepted":
        c = result["consent"]
        typer.echo(f"accepted: consent {c['id']}\n  items: {', '.join(c['items'])}")
        if c["pending"]:
            typer.echo("  status list: PENDING publication (registry unreachable); run 'copyme wallet sync'")
        if c["delivered"]:
            typer.echo("  delivered to the requester")
        else:
            typer.echo(f"  NOT delivered ({c['delivery_error']}); kept in your wallet — retry with "
                       f"'copyme wallet deliver {render.short_id(c['id'])}'")
    else:
        typer.echo(f"this request was already {result['decision']}")  # pragma: no cover


def _ask(review: Any) -> list[str] | str:
    choice = typer.prompt("[r]equired items only / [c]hoose items / [d]ecline", default="d").strip().lower()
    if choice.startswith("r"):
        return list(review.required_items)
    if choice.startswith("c"):
        chosen = list(review.required_items)
        for item in review.items:
            if not item.required and typer.confirm(f"share {item.label} ({item.id})?", default=False):
                chosen.append(item.id)
        return chosen
    return "decline"


@app.command()
@_command
def news(lang: str | None = LangOpt, home: Path | None = HomeOpt, as_json: bool = JsonOpt) -> None:
    """What is new since your last visit (here or on the dashboard): uses, refusals, consents ending soon."""
    chosen_lang = _lang(lang)
    with _open(home, unlock=False) as w:
        consents = w.consents()
        found = overview.news(w.store, consents)
        overview.mark_visit(w.store)
    if as_json:
        _print_json({"since": found.since, "uses": [r.to_json() for r in found.uses],
                     "refusals": [r.to_json() for r in found.refusals],
                     "ending": [c.to_json() for c in found.ending]})
    else:
        typer.echo(render.news_text(found, chosen_lang))


@app.command("list")
@_command
def list_(
    state: str | None = typer.Option(None, "--state", help="active, suspended, revoked or expired."),
    holder: str | None = typer.Option(None, "--holder", help="A data holder's DID or part of its name/URL."),
    requester: str | None = typer.Option(None, "--requester", help="A requester's DID or part of its name."),
    lang: str | None = LangOpt, home: Path | None = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Every consent you gave: to whom, what, why, its state (and pending changes).

    Streams: rows are read a page at a time and written as they come, so a wallet of 100,000
    consents lists in flat memory (``--json`` writes one consent object per line of the array).
    """
    chosen_lang = _lang(lang)
    with _open(home, unlock=False) as w:
        def consents() -> Iterator[ConsentView]:
            return w.iter_consents(state=state, holder=holder, requester=requester)

        if as_json:
            write_json(consents(), sys.stdout)
        else:
            render.write_consent_table(consents, chosen_lang, sys.stdout.write)


@app.command()
@_command
def show(
    consent_id: str = typer.Argument(..., metavar="ID", help="A consent id (or a unique prefix/suffix of it)."),
    out: Path | None = typer.Option(None, "--out", help="Write the raw credential (COSE bytes) to this file."),
    lang: str | None = LangOpt, home: Path | None = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Everything about one consent: what you were shown, hashes, the credential, its history."""
    with _open(home, unlock=False) as w:
        detail = w.detail(consent_id)
    if out is not None:
        out.write_bytes(detail.credential)
    if as_json:
        _print_json(detail.to_json())
    else:
        render.console().print(render.detail_view(detail, with_credential=out is None, lang=_lang(lang) if lang or os.environ.get("COPYME_LANG") else None))
        if out is not None:
            typer.echo(f"credential written to {out}")


def _change(action: str, consent_id: str, home: Path | None, passphrase_file: Path | None, as_json: bool,
            **options: Any) -> None:
    with _open(home, passphrase_file) as w:
        result = getattr(w, action)(consent_id, **options)
    if as_json:
        _print_json(result.to_json())
    else:
        typer.echo(render.change_text(result))


@app.command()
@_command
def revoke(consent_id: str = typer.Argument(..., metavar="ID"),
           erase: str | None = typer.Option(None, "--erase", help="Also ask the data user to stop using / erase "
                                            "the data it copied: stop_use, erase or both."),
           home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """Stop a consent for good and publish it to the registry (--erase both: and ask for erasure)."""
    _change("revoke", consent_id, home, passphrase_file, as_json, erase=erase)


@app.command()
@_command
def due(days: int = typer.Option(30, "--days", help="How many days ahead to look."),
        home: Path | None = HomeOpt, lang: str | None = LangOpt, as_json: bool = JsonOpt) -> None:
    """List active or suspended consents that end within --days days (default 30), soonest first."""
    with _open(home, unlock=False) as w:
        found = w.due(days=days)
    if as_json:
        _print_json([c.to_json() for c in found])
    elif not found:
        typer.echo(f"no consent ends within {days} days")
    else:
        chosen = _lang(lang)
        for c in found:
            typer.echo(f"{c.id}  {c.name(chosen)}  ends {render.date_text(c.expires_at)}  ({c.state})")


@app.command()
@_command
def erase(consent_id: str = typer.Argument(..., metavar="ID"),
          kind: str = typer.Option("both", "--kind", help="stop_use, erase or both."),
          home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """Ask the consent's data user to stop using and/or erase the data it copied (signed request)."""
    with _open(home, passphrase_file) as w:
        view = w.ask_rights(consent_id, kind)
    if as_json:
        _print_json(view.to_json())
    else:
        typer.echo(render.rights_text([view]))


@app.command()
@_command
def rights(consent_id: str | None = typer.Argument(None, metavar="[ID]"),
           follow_up: bool = typer.Option(False, "--follow-up", help="First retry undelivered requests and fetch "
                                          "the data users' signed answers."),
           home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """List stop-use / erasure requests and their state: sent, acknowledged, overdue, done."""
    with _open(home, passphrase_file, unlock=follow_up) as w:
        if follow_up:
            w.follow_up_rights()
        views = w.rights(consent_id)
    if as_json:
        _print_json([v.to_json() for v in views])
    else:
        typer.echo(render.rights_text(views))


@app.command()
@_command
def suspend(consent_id: str = typer.Argument(..., metavar="ID"), home: Path | None = HomeOpt,
            passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """Pause a consent (until resume) and publish it to the registry."""
    _change("suspend", consent_id, home, passphrase_file, as_json)


@app.command()
@_command
def resume(consent_id: str = typer.Argument(..., metavar="ID"), home: Path | None = HomeOpt,
           passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """Resume a suspended consent (a revoked one stays revoked)."""
    _change("resume", consent_id, home, passphrase_file, as_json)


@app.command()
@_command
def sync(home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt,
         pull: bool = typer.Option(True, "--pull/--no-pull",
                                   help="Also pull signed usage receipts from every linked data holder.")) -> None:
    """Publish pending status changes (and refresh lists about to expire), then pull usage receipts.

    Exits 6 if a list is still pending or a holder could not be asked, 3 if a holder's receipts
    have a gap or a rewritten entry (kept as a warning; nothing after it is merged).
    """
    with _open(home, passphrase_file) as w:
        results = w.sync()
        pulled = w.pull_receipts() if pull else []
    if as_json:
        _print_json({"lists": [r.to_json() for r in results], "receipts": [r.to_json() for r in pulled]})
    else:
        typer.echo(render.sync_text(results))
        if pull:
            typer.echo(render.pull_text(pulled))
    if any(r.error in ("chain_gap", "chain_broken") for r in pulled):
        raise typer.Exit(3)
    if any(not r.accepted for r in results) or any(not r.ok for r in pulled):
        raise typer.Exit(6)


@app.command()
@_command
def deliver(consent_id: str = typer.Argument(..., metavar="ID"), home: Path | None = HomeOpt,
            as_json: bool = JsonOpt) -> None:
    """Send a stored consent to its requester again (after a failed delivery)."""
    with _open(home, unlock=False) as w:
        consent = w.deliver(consent_id)
    if as_json:
        _print_json(consent.to_json())
    else:
        typer.echo(f"delivered: {consent.id}")


@app.command()
@_command
def link(holder_url: str = typer.Argument(..., help="The data holder's service URL."),
         code: str = typer.Option(..., "--code", help="The one-time link code the holder gave you (spaces around it are left out)."),
         home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """Link your wallet at a data holder with its one-time code (then every relationship DID there is linked too)."""
    with _open(home, passphrase_file) as w:
        result = w.link(holder_url, code)
    if as_json:
        _print_json(result)
    else:
        typer.echo(f"linked: {result['did']} to {result['holder']} ({result['holder_url']})")
        for relationship in result["relationships"]:
            typer.echo(f"  and the relationship DID {relationship['did']} (data user {relationship['requester']})")


@app.command("replace-key")
@_command
def replace_key(ref: str = typer.Argument(..., metavar="DID_OR_ID", help="A relationship DID, or the id of one of its consents."),
                home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """Replace a relationship's key you fear leaked: the holder links the new DID and refuses the old; consents are re-signed and delivered."""
    with _open(home, passphrase_file) as w:
        result = w.replace_key(ref)
    if as_json:
        _print_json(result.to_json())
        return
    typer.echo(f"replaced {result.old_did}\n    with {result.new_did}"
               + ("; the data holder refuses the old one from now on" if result.holder_told
                  else " (the holder did not know the old one)"))
    for c in result.consents:
        typer.echo(f"  consent {c['replaced'][-12:]} re-signed as {c['consent_id'][-12:]}: "
                   + ("delivered" if c["delivered"] else f"not delivered ({c['error']}); retry with 'copyme wallet deliver'"))


@app.command()
@_command
def relationships(home: Path | None = HomeOpt, as_json: bool = JsonOpt) -> None:
    """Your pairwise DIDs: one per data holder and data user, and whether the holder has linked each."""
    with _open(home, unlock=False) as w:
        found = w.relationships.all()
    if as_json:
        _print_json([r.to_json() for r in found])
        return
    for r in found:
        state = ("replaced" if r.replaced_at else "linked" if r.linked_at
                 else f"not linked yet ({r.link_error or 'holder not linked'})")
        typer.echo(f"{r.did}  holder {r.holder}  data user {r.requester}  #{r.generation}  {state}")
    if not found:
        typer.echo("no relationships yet")


@app.command()
@_command
def receipts(
    consent_id: str | None = typer.Argument(None, metavar="[ID]", help="Only this consent's receipts."),
    home: Path | None = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """Usage receipts the data holders signed: each release and refused attempt (run 'sync' to pull new ones)."""
    with _open(home, unlock=False) as w:
        found = w.receipts(consent_id)
        warnings = w.receipt_warnings()
    if as_json:
        _print_json([r.to_json() for r in found])
        return
    typer.echo(render.receipts_text(found))
    for state in warnings:
        typer.echo(f"WARNING: receipts from {state.holder_url}: {state.error}: {state.detail}", err=True)


@app.command("backup")
@_command
def backup_(file: Path = typer.Argument(..., help="Where to write the encrypted backup."),
            home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """Write an encrypted backup (keys, consents, status lists, history) sealed by your passphrase."""
    passphrase = _passphrase(passphrase_file)
    target = Home.at(home)
    if not target.exists():
        Wallet.open(target)
    with Wallet.open(target, passphrase) as w:
        summary = _backup.write_backup(w.store, w.home, file, passphrase)
    if as_json:
        _print_json(summary)
    else:
        typer.echo(f"backup written to {file} ({summary['consents']} consents)")


@app.command()
@_command
def restore(file: Path = typer.Argument(..., help="A backup written by 'copyme wallet backup'."),
            home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """Recreate a wallet from a backup, into an empty home folder only."""
    target = Home.at(home)
    if target.exists():
        raise WalletExists(f"there is already a wallet in {target.path}; restore only into an empty home")
    summary = _backup.restore(target, file, _passphrase(passphrase_file))
    if as_json:
        _print_json(summary)
    else:
        typer.echo(f"restored {summary['consents']} consents into {summary['home']}")


#: Written by ``serve`` into the home while it runs (its address and pid; nothing secret), so
#: ``login-link`` finds it.
SERVE_FILE = "serve.json"


@app.command()
@_command
def serve(host: str = typer.Option("127.0.0.1", "--host", help="Loopback address only."),
          port: int = typer.Option(8700, "--port", help="Port (0: any free port; the one chosen is printed)."),
          refresh_every: float = typer.Option(
              DEFAULT_INTERVAL, "--refresh-every", min=0,
              help="Seconds between background runs that re-sign status lists past half their lifetime "
                   "and publish pending changes (0: never; use 'copyme wallet sync')."),
          pull_every: float = typer.Option(
              DEFAULT_PULL_INTERVAL, "--pull-every", min=0,
              help="Seconds between background pulls of signed usage receipts from the linked data holders "
                   "(0: never; use 'copyme wallet sync')."),
          login_link_: bool = typer.Option(
              True, "--login-link/--no-login-link",
              help="Print a one-time sign-in link on start (off: e.g. when the output goes to a log; "
                   "get one with 'copyme wallet login-link')."),
          home: Path | None = HomeOpt, passphrase_file: Path | None = PassOpt, as_json: bool = JsonOpt) -> None:
    """Run the local JSON API and the web dashboard for this wallet, on 127.0.0.1 only.

    On start it prints the dashboard's address and a one-time sign-in link (valid once, for 10
    minutes); ``copyme wallet login-link`` gets a fresh one while it runs.  The API's bearer
    token (``api.token``) is never printed.
    """
    from .api import create_app

    if not is_loopback_host(host):
        raise InvalidArgument("the wallet API listens on loopback only (127.0.0.1)", field="host")
    target = Home.at(home)
    if not target.exists():
        Wallet.open(target)
    app_ = create_app(target, _passphrase(passphrase_file), refresh_interval=refresh_every or None,
                      pull_interval=pull_every or None)
    serve_file = target.path / SERVE_FILE

    def announce(bound: int) -> None:
        # one canonical origin: the button, the printed link and serve.json all say localhost, and
        # the dashboard sends 127.0.0.1 visitors there (a cookie set on one name is not sent to the other)
        base = f"http://{'[::1]' if host == '::1' else 'localhost'}:{bound}"
        if host != "::1":
            app_.state.canonical_host = f"localhost:{bound}"
        serve_file.write_text(json.dumps({"url": base, "pid": os.getpid()}), encoding="utf-8")
        issued = app_.state.signin.issue() if login_link_ else None
        fresh = f"copyme wallet login-link --home {target.path}"
        urls = {"api": f"{base}/api", "dashboard": f"{base}/", "login": base + issued.path if issued else None,
                "login_expires_at": issued.expires_at if issued else None,
                "token_file": str(target.api_token), "refresh_every": refresh_every or None,
                "pull_every": pull_every or None}
        if as_json:
            typer.echo(json.dumps(urls, ensure_ascii=False))
            return
        typer.echo(f"wallet dashboard: {urls['dashboard']}\n"
                   + (f"  sign in with this one-time link (works once, for 10 minutes): {urls['login']}\n"
                      if issued else "")
                   + f"  a fresh sign-in link: {fresh}\n"
                   f"local API: {urls['api']} (bearer token in {urls['token_file']})\n"
                   + (f"status lists: re-signed and published in the background every {refresh_every:g} s"
                      if refresh_every else "status lists: no background refresh; run 'copyme wallet sync'")
                   + (f"\nusage receipts: pulled from linked data holders every {pull_every:g} s"
                      if pull_every else "\nusage receipts: no background pull; run 'copyme wallet sync'"))

    # no access log: a sign-in link's key rides in a URL
    run_server(app_, host=host, port=port, access_log=False, on_listen=announce,
          on_shutdown=lambda: _forget_serve_file(serve_file))  # before uvicorn re-raises SIGTERM/SIGINT


def _forget_serve_file(path: Path) -> None:
    """Remove ``serve.json`` if it is still ours (another ``serve`` may have taken over)."""
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


@app.command("login-link")
@_command
def login_link(
    url: str | None = typer.Option(None, "--url", help="The running dashboard's address (default: the one "
                                                       "'copyme wallet serve' recorded in the home)."),
    home: Path | None = HomeOpt, as_json: bool = JsonOpt,
) -> None:
    """A fresh one-time sign-in link for the dashboard, from the running 'copyme wallet serve'.

    Asks the local API (``POST /api/login-link``) with the bearer token from the home's
    ``api.token``; the link works once, for 10 minutes.
    """
    issued = _login_link(Home.at(home), url)
    if as_json:
        _print_json(issued)
    else:
        typer.echo(f"{issued['url']}\n  (works once, for {issued['expires_in'] // 60} minutes; do not share it)")


def _login_link(target: Home, url: str | None) -> dict[str, Any]:
    if url is None:
        try:
            url = str(json.loads((target.path / SERVE_FILE).read_text(encoding="utf-8"))["url"])
        except (OSError, ValueError, KeyError, TypeError):
            raise Unavailable(f"no running 'copyme wallet serve' recorded in {target.path}; start it, "
                              "or pass --url") from None
    parts = urlsplit(url)
    if not is_loopback_url(url) or parts.path not in ("", "/") or parts.query or parts.fragment:
        # the bearer token goes there: only ever to this machine's own wallet
        raise InvalidArgument("--url must be the wallet's own loopback address, e.g. http://127.0.0.1:8700",
                              field="url")
    try:
        token = target.api_token.read_text(encoding="ascii").strip()
    except OSError:
        raise NotFound(f"no api.token in {target.path}: has 'copyme wallet serve' run with this home?") from None
    base = url.rstrip("/")
    with PeerClient(name=f"the wallet at {base}", deadline=10.0) as http:
        body = http.post(f"{base}/api/login-link", headers={"Authorization": f"Bearer {token}"}).raise_for_error().json()
    try:
        return {"url": base + str(body["path"]), "expires_at": int(body["expires_at"]),
                "expires_in": int(body["expires_in"])}
    except (ValueError, KeyError, TypeError):
        raise Unavailable(f"the wallet at {base} answered without a sign-in link") from None
