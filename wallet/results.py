"""What the wallet's changes and its ``show`` answer with: :class:`ChangeResult` and :class:`ConsentDetail`.

Both are plain frozen dataclasses with a ``to_json`` for the CLI and the local API; the
:class:`~wallet.Wallet` builds them, :mod:`wallet.render` draws them.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any

from protocol import Organisation

from .consents import ConsentView, Review
from .receipts import HeldReceipt
from .rights import RightsView
from .trust import TrustCheck

__all__ = ["ChangeResult", "ConsentDetail", "checks_when_consenting"]


@dataclass(frozen=True)
class ChangeResult:
    """The outcome of revoke/suspend/resume: the new state, and whether the registry has it yet."""

    consent_id: str
    state: str
    iat: int
    published: bool
    error: str | None = None
    detail: str | None = None
    #: The stop-use / erasure request sent along with a revocation, if one was asked for.
    rights: RightsView | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON answer of revoke, suspend and resume (CLI and API)."""
        out = asdict(self)
        out["rights"] = self.rights.to_json() if self.rights is not None else None
        return out


@dataclass(frozen=True)
class ConsentDetail:
    """Everything about one consent (``show``)."""

    consent: ConsentView
    review: Review
    credential: bytes
    request: bytes
    terms_sha256: str
    events: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[HeldReceipt] = field(default_factory=list)
    rights: list[RightsView] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``show --json`` and ``GET /api/consents/{id}`` body (credential as unpadded base64url)."""
        return {
            "consent": self.consent.to_json(), "shown": self.review.to_json(),
            "hashes": {"consent_id": self.consent.id, "request_cid": self.consent.request_cid,
                       "terms_sha256": self.terms_sha256},
            "credential": base64.urlsafe_b64encode(self.credential).rstrip(b"=").decode(),
            "events": self.events, "receipts": [r.to_json() for r in self.receipts],
            "rights": [r.to_json() for r in self.rights],
        }


def checks_when_consenting(view: ConsentView) -> tuple[TrustCheck, TrustCheck]:
    """The requester's and the holder's trust checks as recorded when the user consented (a
    consent's page shows who they were then, not what today's trust list says)."""
    org_name = view.requester_name if view.verified else None
    requester = TrustCheck(Organisation(view.requester, org_name["ja"], org_name["en"], "data_user")
                           if org_name else None, "" if org_name else "not verified when consenting",
                           "" if org_name else "unverified_then")
    holder = TrustCheck(Organisation(view.holder, view.holder_name["ja"], view.holder_name["en"], "data_holder")
                        if view.holder_name else None)
    return requester, holder
