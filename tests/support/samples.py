"""Fixed-seed keys and one sample of every wire object, for tests and the spec's vectors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from protocol import (
    ConsentCredential,
    ConsentRequest,
    Decline,
    DidLink,
    DidPossession,
    Item,
    KeyPair,
    LinkProof,
    Notice,
    NoticeText,
    Organisation,
    Presentation,
    ReceiptQuery,
    RightsAck,
    RightsDone,
    RightsKind,
    RightsRequest,
    Status,
    StatusList,
    StatusListToken,
    StatusRef,
    TrustList,
    UsageReceipt,
    cid_bytes,
)

NOW = 1_795_000_000  # 2026-11-18T...Z, fixed so that vectors never change
LIST_URI = "https://registry.example/v1/lists/2f1c0b7e9a4d4c1e8b3f6a5d7c9e0b12"


@dataclass(frozen=True)
class Keys:
    user: KeyPair
    requester: KeyPair
    holder: KeyPair
    status: KeyPair
    council: KeyPair
    stranger: KeyPair
    #: a relationship DID of the user (pairwise: one per data holder x data user)
    relationship: KeyPair = KeyPair.from_seed(bytes([7]) * 32)


KEYS = Keys(*(KeyPair.from_seed(bytes([i]) * 32) for i in range(1, 7)))


def request(keys: Keys = KEYS, now: int = NOW, **changes: object) -> ConsentRequest:
    """A household-budget app asking a bank for transactions (required) and balance (optional)."""
    fields: dict[str, object] = dict(
        requester=keys.requester.did,
        requester_name={"ja": "かけいぼ株式会社", "en": "Kakeibo Inc."},
        holder=keys.holder.did,
        holder_url="https://bank.example/v1/data",
        items=(Item("transactions", True), Item("balance", False), Item("name", False)),
        purposes=("dpv:ServiceProvision",),
        retention_days=365,
        onward_sharing=False,
        validity_days=180,
        notice=Notice(
            {
                "ja": NoticeText("銀行の入出金明細を家計簿に取り込みます",
                                 ("明細は家計簿の表示にだけ使います", "第三者には渡しません", "いつでも撤回できます")),
                "en": NoticeText("Import your bank transactions into your budget",
                                 ("Used only to show your budget", "Never passed on", "Revoke at any time")),
            },
            "https://kakeibo.example/terms/v3",
            hashlib.sha256(b"Kakeibo terms v3").digest(),
        ),
        callback="https://kakeibo.example/copyme/callback",
        issued_at=now,
        expires_at=now + 900,
        request_id=bytes(range(16)),
    )
    fields.update(changes)
    return ConsentRequest(**fields)  # type: ignore[arg-type]


def signed_request(keys: Keys = KEYS, now: int = NOW, **changes: object) -> ConsentRequest:
    """:func:`request`, signed and decoded again (so it has ``raw``)."""
    return ConsentRequest.decode(request(keys, now, **changes).sign(keys.requester))


def credential(keys: Keys = KEYS, now: int = NOW, items: tuple[str, ...] = ("transactions", "balance"),
               index: int = 1234) -> ConsentCredential:
    """The user's consent to :func:`request`, leaving out the optional ``name``."""
    return ConsentCredential.grant(
        signed_request(keys, now), user=keys.user.did, items=items,
        status=StatusRef(LIST_URI, index, keys.status.did), lang="ja", now=now,
        credential_id=bytes(range(16, 32)),
    )


def presentation(keys: Keys = KEYS, now: int = NOW, credential_bytes: bytes | None = None,
                 items: tuple[str, ...] = ("transactions",), purpose: str = "dpv:ServiceProvision") -> Presentation:
    """The data user presenting :func:`credential` to the bank for transactions."""
    return Presentation(
        presenter=keys.requester.did, audience=keys.holder.did,
        credential=credential_bytes or credential(keys, now).sign(keys.user),
        items=items, purpose=purpose, issued_at=now, presentation_id=bytes(range(32, 48)),
    )


def status_list_token(keys: Keys = KEYS, now: int = NOW) -> StatusListToken:
    """A 16,384-entry list with entry 1234 valid, 7 revoked and 42 suspended."""
    lst = StatusList()
    lst.set(7, Status.REVOKED)
    lst.set(42, Status.SUSPENDED)
    return StatusListToken.create(uri=LIST_URI, status_list=lst, signer=keys.status.did, ttl=300, now=now)


def trust_list(keys: Keys = KEYS, now: int = NOW, registries: tuple[str, ...] = ()) -> TrustList:
    """A council's list vouching for the budget app and the bank (and naming ``registries``)."""
    return TrustList(
        issuer=keys.council.did,
        organisations=(
            Organisation(keys.requester.did, "かけいぼ株式会社", "Kakeibo Inc.", "data_user"),
            Organisation(keys.holder.did, "さくら銀行", "Sakura Bank", "data_holder"),
        ),
        issued_at=now, expires_at=now + 30 * 86400, registries=registries,
    )


LINK_ID = bytes(range(0x40, 0x50))


