"""The words a consent is made of: data item ids and W3C DPV purposes, each with ja/en labels.

A user can only *understand* a consent if "transactions" and "dpv:ServiceProvision" are shown as
plain words in their language, so every id that may appear in a request has labels here.  Items
are a small documented vocabulary that a deployment extends with :meth:`Vocabulary.extend`;
purposes are terms of the W3C Data Privacy Vocabulary (``dpv:`` = https://w3id.org/dpv#).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import InvalidArgument, UnknownItem, UnknownPurpose

__all__ = [
    "DEFAULT_VOCABULARY",
    "DPV_NAMESPACE",
    "ITEM_ID",
    "LANGUAGES",
    "PURPOSE_TERM",
    "Label",
    "Vocabulary",
    "check_item_id",
    "check_purpose_term",
]

#: The languages every notice and label must have.
LANGUAGES = ("ja", "en")
DPV_NAMESPACE = "https://w3id.org/dpv#"
#: What an item id looks like: short, lower case, safe in URLs, CSV and file names.
ITEM_ID = re.compile(r"^[a-z][a-z0-9_.-]{0,47}$")
PURPOSE_TERM = re.compile(r"^dpv:[A-Z][A-Za-z]{1,63}$")


@dataclass(frozen=True)
class Label:
    """A term's name in each language, and a one-line plain explanation."""

    ja: str
    en: str
    ja_help: str = ""
    en_help: str = ""

    def text(self, lang: str) -> str:
        """The label in ``lang`` (``ja`` or ``en``)."""
        return self.ja if lang == "ja" else self.en

    def help(self, lang: str) -> str:
        """The explanation in ``lang``."""
        return self.ja_help if lang == "ja" else self.en_help


def check_item_id(item: str) -> str:
    """Return ``item`` if it is a syntactically valid item id, else raise ``invalid``."""
    if not isinstance(item, str) or not ITEM_ID.match(item):
        raise InvalidArgument(f"bad data item id {item!r}", field="items")
    return item


def check_purpose_term(purpose: str, field: str = "purposes") -> str:
    """Return ``purpose`` if it is written as a DPV term (``dpv:Name``), else raise ``invalid``.

    Only the spelling is checked here; whether the term is one a wallet can label is
    :meth:`Vocabulary.purpose`'s question.
    """
    if not isinstance(purpose, str) or not PURPOSE_TERM.match(purpose):
        raise InvalidArgument(f"{purpose!r} is not a DPV purpose term (dpv:Name)", field=field)
    return purpose


_ITEMS: dict[str, Label] = {
    "name": Label("氏名", "Full name"),
    "birthdate": Label("生年月日", "Date of birth"),
    "address": Label("住所", "Postal address"),
    "email": Label("メールアドレス", "Email address"),
    "phone": Label("電話番号", "Phone number"),
    "account_number": Label("口座番号", "Account number"),
    "balance": Label("口座残高", "Account balance"),
    "transactions": Label("入出金明細", "Transaction history"),
    "income": Label("収入", "Income"),
    "purchase_history": Label("購買履歴", "Purchase history"),
    "location": Label("位置情報", "Location"),
}

# Terms from the W3C DPV purpose taxonomy (dpv:Purpose and its sub-classes).
_PURPOSES: dict[str, Label] = {
    "dpv:ServiceProvision": Label(
        "サービスの提供", "Providing the service",
        "あなたが使うサービスを動かすため", "To run the service you are using",
    ),
    "dpv:ServicePersonalisation": Label(
        "サービスの個人向け最適化", "Personalising the service",
        "あなたに合わせて表示や提案を変えるため", "To tailor what the service shows you",
    ),
    "dpv:ServiceOptimisation": Label(
        "サービスの改善", "Improving the service",
        "サービスの品質や効率を上げるため", "To make the service work better",
    ),
    "dpv:PersonalisedAdvertising": Label(
        "あなた向けの広告", "Personalised advertising",
        "あなたの情報に基づいて広告を選ぶため", "To choose ads based on your data",
    ),
    "dpv:Marketing": Label(
        "マーケティング", "Marketing",
        "商品やサービスの案内のため", "To tell you about products and services",
    ),
    "dpv:FraudPreventionAndDetection": Label(
        "不正の防止と検知", "Preventing and detecting fraud",
        "なりすましや不正利用を防ぐため", "To stop impersonation and misuse",
    ),
    "dpv:IdentityVerification": Label(
        "本人確認", "Verifying your identity",
        "あなたが本人であることを確かめるため", "To check that you are who you say",
    ),
    "dpv:CreditChecking": Label(
        "与信審査", "Credit checking",
        "支払い能力を確認するため", "To assess your ability to pay",
    ),
    "dpv:ResearchAndDevelopment": Label(
        "研究開発", "Research and development",
        "新しい商品やサービスを作るため", "To develop new products and services",
    ),
    "dpv:CustomerManagement": Label(
        "顧客管理", "Managing your customer relationship",
        "問い合わせ対応や契約管理のため", "To handle your account and enquiries",
    ),
    "dpv:LegalCompliance": Label(
        "法令の遵守", "Complying with the law",
        "法律上の義務を果たすため", "To meet legal obligations",
    ),
}


@dataclass(frozen=True)
class Vocabulary:
    """The item ids and purposes a party understands, with their labels."""

    items: Mapping[str, Label] = field(default_factory=lambda: MappingProxyType(dict(_ITEMS)))
    purposes: Mapping[str, Label] = field(
        default_factory=lambda: MappingProxyType(dict(_PURPOSES))
    )

    def extend(
        self, items: Mapping[str, Label] | None = None, purposes: Mapping[str, Label] | None = None
    ) -> Vocabulary:
        """A new vocabulary with a deployment's own items (and DPV purposes) added."""
        new_items = dict(self.items)
        for item, label in (items or {}).items():
            new_items[check_item_id(item)] = label
        new_purposes = dict(self.purposes)
        for purpose, label in (purposes or {}).items():
            new_purposes[check_purpose_term(purpose)] = label
        return Vocabulary(MappingProxyType(new_items), MappingProxyType(new_purposes))

    def item(self, item: str) -> Label:
        """The label of an item id, or :class:`UnknownItem`."""
        try:
            return self.items[item]
        except (KeyError, TypeError):
            raise UnknownItem(f"unknown data item {item!r}", field="items") from None

    def purpose(self, purpose: str) -> Label:
        """The label of a DPV purpose term, or :class:`UnknownPurpose`."""
        try:
            return self.purposes[purpose]
        except (KeyError, TypeError):
            raise UnknownPurpose(f"unknown DPV purpose {purpose!r}", field="purposes") from None

    @staticmethod
    def purpose_iri(purpose: str) -> str:
        """The full DPV IRI of a ``dpv:`` term, for ISO/IEC TS 27560 records."""
        return DPV_NAMESPACE + purpose.removeprefix("dpv:")


DEFAULT_VOCABULARY = Vocabulary()
