"""TrustList: organisations vouched for by a council key (e.g. an industry body).

The wallet shows a requester's *verified* name only when the requester's DID is on a trust
list signed by a council key the wallet trusts; otherwise it warns that the name is the
requester's own, unverified claim.

A trust list may also name **registries** (``"registries"``: base URLs) whose status lists the
parties that follow this council may fetch, besides the registry each of them is configured
with: a data holder fetches status only from a registry it trusts, and the council's signed
list is how it learns of another one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._model import SignedModel, check_did, check_int, check_text, check_times, claim, optional
from .enums import Claim, Typ
from .errors import DecodeError, InvalidArgument

__all__ = ["MAX_REGISTRIES", "MAX_REGISTRY_URL", "ROLES", "Organisation", "TrustList", "check_registry_url"]

#: What an organisation may be listed as.
ROLES = ("data_user", "data_holder", "both")
#: Most registries one trust list may name, and the longest base URL of one.
MAX_REGISTRIES = 32
MAX_REGISTRY_URL = 256


def check_registry_url(value: Any, name: str = "registries") -> str:
    """A registry's base URL as a trust list names it: ``http(s)://host[:port][/path]``, at most
    :data:`MAX_REGISTRY_URL` characters, without user info, query, fragment, white space or a
    trailing ``/`` (so one registry has one spelling); ``invalid`` (``malformed`` when decoded)
    otherwise."""
    bad = InvalidArgument(f"{name} must be http(s) base URLs without user info, query, fragment or a "
                          f"trailing slash, of at most {MAX_REGISTRY_URL} characters", field=name)
    if not isinstance(value, str) or not value or len(value) > MAX_REGISTRY_URL or value.endswith("/") \
            or any(c.isspace() or not c.isprintable() for c in value):
        raise bad
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError:
        raise bad from None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc \
            or parts.query or parts.fragment or "?" in value or "#" in value or port == 0:
        raise bad
    return value


@dataclass(frozen=True)
class Organisation:
    """One listed organisation: its DID, its names in Japanese and English, and its role."""

    did: str
    name_ja: str
    name_en: str
    role: str

    def __post_init__(self) -> None:
        check_did(self.did, "did")
        check_text(self.name_ja, "name_ja", 100)
        check_text(self.name_en, "name_en", 100)
        if self.role not in ROLES:
            raise InvalidArgument(f"role must be one of {', '.join(ROLES)}", field="role")

    def name(self, lang: str) -> str:
        """The organisation's name in ``lang``."""
        return self.name_ja if lang == "ja" else self.name_en


@dataclass(frozen=True)
class TrustList(SignedModel):
    """A signed list of organisations (``typ`` application/vnd.copyme.trustlist+cwt)."""

    TYP = Typ.TRUST_LIST
    MAX_SIZE = 1024 * 1024
    signer_claim = "issuer"

    issuer: str
    organisations: tuple[Organisation, ...]
    issued_at: int
    expires_at: int
    #: Base URLs of further registries whose status lists the council vouches for (may be empty).
    registries: tuple[str, ...] = ()
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.issuer, "issuer")
        dids = [o.did for o in self.organisations]
        if len(set(dids)) != len(dids):
            raise InvalidArgument("an organisation is listed twice", field="organisations")
        if len(self.registries) > MAX_REGISTRIES or len(set(self.registries)) != len(self.registries):
            raise InvalidArgument(f"registries must be at most {MAX_REGISTRIES} distinct URLs", field="registries")
        for url in self.registries:
            check_registry_url(url)
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_int(self.expires_at, "expires_at", self.issued_at + 1, 2**40)

    def find(self, did: str) -> Organisation | None:
        """The listed organisation with ``did``, if any."""
        return next((o for o in self.organisations if o.did == did), None)

    def check_validity(self, now: int | None = None) -> None:
        """Raise ``expired`` when the council's list is out of date."""
        check_times(self.issued_at, None, self.expires_at, now, 60)

    def to_claims(self) -> dict[Any, Any]:
        claims: dict[Any, Any] = {
            Claim.ISS: self.issuer,
            Claim.IAT: self.issued_at,
            Claim.EXP: self.expires_at,
            "orgs": [
                {"did": o.did, "name": {"ja": o.name_ja, "en": o.name_en}, "role": o.role}
                for o in self.organisations
            ],
        }
        if self.registries:  # left out when empty: a list naming none is byte for byte the older form
            claims["registries"] = list(self.registries)
        return claims

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> TrustList:
        orgs = []
        for entry in claim(claims, "orgs", list, "orgs"):
            if type(entry) is not dict:
                raise DecodeError("each organisation must be a map")
            name = claim(entry, "name", dict, "orgs.name")
            orgs.append(
                Organisation(
                    did=claim(entry, "did", str, "orgs.did"),
                    name_ja=claim(name, "ja", str, "orgs.name.ja"),
                    name_en=claim(name, "en", str, "orgs.name.en"),
                    role=claim(entry, "role", str, "orgs.role"),
                )
            )
        registries = optional(claims, "registries", list, "registries") or []
        return cls(
            issuer=claim(claims, Claim.ISS, str, "iss"),
            organisations=tuple(orgs),
            issued_at=claim(claims, Claim.IAT, int, "iat"),
            expires_at=claim(claims, Claim.EXP, int, "exp"),
            registries=tuple(check_registry_url(url) for url in registries),
        )
