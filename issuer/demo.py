"""Kakeibo (かけいぼ), the fictional household-budget service of the demo: what it asks for.

It wants the user's bank transactions (required) and, optionally, the balance and the name,
only to show the user's own budget, kept for a year, never passed on.
"""

from __future__ import annotations

from .service import IssuerConfig

__all__ = ["KAKEIBO_TERMS", "kakeibo_config"]

KAKEIBO_TERMS = """かけいぼ 利用規約（デモ） / Kakeibo terms of use (demo)

1. かけいぼは、あなたが同意した銀行の情報を、家計簿の表示のためだけに使います。
   Kakeibo uses the bank data you agree to share only to show your budget.
2. 受け取った情報は365日で削除し、第三者には提供しません。
   Data received is deleted after 365 days and never passed on.
3. 同意はウォレットからいつでも撤回・一時停止できます。
   You can revoke or pause your consent in your wallet at any time.
""".encode()


def kakeibo_config(holder_base: str, *, terms_url: str = "https://kakeibo.example/terms/v1") -> IssuerConfig:
    """The demo's request terms, fetching from the data holder at ``holder_base``."""
    return IssuerConfig(
        name={"ja": "かけいぼ", "en": "Kakeibo"},
        holder_url=holder_base.rstrip("/") + "/v1/data",
        required=("transactions",),
        optional=("balance", "name"),
        purposes=("dpv:ServiceProvision",),
        notice={
            "ja": {"title": "銀行の入出金明細を家計簿に取り込みます",
                   "points": ["明細は家計簿の表示にだけ使います", "第三者には渡しません（365日で削除）",
                              "いつでも撤回・一時停止できます"]},
            "en": {"title": "Import your bank transactions into your budget",
                   "points": ["Used only to show your budget", "Never passed on (deleted after 365 days)",
                              "Revoke or pause at any time"]},
        },
        terms_url=terms_url,
        terms=KAKEIBO_TERMS,
        holder_name={"ja": "銀行", "en": "Bank"},
        retention_days=365,
        onward_sharing=False,
        validity_days=180,
    )
