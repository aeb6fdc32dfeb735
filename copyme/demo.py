"""``copyme demo``: the whole CopyMe journey on 127.0.0.1, in one command.

It starts five real services as child processes (``python -m copyme <pkg> serve``), each with
its own folder under one demo home:

- a **registry** that vouches for the two companies in its trust list,
- a **data holder**, Sakura Bank (the verifier service with demo customers),
- a **data user**, Kakeibo, the household-budget app with the CopyMe button,
- a second **data user**, Hoken, an insurer asking the same bank for other items (the script
  shows that the two know the same person by different identifiers),
- the **wallet dashboard** of a demo user whose DID is already linked to bank customer C-1001.

``copyme demo`` prints the URLs and what to click, and stops everything on Ctrl-C.
``copyme demo --script`` runs the journey in the terminal instead (request, partial consent,
fetch, a second data user's consent and fetch under another pairwise DID, suspend, refusal,
resume, fetch, revoke, refusal, resume refused, and the wallet pulling the bank's signed usage
receipts) and exits 0 only if
every outcome is the expected one.  The demo only uses the packages' public APIs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import typer
from rich.console import Console

from common import Child, PeerClient
from protocol import CopyMeError

if TYPE_CHECKING:
    from wallet import ChangeResult, Wallet

__all__ = ["CUSTOMER", "PASSPHRASE", "Demo", "Ports", "command", "run_script"]

#: The demo user's wallet passphrase (a demo, so it is printed; never do this with a real wallet).
PASSPHRASE = "copyme-demo"
#: The bank customer the demo user's wallet is linked to.
CUSTOMER = "C-1001"
#: Seconds between the demo wallet's background pulls of the bank's usage receipts.
PULL_EVERY = 3
#: Who vouches for the demo's companies (the registry's trust list); the wallet's pages name it.
COUNCIL_NAME = {"ja": "CopyMe デモ協議会", "en": "CopyMe demo council"}
BANK_NAME = {"ja": "さくら銀行", "en": "Sakura Bank"}
BUDGET_NAME = {"ja": "かけいぼ", "en": "Kakeibo"}
INSURER_NAME = {"ja": "ほけん", "en": "Hoken Insurance"}


#: Kakeibo's key points for its changed terms (a second purpose, kept two years).
_NEW_TERMS_NOTICE = {
    "ja": {"title": "銀行の入出金明細を家計簿に取り込みます",
           "points": ["明細は家計簿の表示とおすすめに使います", "第三者には渡しません（2年で削除）",
                      "いつでも撤回・一時停止できます"]},
    "en": {"title": "Import your bank transactions into your budget",
           "points": ["Used for your budget and suggestions", "Never passed on (deleted after 2 years)",
                      "Revoke or pause at any time"]},
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Ports:
    """Ports of the five services; 0 means "pick a free one"."""

    registry: int = 0
    bank: int = 0
    budget: int = 0
    wallet: int = 0
    insurer: int = 0

    def resolved(self) -> Ports:
        return Ports(*(p or free_port() for p in (self.registry, self.bank, self.budget, self.wallet, self.insurer)))


@dataclass
class Demo:
    """The demo services under ``home``; use as a context manager (stops them on exit)."""

    home: Path
    ports: Ports = field(default_factory=Ports)
    with_wallet_server: bool = True
    services: list[Child] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.home = Path(self.home)
        self.ports = self.ports.resolved()
        self.registry_url = f"http://127.0.0.1:{self.ports.registry}"
        self.bank_url = f"http://127.0.0.1:{self.ports.bank}"
        self.budget_url = f"http://127.0.0.1:{self.ports.budget}"
        self.insurer_url = f"http://127.0.0.1:{self.ports.insurer}"
        # browsers keep cookies per host name, not per port: the wallet answers as "localhost" so its
        # session cookie is never sent to the bank or the budget app on 127.0.0.1
        self.wallet_url = f"http://localhost:{self.ports.wallet}"
        self.wallet_home = self.home / "wallet"
        self.passphrase_file = self.home / "wallet-passphrase.txt"
        self.token = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Demo:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, name: str, args: list[str], port: int) -> Child:
        service = Child.spawn(name, ["copyme", *args, "--host", "127.0.0.1", "--port", str(port)],
                              f"http://127.0.0.1:{port}", self.home / "logs" / f"{name}.log")
        self.services.append(service)
        return service

    def start(self) -> None:
        """Prepare the folders, keys, trust list and wallet link; start the services."""
        # imported here, so that every other `copyme` command starts without them
        from issuer.service import load_or_create_key as issuer_key
        from registry.service import Registry
        from verifier import Holder
        from verifier import load_or_create_key as holder_key
        from wallet import Home, Wallet
        from wallet.api import load_token

        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)  # every party's state: the user's only
        bank_home, budget_home, registry_home = self.home / "bank", self.home / "budget", self.home / "registry"
        # the companies' keys exist before their services start, so the registry can vouch for them
        insurer_home = self.home / "insurer"
        bank_did, budget_did = holder_key(bank_home).did, issuer_key(budget_home).did
        insurer_did = issuer_key(insurer_home).did
        registry = Registry.open(registry_home)
        try:
            registry.trust_add(bank_did, BANK_NAME["ja"], BANK_NAME["en"], "data_holder")
            registry.trust_add(budget_did, BUDGET_NAME["ja"], BUDGET_NAME["en"], "data_user")
            registry.trust_add(insurer_did, INSURER_NAME["ja"], INSURER_NAME["en"], "data_user")
        finally:
            registry.close()
        code = None
        if not self.wallet_home.exists():
            holder = Holder.open(bank_home)
            try:
                code = holder.new_link_code(CUSTOMER)
            finally:
                holder.close()
        reg = self._spawn("registry", ["registry", "serve", "--home", str(registry_home), "--log-level", "warning"],
                          self.ports.registry)
        bank = self._spawn("bank", ["verifier", "serve", "--home", str(bank_home), "--registry", self.registry_url,
                                    "--demo"],
                           self.ports.bank)
        self._spawn("budget", ["issuer", "serve", "--demo", "--home", str(budget_home), "--holder", self.bank_url,
                                        "--holder-did", bank_did, "--wallet", self.wallet_url,
                                        "--registry", self.registry_url], self.ports.budget)
        self._spawn("insurer", ["issuer", "serve", "--demo", "--app", "hoken", "--home", str(insurer_home),
                                "--holder", self.bank_url, "--holder-did", bank_did, "--wallet", self.wallet_url,
                                "--registry", self.registry_url],
                    self.ports.insurer)
        reg.wait_up()
        if code is not None:
            wallet = Wallet.init(self.wallet_home, PASSPHRASE, registry=self.registry_url, kdf="interactive",
                                 council_name=COUNCIL_NAME)
            fd = os.open(self.passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(PASSPHRASE)
            try:
                bank.wait_up()
                wallet.link(self.bank_url, code)
            finally:
                wallet.close()
        self.token = load_token(Home.at(self.wallet_home))
        if self.with_wallet_server:
            # its output goes to a log file: no sign-in link there (login_url() asks for one)
            # it pulls the bank's signed usage receipts every few seconds, so the dashboard shows each use soon
            self._spawn("wallet", ["wallet", "serve", "--home", str(self.wallet_home), "--no-login-link",
                                   "--pull-every", str(PULL_EVERY), "--passphrase-file", str(self.passphrase_file)],
                        self.ports.wallet)
        for service in self.services:
            service.wait_up()

    def service(self, name: str) -> Child:
        """The running service called ``name`` (registry, bank, budget, wallet)."""
        return next(s for s in self.services if s.name == name)

    def restart(self, name: str) -> None:
        """Start a stopped service again on its port, with the same arguments and state."""
        old = self.service(name)
        old.stop()
        self.services.remove(old)
        again = Child.spawn(old.name, old.args, old.url, old.log)  # the same argv: same port and home
        self.services.append(again)
        again.wait_up()

    def stop(self) -> None:
        """Stop every service (newest first)."""
        for service in reversed(self.services):
            service.stop()
        self.services.clear()

    def login_url(self) -> str:
        """A fresh one-time link that signs a browser in to the wallet dashboard.

        Asked of the running wallet's local API with its bearer token (which itself never goes
        into a URL); the link works once, for 10 minutes.
        """
        with PeerClient(name="the demo wallet", deadline=10.0) as http:
            response = http.post(f"{self.wallet_url}/api/login-link", headers={"Authorization": f"Bearer {self.token}"})
        return self.wallet_url + str(response.raise_for_error().json()["path"])

    def open_wallet(self) -> Wallet:
        """The demo user's wallet, unlocked (for the script and tests)."""
        from wallet import Wallet

        return Wallet.open(self.wallet_home, PASSPHRASE)


