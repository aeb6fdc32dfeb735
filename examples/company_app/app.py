"""みらい保険 / Mirai Insurance: a complete minimal company app on the CopyMe issuer SDK.

Three routes carry the whole flow (plus one that serves the signed request):

* ``GET /`` — a page with the CopyMe button (``button.html``, filled in) for the visitor's account;
* ``POST /callback`` — the user's wallet delivers the signed consent here (its contract is in
  this app's OpenAPI, ``/openapi.json`` and ``/docs``);
* ``POST /fetch`` — present the consent to the data holder and get exactly the granted items.

Run it next to a data holder (e.g. ``copyme demo``'s bank, or your own ``copyme verifier serve``)::

    COPYME_HOLDER=http://127.0.0.1:8700 uvicorn examples.company_app.app:app --port 8030

Everything company-specific is in :data:`CONFIG`: what you ask for, why, for how long, and the
notice's key points.  The SDK signs the request, checks the consent that comes back, presents
it to the holder and keeps the APPI recipient records (``issuer.db`` in ``COPYME_EXAMPLE_HOME``).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from string import Template
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from common import install_error_contract, read_capped
from issuer import Issuer, IssuerConfig, load_or_create_key, open_store
from issuer.callback import MAX_CREDENTIAL_SIZE
from issuer.service import check_account, resolve_holder
from protocol import Typ

HERE = Path(__file__).parent
BUTTON = Template((HERE / "button.html").read_text(encoding="utf-8"))

TERMS = """みらい保険 データ利用規約（例） / Mirai Insurance data terms (example)
1. 口座残高は、保険料のお見積もりにだけ使います。 The balance is used only for your premium quote.
2. 受け取ったデータは30日で削除します。 Data received is deleted after 30 days.
""".encode()


def config(holder_base: str) -> IssuerConfig:
    """What Mirai Insurance asks every customer's bank for."""
    return IssuerConfig(
        name={"ja": "みらい保険", "en": "Mirai Insurance"},
        holder_url=holder_base.rstrip("/") + "/v1/data",
        required=("balance",), optional=("name",), purposes=("dpv:ServiceProvision",),
        notice={"ja": {"title": "口座残高から保険料をお見積もりします",
                       "points": ["残高はお見積もりにだけ使います", "30日で削除し、ほかの会社には渡しません",
                                  "ウォレットからいつでも撤回できます"]},
                "en": {"title": "A premium quote from your bank balance",
                       "points": ["The balance is used only for your quote",
                                  "Deleted after 30 days, never passed on", "Revoke in your wallet at any time"]}},
        terms_url="https://mirai-insurance.example/terms", terms=TERMS,
        retention_days=30, validity_days=30,
    )


class Delivered(BaseModel):
    """The callback's answer when the consent was accepted and kept."""

    consent_id: str = Field(description="The consent's id: the CID of the credential")


class Refused(BaseModel):
    """Every error: a stable reason code and a detail."""

    error: str = Field(description="Reason code, e.g. bad_signature, request_mismatch, expired, too_large")
    detail: str


class FetchAsk(BaseModel):
    """Which customer's data to fetch (under the newest consent held for that account)."""

    account: str


CALLBACK_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The signed consent credential (COSE_Sign1 bytes, at most "
                       f"{MAX_CREDENTIAL_SIZE} bytes) that the user's wallet delivers. It must answer a "
                       "request this app published: signed by the user, granted to this app, for the "
                       "holder it named, only requested items and every required one, within its validity.",
        "content": {Typ.CONSENT.value: {"schema": {"type": "string", "format": "binary"}}},
    },
}


def create_app(home: str | Path, holder: str, *, holder_did: str | None = None,
               wallet_url: str | None = None) -> FastAPI:
    """The example app; ``holder`` is the data holder's verifier base URL."""
    folder = Path(home)
    store = open_store(folder / "issuer.db")
    issuer = Issuer(load_or_create_key(folder), store, config(holder),
                    holder=holder_did or (lambda: resolve_holder(holder)))
    app = FastAPI(title="Mirai Insurance (CopyMe example)", version="1.0",
                  description="A company app on the CopyMe issuer SDK: button page, callback, fetch.")
    app.state.issuer = issuer

    # every refusal is {"error": code, "detail": ...} with its status; bodies above the cap are 413
    install_error_contract(app, body_limit=MAX_CREDENTIAL_SIZE)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @app.get("/", response_class=HTMLResponse, summary="The page with the CopyMe button")
    def home_page(request: Request, account: str = "guest") -> HTMLResponse:
        if issuer.consents(check_account(account)):
            body = '<p>同意を受け取りました / Consent received. <form method="post" action="/fetch">' \
                   '<button data-testid="fetch">取得 / Fetch</button></form></p>'
        else:
            button = issuer.button(account, base(request), wallet_url=wallet_url)
            body = BUTTON.substitute(href=html.escape(button.href, quote=True), label="CopyMe で銀行から取り込む",
                                     deep_link=html.escape(button.deep_link, quote=True),
                                     qr_svg=button.qr_svg_inline(4))
        return HTMLResponse('<!doctype html><html lang="ja"><meta charset="utf-8">'
                            '<meta name="viewport" content="width=device-width, initial-scale=1">'
                            f"<title>みらい保険</title><h1>みらい保険 / Mirai Insurance</h1>{body}</html>")

    @app.get("/r/{request_id}", summary="The signed consent request the button points at",
             responses={200: {"content": {Typ.REQUEST.value: {}}}})
    def signed_request(request_id: str) -> Response:
        return Response(issuer.request_bytes(request_id), media_type=Typ.REQUEST.value,
                        headers={"Cache-Control": "no-store"})

    @app.post("/callback", summary="The wallet delivers the user's signed consent",
              response_model=Delivered, openapi_extra=CALLBACK_DOC,
              responses={400: {"model": Refused, "description": "malformed"},
                         403: {"model": Refused, "description": "bad_signature, request_mismatch, wrong_audience"},
                         404: {"model": Refused, "description": "not_found: no such published request"},
                         413: {"model": Refused, "description": "too_large"}})
    async def callback(request: Request) -> Delivered:
        body = await read_capped(request.stream(), MAX_CREDENTIAL_SIZE, request.headers.get("content-length"))
        return Delivered(consent_id=issuer.receive(body).id)

    @app.post("/fetch", summary="Fetch the granted items from the data holder",
              responses={403: {"model": Refused}, 404: {"model": Refused}, 503: {"model": Refused}})
    def fetch(ask: FetchAsk) -> dict[str, Any]:
        data, record = issuer.fetch(check_account(ask.account))
        return {"consent_id": data.consent_id, "items": data.items, "recipient_record": record.id}

    return app


def _from_env() -> FastAPI:
    holder = os.environ.get("COPYME_HOLDER", "http://127.0.0.1:8700")
    return create_app(os.environ.get("COPYME_EXAMPLE_HOME", "mirai-home"), holder,
                      wallet_url=os.environ.get("COPYME_WALLET"))


def __getattr__(name: str) -> Any:
    """``uvicorn examples.company_app.app:app`` builds the app on first use (no work at import)."""
    if name == "app":
        return _from_env()
    raise AttributeError(name)
