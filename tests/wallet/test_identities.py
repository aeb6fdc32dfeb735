"""What the identifiers page says of each relationship key (:func:`wallet.identities.identities`)."""

from __future__ import annotations

from typing import Any

import pytest

from wallet import ConsentView
from wallet.identities import identities
from wallet.relationships import Relationship

BANK, OTHER_BANK, APP, SHOP = "did:key:zBank", "did:key:zOther", "did:key:zApp", "did:key:zShop"


def _rel(id_: int, holder: str = BANK, requester: str = APP, *, generation: int = 0, linked: int | None = None,
         error: str | None = None, replaced: int | None = None) -> Relationship:
    return Relationship(id_, holder, requester, generation, f"did:key:z{id_}", 100, linked, error, replaced)


def _consent(id_: str, state: str, holder: str = BANK, requester: str = APP, **kw: Any) -> ConsentView:
    return ConsentView(id=id_, requester=requester, requester_name={"ja": "かけいぼ", "en": "Kakeibo"},
                       verified=True, holder=holder, holder_name={"ja": "さくら銀行", "en": "Sakura Bank"},
                       holder_url="http://127.0.0.1:1/v1/data", items=("transactions",), purposes=(),
                       lang="ja", issued_at=100, expires_at=10**10, state=state, pending=False, delivered=True,
                       delivery_error=None, request_cid="bafy", list_id="l", index=1, **kw)


@pytest.mark.parametrize("relationship,linked_holders,link", [
    (_rel(1, linked=200), {BANK}, "linked"),
    (_rel(1), set(), "no_holder_link"),
    (_rel(1, error="unavailable: the data holder did not answer"), {BANK}, "failed"),
    (_rel(1), {BANK}, "waiting"),
    (_rel(1, linked=200, replaced=300), {BANK}, "refused"),
    (_rel(1, replaced=300), set(), "retired"),
])
def test_the_link_state_in_plain_terms(relationship: Relationship, linked_holders: set[str], link: str) -> None:
    [found] = identities([relationship], linked_holders, [_consent("c1", "active")])
    assert found.link == link
    assert found.company_name("en") == "Kakeibo" and found.holder_name("ja") == "さくら銀行"
    if link == "failed":
        assert found.link_error_code == "unavailable"


def test_consents_in_force_ride_on_the_current_key_only() -> None:
    old, new = _rel(1, linked=200, replaced=300), _rel(2, generation=1, linked=300)
    other = _rel(3, holder=OTHER_BANK, requester=SHOP)
    consents = [_consent("a", "active"), _consent("s", "suspended"), _consent("r", "revoked"),
                _consent("e", "expired"), _consent("x", "active", holder=OTHER_BANK, requester=SHOP)]
    found = identities([old, new, other], {BANK}, consents)
    assert [(i.relationship.id, i.live, i.consent_ids) for i in found] == [
        (2, 2, ("a", "s")), (3, 1, ("x",)), (1, 0, ())]  # in use first, replaced last
    assert [i.replaced for i in found] == [False, False, True]


def test_a_relationship_without_consents_still_shows() -> None:
    [found] = identities([_rel(1)], set(), [])
    assert found.company_name("ja") == "" and found.holder_name("ja") == "" and found.live == 0