# ---------------------------------------------------------------------------------- the script


class Step:
    """A journey step's printer: each step says what it expects and whether that happened."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.n = 0
        self.failed: list[str] = []

    def title(self, text: str) -> None:
        self.n += 1
        self.console.print(f"\n[bold]{self.n}. {text}[/bold]")

    def say(self, text: str) -> None:
        self.console.print(f"   {text}", highlight=False, emoji=False)  # a did:key is not an emoji code

    def expect(self, ok: bool, text: str) -> None:
        mark = "[green]✔ as expected[/green]" if ok else "[bold red]✘ NOT as expected[/bold red]"
        self.console.print(f"   {mark}: {text}", highlight=False)
        if not ok:
            self.failed.append(f"step {self.n}: {text}")


class _Feed:
    """Follows the registry's change feed, so the script can show (and wait for) each push."""

    def __init__(self, registry_url: str) -> None:
        from common.registry_client import RegistryClient

        self.client = RegistryClient(registry_url, timeout=30.0)
        self.seen: list[tuple[float, Any]] = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with contextlib.suppress(Exception):
            for event in self.client.events():
                with self.cond:
                    self.seen.append((time.monotonic(), event))
                    self.cond.notify_all()

    def wait(self, list_id: str, iat: int, timeout: float = 10.0) -> float | None:
        """Monotonic time the registry pushed ``list_id`` at ``iat`` or newer; None on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, event in self.seen:
                    if event.list_id == list_id and event.iat >= iat:
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def close(self) -> None:
        self.client.close()


def _fetch(budget_url: str, account: str) -> tuple[dict[str, Any] | None, str | None]:
    """A data user fetches the user's bank data: (data, None) or (None, the bank's reason code)."""
    with PeerClient(name="the data user's service", deadline=30.0) as http:
        response = http.post(f"{budget_url}/api/fetch", json={"account": account})
    body = response.json()
    if response.status_code == 200:
        return body, None
    return None, str(body.get("error"))


def _utc(ts: int | None) -> str:
    return datetime.fromtimestamp(ts or 0, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _budget(demo: Demo, method: str, path: str, **kwargs: Any) -> Any:
    """One call to the budget app's JSON API (an overall deadline; its error raised as ours)."""
    with PeerClient(name="the budget app", deadline=30.0) as http:
        return http.request(method, f"{demo.budget_url}{path}", **kwargs).raise_for_error().json()


