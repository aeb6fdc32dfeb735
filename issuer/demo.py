"""Kakeibo (かけいぼ), the fictional household-budget service of the demo: what it asks for.

It wants the user's bank transactions (required) and, optionally, the balance and the name,
only to show the user's own budget, kept for a year, never passed on.  The data holder is the
fictional Sakura Bank (さくら銀行).
"""

from __future__ import annotations

from typing import Any

from .service import IssuerConfig

__all__ = ["DEMO_APPS", "HOKEN_TERMS", "KAKEIBO_TERMS", "SAKURA_BANK", "hoken_config", "kakeibo_config"]

#: The demo's data holder, the fictional Sakura Bank, as Kakeibo confirmed it under APPI
#: Art. 30(1) (name, address, representative, how the bank acquired the data).  All fictional.
#: The bank's own answer at ``GET /v1/holder`` overrides any of these it states.
SAKURA_BANK: dict[str, Any] = {
    "name": {"ja": "さくら銀行", "en": "Sakura Bank"},
    "address": "東京都千代田区さくら通り1-2-3（架空） / 1-2-3 Sakura-dori, Chiyoda-ku, Tokyo (fictional)",
    "representative": "代表取締役 桜井 花子（架空） / Hanako Sakurai, President (fictional)",
    "acquisition": ("口座名義人である本人から、口座開設時および入出金の都度取得 / collected from the "
                    "customer as the account holder, at account opening and with each transaction"),
}

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
        holder_name=SAKURA_BANK["name"],
        holder_address=SAKURA_BANK["address"],
        holder_representative=SAKURA_BANK["representative"],
        holder_acquisition=SAKURA_BANK["acquisition"],
        retention_days=365,
        onward_sharing=False,
        validity_days=180,
        tagline={"ja": "銀行の明細から、家計簿を自動でつくります。",
                 "en": "Your household budget, built from your bank transactions."},
    )


HOKEN_TERMS = b"""Hoken Insurance - terms of use (demo)
1. We use your name, date of birth and (if you allow it) address from your bank only to verify who
   you are when you take out a policy.
2. We keep them for 90 days and never pass them on.
3. You may revoke or pause your consent in your wallet at any time.
"""


def hoken_config(holder_base: str, *, terms_url: str = "https://hoken.example/terms/v1") -> IssuerConfig:
    """A second demo data user, an insurer asking the same bank for other items (identity check)."""
    return IssuerConfig(
        name={"ja": "ほけん", "en": "Hoken Insurance"},
        holder_url=holder_base.rstrip("/") + "/v1/data",
        required=("name", "birthdate"),
        optional=("address",),
        purposes=("dpv:IdentityVerification",),
        notice={
            "ja": {"title": "保険の本人確認に銀行の登録情報を使います",
                   "points": ["本人確認にだけ使います", "第三者には渡しません（90日で削除）", "いつでも撤回・一時停止できます"]},
            "en": {"title": "Verify who you are for your insurance with your bank's records",
                   "points": ["Used only to verify who you are", "Never passed on (deleted after 90 days)",
                              "Revoke or pause at any time"]},
        },
        terms_url=terms_url,
        terms=HOKEN_TERMS,
        holder_name=SAKURA_BANK["name"],
        holder_address=SAKURA_BANK["address"],
        holder_representative=SAKURA_BANK["representative"],
        holder_acquisition=SAKURA_BANK["acquisition"],
        retention_days=90,
        onward_sharing=False,
        validity_days=90,
        tagline={"ja": "銀行に届けている情報で、保険の本人確認をすませます。",
                 "en": "Your insurance identity check, done with the details your bank already holds."},
    )


#: The demo companies ``copyme issuer serve --app`` can run, by name.
DEMO_APPS = {"kakeibo": kakeibo_config, "hoken": hoken_config}