def did_possession(keys: Keys = KEYS, now: int = NOW) -> DidPossession:
    """The user's relationship DID agreeing to be linked to the customer of their bank-linked DID."""
    return DidPossession(did=keys.relationship.did, holder=keys.holder.did, linked=keys.user.did, issued_at=now,
                         link_id=LINK_ID)


def did_link(keys: Keys = KEYS, now: int = NOW) -> DidLink:
    """The user's bank-linked DID vouching for their relationship DID (carrying its signed possession)."""
    return DidLink(linked=keys.user.did, holder=keys.holder.did, did=keys.relationship.did, issued_at=now,
                   link_id=LINK_ID, possession=did_possession(keys, now).sign(keys.relationship))


def link_proof(keys: Keys = KEYS, now: int = NOW) -> LinkProof:
    """The user proving their DID to the bank with link code ``K7PQ-2M9X``."""
    return LinkProof(user=keys.user.did, holder=keys.holder.did, code="K7PQ-2M9X", issued_at=now)


def receipt(keys: Keys = KEYS, now: int = NOW, *, seq: int = 1, prev: bytes | None = None,
            outcome: str = "released", reason: str | None = None) -> UsageReceipt:
    """The bank's receipt for releasing transactions to the budget app under :func:`credential`."""
    consent = credential(keys, now).sign(keys.user)
    return UsageReceipt(holder=keys.holder.did, user=keys.user.did, consent=cid_bytes(consent),
                        presenter=keys.requester.did, items=("transactions",), purpose="dpv:ServiceProvision",
                        outcome=outcome, issued_at=now + 60 * seq, seq=seq,
                        prev=None if prev is None else cid_bytes(prev), reason=reason)


def refused_receipt(keys: Keys = KEYS, now: int = NOW) -> UsageReceipt:
    """Receipt 2: the budget app tried again after the user suspended the consent, and was refused."""
    first = receipt(keys, now).sign(keys.holder)
    return receipt(keys, now, seq=2, prev=first, outcome="refused", reason="suspended")


def receipt_query(keys: Keys = KEYS, now: int = NOW, after: int = 0) -> ReceiptQuery:
    """The user's wallet asking the bank for receipts after ``after``."""
    return ReceiptQuery(user=keys.user.did, holder=keys.holder.did, issued_at=now, expires_at=now + 120,
                        query_id=bytes(range(48, 64)), after=after)
RIGHTS_URL = "https://kakeibo.example/copyme/rights"


def replacement_request(keys: Keys = KEYS, now: int = NOW) -> ConsentRequest:
    """Kakeibo's changed terms: it declares a rights endpoint, adds a purpose (with key points
    that say so: spec 3.1) and asks to replace :func:`credential` (whose CID it names)."""
    old = ConsentCredential.decode(credential(keys, now).sign(keys.user))
    notice = Notice(
        {"ja": NoticeText("銀行の入出金明細を家計簿に取り込みます",
                          ("明細は家計簿の表示とおすすめに使います", "第三者には渡しません", "いつでも撤回できます")),
         "en": NoticeText("Import your bank transactions into your budget",
                          ("Used for your budget and suggestions", "Never passed on", "Revoke at any time"))},
        "https://kakeibo.example/terms/v4", hashlib.sha256(b"Kakeibo terms v4").digest())
    return request(keys, now + 86400, purposes=("dpv:ServiceProvision", "dpv:ServicePersonalisation"),
                   notice=notice, request_id=bytes(range(48, 64)), rights=RIGHTS_URL, replaces=cid_bytes(old.raw))


def rights_request(keys: Keys = KEYS, now: int = NOW, kind: RightsKind = RightsKind.BOTH) -> RightsRequest:
    """The user asks Kakeibo to stop using and erase what it copied under :func:`credential`."""
    consent = ConsentCredential.decode(credential(keys, now).sign(keys.user))
    return RightsRequest.create(consent, kind, now=now + 3600, request_id=bytes(range(64, 80)))


def rights_ack(keys: Keys = KEYS, now: int = NOW) -> RightsAck:
    """Kakeibo acknowledges :func:`rights_request`, due in 14 days."""
    request = RightsRequest.decode(rights_request(keys, now).sign(keys.user))
    return RightsAck.answer(request, due_at=now + 3600 + 14 * 86400, now=now + 3601,
                            answer_id=bytes(range(80, 96)))


def rights_done(keys: Keys = KEYS, now: int = NOW) -> RightsDone:
    """Kakeibo reports it erased the transactions and balance it copied (42 records)."""
    request = RightsRequest.decode(rights_request(keys, now).sign(keys.user))
    return RightsDone.answer(request, erased_items=("transactions", "balance"), erased_records=42,
                             now=now + 7200, answer_id=bytes(range(96, 112)))


def decline(keys: Keys = KEYS, now: int = NOW) -> Decline:
    """The user says no to :func:`request`, signed with a one-time key (the ``stranger`` seed here)."""
    return Decline.create(signed_request(keys, now), now=now + 60, key=keys.stranger,
                          decline_id=bytes(range(112, 128)))[0]
