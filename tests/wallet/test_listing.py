"""Listing consents: keyset pages from SQLite, lazy views, streamed JSON and table output."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator

import pytest

from protocol import InvalidArgument
from tests.wallet.conftest import PASSPHRASE, Env
from wallet import ConsentView, Wallet, render
from wallet.listing import iter_consents, write_json

NOW = 1_800_000_000


@pytest.fixture
def filled(env: Env) -> Iterator[Wallet]:
    """A wallet with 7 consents: three given in the same second (ties in the sort order), one
    suspended, one revoked, one expired."""
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        at = [NOW, NOW, NOW, NOW + 10, NOW + 20, NOW + 20, NOW - 400 * 86400]
        ids = [wallet.accept(wallet.review_bytes(env.request_bytes(now=t), now=t), now=t, deliver=False).id
               for t in at]
        wallet.suspend(ids[3], now=NOW + 30)
        wallet.revoke(ids[4], now=NOW + 30)
        yield wallet


def _reference(wallet: Wallet) -> list[str]:
    """The order the listing must keep: newest first, ties by id."""
    rows = wallet.store.rows("SELECT id, issued_at FROM consents")
    return [r["id"] for r in sorted(rows, key=lambda r: (-r["issued_at"], r["id"]))]


@pytest.mark.parametrize("page", [1, 2, 3, 500])
def test_pages_keep_the_order_across_ties(filled: Wallet, page: int) -> None:
    views = list(iter_consents(filled.store, page=page, now=NOW + 40))
    assert [v.id for v in views] == _reference(filled)
    assert views == filled.consents(now=NOW + 40)


def test_rows_are_read_a_page_at_a_time(filled: Wallet) -> None:
    queries: list[str] = []
    filled.store.db.conn.set_trace_callback(lambda sql: queries.append(sql) if "FROM consents c" in sql else None)
    listing = iter_consents(filled.store, page=2, now=NOW + 40)
    assert len(queries) == 1  # the first page is read at once (errors surface before any output)
    first = [next(listing) for _ in range(3)]
    assert len(queries) == 2 and len(first) == 3
    assert "raw" not in queries[0]  # the credential bytes are never read for a listing
    rest = list(listing)
    assert len(first) + len(rest) == 7 and len(queries) == 4  # pages of 2, 2, 2, 1
    filled.store.db.conn.set_trace_callback(None)


@pytest.mark.parametrize(("state", "expected"), [("active", 4), ("suspended", 1), ("revoked", 1), ("expired", 1)])
def test_state_filter_in_sql(filled: Wallet, state: str, expected: int) -> None:
    views = list(filled.iter_consents(state=state, now=NOW + 40))
    assert len(views) == expected and {v.state for v in views} == {state}


def test_bad_filter_raises_before_iteration(filled: Wallet) -> None:
    with pytest.raises(InvalidArgument) as err:
        filled.iter_consents(state="paused")  # not even one next() needed
    assert err.value.code == "invalid"


def test_holder_and_requester_filters(filled: Wallet) -> None:
    assert len(filled.consents(holder="bank.example", now=NOW + 40)) == 7
    assert len(filled.consents(requester="Kakeibo", now=NOW + 40)) == 7
    assert filled.consents(requester="nobody-like-this", now=NOW + 40) == []


def test_to_json_has_every_field_of_the_view(filled: Wallet) -> None:
    view = filled.consents()[0]
    expected = json.loads(json.dumps(dataclasses.asdict(view)))
    assert view.to_json() == expected and list(view.to_json()) == [f.name for f in dataclasses.fields(ConsentView)]
    copy = view.to_json()
    copy["requester_name"]["en"] = "changed"
    assert view.requester_name["en"] != "changed"


def test_write_json_is_one_array_one_consent_per_line(filled: Wallet) -> None:
    out = io.StringIO()
    assert write_json(filled.iter_consents(), out, flush_every=2) == 7
    text = out.getvalue()
    assert json.loads(text) == [v.to_json() for v in filled.consents()]
    lines = text.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 9
    empty = io.StringIO()
    assert write_json(iter([]), empty) == 0 and empty.getvalue() == "[]\n"


def test_table_streams_in_chunks_and_matches_the_string_form(filled: Wallet) -> None:
    views = filled.consents(now=NOW + 40)
    chunks: list[str] = []
    assert render.write_consent_table(lambda: iter(views), "ja", chunks.append, chunk=3) == 7
    assert len(chunks) == 3
    text = "".join(chunks)
    assert text == render.consent_table(views, "ja") + "\n"
    lines = text.splitlines()
    assert len(lines) == 9
    assert all(line[12:14] == "  " and line[14] != " " for line in lines)  # the id column lines up
    assert render.consent_table([], "en").endswith("(no consents)")


def test_cli_list_streams_the_same_consents(env: Env, filled: Wallet) -> None:
    listed = env.json("list")
    assert [c["id"] for c in listed] == _reference(filled)
    assert env.json("list", "--state", "revoked")[0]["state"] == "revoked"
    text = env.wallet("list", "--lang", "en").stdout
    assert text == render.consent_table(filled.consents(), "en") + "\n"
    result = env.wallet("list", "--state", "paused", "--json", ok=False)
    assert result.exit_code != 0 and result.stdout == "" and '"invalid"' in result.stderr