def run_script(demo: Demo, console: Console, *, lang: str = "en") -> bool:
    """The journey in the terminal; True only if every outcome was the expected one."""
    step = Step(console)
    account = "demo-script"
    feed = _Feed(demo.registry_url)
    wallet = demo.open_wallet()
    budget_label = BUDGET_NAME[lang]
    try:
        step.title(f"{budget_label} (the budget app) asks for your bank data with the CopyMe button")
        with PeerClient(name="the budget app", deadline=30.0) as http:
            button = http.get(f"{demo.budget_url}/api/button", params={"account": account}).raise_for_error().json()
        step.say(f"request: {button['request_url']}")
        review = wallet.review(button["request_url"], lang=lang)
        who = review.requester_name if review.verified else f"{review.claimed_name} (UNVERIFIED)"
        step.say(f"your wallet shows: [bold]{review.title}[/bold]")
        step.say(f"requester: {who}; data from: {review.holder_name or review.holder_url}")
        for item in review.items:
            step.say(f"  • {item.label} ({'required' if item.required else 'optional'})")
        step.say(f"purposes: {', '.join(p.label for p in review.purposes)}; kept {review.retention_days} days; "
                 f"passed on: {'yes' if review.onward_sharing else 'no'}")
        step.expect(review.verified, "the requester's name is verified by the registry's trust list")

        chosen = [*review.required_items, *review.optional_items[:1]]
        left_out = [i for i in review.optional_items if i not in chosen]
        step.title(f"You accept only some optional items: {', '.join(chosen)} (leaving out {', '.join(left_out)})")
        consent = wallet.accept(review, items=chosen, lang=lang)
        step.say(f"consent …{consent.id[-12:]} signed and stored in your wallet; its status list "
                 + ("is waiting to be published (pending)" if consent.pending else "was published to the registry"))
        step.expect(consent.delivered and set(consent.items) == set(chosen),
                    f"{budget_label} received the consent for exactly {', '.join(consent.items)}")

        def fetch_step(expect_code: str | None) -> None:
            data, code = _fetch(demo.budget_url, account)
            if data is not None:
                got = sorted(data["items"])
                step.say(f"the bank released: {', '.join(got)}")
                for name in got:
                    value = data["items"][name]
                    shown = f"{len(value)} entries" if isinstance(value, list) else repr(value)
                    step.say(f"  {name}: {shown}")
            elif code == "conflict":
                step.say(f"{budget_label}'s own SDK stopped it before it asked the bank: you asked it to stop "
                         f"using this data ([bold]{code}[/bold])")
            else:
                step.say(f"the bank refused: [bold]{code}[/bold]")
            if expect_code is None:
                step.expect(data is not None and sorted(data["items"]) == sorted(chosen),
                            "data fetched, and only the granted items")
            else:
                step.expect(code == expect_code, f"refused with reason '{expect_code}'")

        def change_step(action: str, verb: str, **options: Any) -> ChangeResult:
            started = time.monotonic()
            result: ChangeResult = getattr(wallet, action)(consent.id, **options)
            pushed = feed.wait(consent.list_id, result.iat)
            if result.published:
                step.say(f"the registry accepted the new status list (iat {result.iat})"
                         + (f"; its change feed pushed it {1000 * (pushed - started):.0f} ms after the click"
                            if pushed else ""))
            step.expect(result.published and result.state == {"suspend": "suspended", "resume": "active",
                                                                "revoke": "revoked"}[action],
                        f"consent {verb}, and the registry has it")
            time.sleep(0.3)  # the bank re-fetches the list when the feed tells it to
            return result

        step.title(f"{budget_label} fetches your bank data")
        fetch_step(None)
        second_data_user(demo, step, wallet, account, budget_label, INSURER_NAME[lang], lang)
        step.title("You suspend the consent in your wallet")
        change_step("suspend", "suspended")
        step.title(f"{budget_label} tries again")
        fetch_step("suspended")
        step.title("You resume the consent")
        change_step("resume", "resumed")
        step.title(f"{budget_label} fetches again")
        fetch_step(None)

        chain = [consent.id]

        def replace_step(changes: dict[str, Any] | None) -> None:
            nonlocal consent
            old = consent
            link = _budget(demo, "POST", f"/api/consents/{old.id}/replace",
                           json={"changes": changes} if changes else None)
            shown = wallet.review(link["request_url"], lang=lang)
            if shown.replacement is None:
                step.expect(False, "the wallet shows what the new request changes")
                return
            step.say(f"your wallet shows: {shown.replacement.summary}")
            for change in shown.replacement.changes:
                step.say(f"  • {change.text}")
            consent = wallet.accept(shown, items=chosen, lang=lang)
            chain.append(consent.id)
            step.say(f"new consent …{consent.id[-12:]} signed; the old one …{old.id[-12:]} is now "
                     f"{wallet.consent(old.id).state}")
            step.expect(consent.state == "active" and wallet.consent(old.id).state == "revoked"
                        and (shown.replacement.renewal == (changes is None)),
                        "one step: the new consent is active and the one it replaces is revoked")

        step.title(f"{budget_label} changes its terms (a second purpose, kept two years) and asks you again")
        # changed terms come with key points that say so (a request keeping the old ones is stale_notice)
        replace_step({"purposes": ["dpv:ServiceProvision", "dpv:ServicePersonalisation"], "retention_days": 730,
                      "notice": _NEW_TERMS_NOTICE})
        step.title(f"{budget_label} asks you to renew the consent on the same terms")
        replace_step(None)
        step.title(f"{budget_label} fetches under the renewed consent")
        fetch_step(None)
        copied = _budget(demo, "GET", "/api/copied", params={"account": account})
        step.say(f"{budget_label} keeps a copy of: {', '.join(sorted({c['item'] for c in copied['copied']}))}")
        step.title(f"You revoke the consent, and also ask {budget_label} to delete the data it copied")
        asked = change_step("revoke", "revoked", erase="both").rights
        if asked is not None:
            step.say(f"your wallet signed an erasure request and sent it to {asked.endpoint}")
            step.say(f"{budget_label} acknowledged it (signed), due by {_utc(asked.due_at)}" if asked.due_at
                     else f"not acknowledged yet: {asked.send_error}")
        step.expect(asked is not None and asked.state == "acknowledged",
                    f"{budget_label}'s signed acknowledgement is in your wallet")
        step.title(f"{budget_label} tries again")
        fetch_step("conflict")
        step.title(f"{budget_label} carries out your erasure request (its deletion hook runs)")
        [pending] = _budget(demo, "GET", "/api/rights", params={"account": account, "open_only": "true"})["rights"]
        step.say(f"{budget_label}'s list of open requests: {pending['kind']} for consent …{pending['consent_id'][-12:]}"
                 f" ({pending['state']})")
        completed = _budget(demo, "POST", f"/api/rights/{pending['rights_id']}/complete")
        step.say(f"{budget_label} erased: {', '.join(completed['erased_items'])} "
                 f"({completed['erased_records']} records) and signed the completion")
        left = _budget(demo, "GET", "/api/copied", params={"account": account})
        step.expect(left["copied"] == [], f"the copied bank data is gone from {budget_label}'s store")
        [followed] = wallet.follow_up_rights()
        step.say(f"your wallet fetched the signed completion: {followed.state}, erased "
                 f"{', '.join(followed.erased_items)} at {_utc(followed.done_at)}")
        step.expect(followed.state == "done" and set(followed.erased_items) == set(chosen),
                    "your wallet keeps the signed completion as evidence, in the consent's history")
        step.title("You try to resume the revoked consent")
        try:
            wallet.resume(consent.id)
            step.expect(False, "resuming a revoked consent is refused")
        except CopyMeError as err:
            step.say(f"your wallet says: {err.code}: {err.detail}")
            step.expect(err.code == "conflict", "resuming a revoked consent is refused (revoking is final)")
        step.title("Your wallet pulls the bank's signed usage receipts")
        pulled = wallet.pull_receipts()
        for result in pulled:
            step.say(f"asked {BANK_NAME[lang]} with a fresh signed query: each receipt verified with the bank's "
                     f"key, chain checked up to #{result.last_seq}" if result.ok
                     else f"{BANK_NAME[lang]}: WARNING {result.error}: {result.detail}")
        names = {c.requester: c.name(lang) for c in wallet.consents()}
        receipts = wallet.receipts()  # every use of this customer's data at the bank, whichever company asked
        for r in receipts:
            outcome = f"refused ({r.reason})" if r.refused else "released"
            step.say(f"  #{r.seq} {names.get(r.presenter, r.presenter)}: {', '.join(r.items)} — {outcome}")
        # Kakeibo's consent and the ones that replaced it (changed terms, renewal); after the
        # erasure request its own SDK stops it before it asks the bank, so no refusal for 'revoked'
        mine = [(r.outcome, r.reason) for r in receipts if r.consent_id in chain]
        step.expect(all(r.ok for r in pulled) and len(receipts) == 5 and mine == [
            ("released", None), ("refused", "suspended"), ("released", None), ("released", None)],
            f"{budget_label}'s three uses (under its first and its renewed consent) and its refused attempt, "
            f"and {INSURER_NAME[lang]}'s use, each signed by the bank and chained")
    except (CopyMeError, httpx.HTTPError, KeyError, ValueError) as err:
        step.expect(False, f"the journey stopped: {type(err).__name__}: {err}")
    finally:
        wallet.close()
        feed.close()
    if step.failed:
        console.print(f"\n[bold red]{len(step.failed)} outcome(s) were not as expected:[/bold red]")
        for line in step.failed:
            console.print(f"  {line}", highlight=False)
        return False
    console.print(f"\n[bold green]All {step.n} steps went as expected.[/bold green]")
    return True


