"""The consent list that scales, "who has my data" and what is new (wallet.overview)."""

from __future__ import annotations

import json
import time

import pytest

from protocol import InvalidArgument
from tests.support import samples
from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Wallet, overview
from wallet.receipts import HeldReceipt


def add_receipt(wallet: Wallet, consent_id: str, items: list[str], *, at: int | None = None,
                outcome: str = "released", reason: str | None = None) -> None:
    """A receipt row as a pull stores it (the signature and chain checks are wallet.pull's tests)."""
    when = at or int(time.time())
    with wallet.store.transaction() as db:
        n = db.conn.execute("SELECT COUNT(*) FROM usage_receipts").fetchone()[0] + 1
        db.conn.execute(
            "INSERT INTO usage_receipts (holder, seq, cid, consent_id, at, presenter, items, purpose, outcome, "
            "reason, raw, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("did:key:zHolder", n, f"cid-{n}", consent_id, when, "did:key:zPresenter", json.dumps(items),
             "dpv:ServiceProvision", outcome, reason, b"", when))


def _wallet_with_three(env: Env) -> tuple[Wallet, list[str]]:
    wallet = Wallet.init(env.home, PASSPHRASE, registry=env.registry_url)
    ids = []
    for items in (["transactions"], ["transactions", "balance"], ["transactions", "name"]):
        review = wallet.review_bytes(env.request_bytes(), lang="en")
        ids.append(wallet.accept(review, items=items).id)
    wallet.revoke(ids[2])
    return wallet, ids


def test_listing_filters_by_state_and_searches_names_and_items(env: Env) -> None:
    wallet, ids = _wallet_with_three(env)
    with wallet:
        everything = overview.listing(wallet.store, wallet.consents())
        assert {x.consent.id for x in everything} == set(ids)
        revoked = overview.listing(wallet.store, wallet.consents(), state="revoked")
        assert [x.consent.id for x in revoked] == [ids[2]] and revoked[0].closed and revoked[0].ended_at
        assert [x.consent.id for x in overview.listing(wallet.store, wallet.consents(), query="口座残高")] == [ids[1]]
        assert len(overview.listing(wallet.store, wallet.consents(), query="kakeibo balance")) == 1
        assert overview.listing(wallet.store, wallet.consents(), query="no such thing") == []


@pytest.mark.parametrize(("state", "query"), [("gone", ""), ("all", "x" * 201)])
def test_listing_refuses_bad_filters(env: Env, state: str, query: str) -> None:
    wallet, _ = _wallet_with_three(env)
    with wallet, pytest.raises(InvalidArgument) as err:
        overview.listing(wallet.store, wallet.consents(), state=state, query=query)
    assert err.value.code == "invalid"


def test_companies_say_what_each_received_and_refusals_are_not_received(env: Env) -> None:
    wallet, ids = _wallet_with_three(env)
    with wallet:
        t0 = int(time.time())
        add_receipt(wallet, ids[1], ["balance"], at=t0 + 100)
        add_receipt(wallet, ids[0], ["name"], at=t0 + 200, outcome="refused", reason="items_not_granted")
        [company] = overview.companies(wallet.consents(), wallet.receipts())
        assert company.received == ("balance",) and company.last_use == t0 + 200 and company.may_fetch
        assert [overview.is_refusal(r) for r in company.uses] == [True, False]
        assert company.name("ja") == "かけいぼ株式会社"


def test_news_since_the_last_visit(env: Env) -> None:
    wallet, ids = _wallet_with_three(env)
    with wallet:
        t0 = int(time.time())
        first = overview.news(wallet.store, wallet.consents(), now=t0)
        assert first.since is None and first.uses == ()
        overview.mark_visit(wallet.store, now=t0)
        add_receipt(wallet, ids[0], ["transactions"], at=t0 + 100)
        later = overview.news(wallet.store, wallet.consents(), now=t0 + 200)
        assert [r.consent_id for r in later.uses] == [ids[0]] and later.company(ids[0], "en") == "Kakeibo Inc."
        soon = overview.news(wallet.store, wallet.consents(), now=wallet.consent(ids[0]).expires_at - 86400)
        assert ids[0] in {c.id for c in soon.ending} and ids[2] not in {c.id for c in soon.ending}


def test_a_refusal_is_known_by_its_outcome() -> None:
    def held(outcome: str) -> HeldReceipt:
        return HeldReceipt("h", 1, "cid", "c", 1, "p", ("balance",), "dpv:ServiceProvision", outcome, None, 1)

    assert overview.is_refusal(held("refused")) and not overview.is_refusal(held("released"))


def test_shortened_validity_and_its_bounds(env: Env) -> None:
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        review = wallet.review_bytes(env.request_bytes(), lang="en")
        for bad in (0, -1, review.validity_days + 1):
            with pytest.raises(InvalidArgument):
                wallet.accept(review, validity_days=bad)
        consent = wallet.accept(review, validity_days=1)
        assert consent.expires_at - consent.issued_at == 86400
        assert wallet.review_bytes(env.request_bytes(key=samples.KEYS.stranger), lang="en").council_name == ""