def second_data_user(demo: Demo, step: Step, wallet: Wallet, account: str, budget_label: str, label: str,
                     lang: str) -> None:
    """An insurer asks the same bank for other items; the two companies know you by different DIDs."""
    step.title(f"{label} (an insurer) asks the same bank for your name and date of birth")
    with PeerClient(name="the insurer", deadline=30.0) as http:
        button = http.get(f"{demo.insurer_url}/api/button", params={"account": account}).raise_for_error().json()
    review = wallet.review(button["request_url"], lang=lang)
    consent = wallet.accept(review, items=list(review.required_items), lang=lang)
    step.say("your wallet signed it with a new DID of its own for this company, and linked that DID at the bank "
             "itself (a proof signed by the DID the bank already knows and by the new one)")
    data, code = _fetch(demo.insurer_url, account)
    step.say(f"the bank released to {label}: " + (", ".join(sorted(data["items"])) if data else f"refused ({code})"))
    step.expect(consent.delivered and data is not None and sorted(data["items"]) == sorted(review.required_items),
                f"{label} received the consent and fetched exactly {', '.join(review.required_items)}")
    step.title(f"What {budget_label} and {label} know you as")
    users = {}
    for name, url in ((budget_label, demo.budget_url), (label, demo.insurer_url)):
        with PeerClient(name=name, deadline=30.0) as http:
            held = http.get(f"{url}/api/consents", params={"account": account}).raise_for_error().json()["consents"]
        users[name] = {(c["user"], c["status"]["uri"]) for c in held}
        for did, uri in sorted(users[name]):
            step.say(f"{name}: {did}  (status list …{uri[-12:]})")
    [(a_did, a_uri)], [(b_did, b_uri)] = users.values()
    step.expect(a_did != b_did and a_uri != b_uri and wallet.did not in (a_did, b_did),
                "the two companies hold different DIDs and status lists for you, and neither holds your wallet's own")


# ------------------------------------------------------------------------------- the command


def _instructions(demo: Demo, console: Console) -> None:
    console.print("\n[bold]CopyMe demo is running on 127.0.0.1[/bold]  (state in "
                  f"{demo.home}; logs in {demo.home / 'logs'})\n", highlight=False)
    rows = [("registry (status lists, trust list)", demo.registry_url),
            (f"data holder: {BANK_NAME['en']} / {BANK_NAME['ja']}", demo.bank_url),
            (f"data user: {BUDGET_NAME['en']} / {BUDGET_NAME['ja']} (budget app)", demo.budget_url),
            (f"data user: {INSURER_NAME['en']} / {INSURER_NAME['ja']} (used by --script)", demo.insurer_url),
            ("your wallet dashboard", demo.wallet_url)]
    for label, url in rows:
        console.print(f"  {label:<48} {url}", highlight=False)
    console.print("\n[bold]What to click[/bold]", highlight=False)
    for n, text in enumerate([
        f"Open your wallet (this one-time link signs your browser in; it works once, for 10 minutes): "
        f"{demo.login_url()}",
        f"Open the budget app: {demo.budget_url}  and press the CopyMe button.",
        "Your wallet shows the request: who asks, what, why, how long. Untick an optional item and consent.",
        "Back in the budget app, press 'fetch my bank data': only the items you chose arrive.",
        "In your wallet, open the consent and suspend it; fetch again in the budget app: refused.",
        "Resume, fetch again (it works), then revoke: refused for good.",
    ], 1):
        console.print(f"  {n}. {text}", highlight=False, soft_wrap=True)
    console.print("\n  (A fresh sign-in link: copyme wallet login-link "
                  f"--home {demo.wallet_home} --url {demo.wallet_url})", highlight=False, soft_wrap=True)
    console.print(f"  (Switch languages with the 日本語 / English links. Wallet passphrase: {PASSPHRASE}.)")
    console.print("  Press Ctrl-C to stop everything.\n")


@contextlib.contextmanager
def _home(home: Path | None) -> Iterator[Path]:
    if home is not None:
        yield home
        return
    folder = Path(tempfile.mkdtemp(prefix="copyme-demo-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _stop_on_sigterm() -> None:
    """``kill`` stops the demo like Ctrl-C does: children are stopped, the temp folder removed."""
    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt
    with contextlib.suppress(ValueError):  # not in the main thread
        signal.signal(signal.SIGTERM, raise_interrupt)


def command(
    script: bool = typer.Option(False, "--script", help="Run the journey in the terminal and exit (0 = every outcome as expected; 130 = interrupted)."),
    home: Path | None = typer.Option(None, "--home", help="Keep all demo state in this folder (default: a temporary folder, removed at the end)."),
    registry_port: int = typer.Option(0, "--registry-port", help="Registry port (default: a free one)."),
    bank_port: int = typer.Option(0, "--bank-port", help="Data holder (bank verifier) port (default: a free one)."),
    budget_port: int = typer.Option(0, "--budget-port", help="Budget app (issuer) port (default: a free one)."),
    wallet_port: int = typer.Option(0, "--wallet-port", help="Wallet dashboard port (default: a free one)."),
    insurer_port: int = typer.Option(0, "--insurer-port", help="Second data user (the insurer) port (default: a free one)."),
    lang: str = typer.Option("en", "--lang", help="Language of the script's wallet notice: ja or en."),
) -> None:
    """Start a registry, a bank, a budget app and your wallet on 127.0.0.1 and try CopyMe."""
    console = Console(highlight=False, soft_wrap=True)
    if lang not in ("ja", "en"):
        console.print("error: invalid: --lang must be ja or en")
        raise typer.Exit(2)
    _stop_on_sigterm()
    ports = Ports(registry_port, bank_port, budget_port, wallet_port, insurer_port)
    ok, interrupted = True, False
    with _home(home) as folder:
        try:
            with Demo(folder, ports, with_wallet_server=not script) as demo:
                if script:
                    console.print(f"[dim]services up: registry {demo.registry_url}, bank {demo.bank_url}, "
                                  f"budget app {demo.budget_url}, insurer {demo.insurer_url}[/dim]")
                    ok = run_script(demo, console, lang=lang)
                else:
                    _instructions(demo, console)
                    while all(s.proc.poll() is None for s in demo.services):
                        time.sleep(0.5)
                    dead = [s.name for s in demo.services if s.proc.poll() is not None]
                    console.print(f"[red]stopped: the {', '.join(dead)} service exited (see its log)[/red]")
                    ok = False
        except KeyboardInterrupt:
            console.print("\nstopping… all services stopped.")
            if script:  # an interrupted journey did not pass: scripts and CI must not read it as one
                console.print("the script was interrupted before it finished")
                interrupted = True
        except (RuntimeError, CopyMeError, OSError, httpx.HTTPError) as err:
            console.print(f"error: demo: {err}")
            ok = False
    if interrupted:
        raise typer.Exit(130)  # as a shell reports a command stopped by SIGINT
    if not ok:
        raise typer.Exit(1)

