"""Data sources: the demo source hands out copies, cheaply, and never its own records."""

from __future__ import annotations

from verifier.sources import DEMO_CUSTOMERS, demo_source, fetch_items, json_copy


def test_json_copy_is_equal_and_independent() -> None:
    original = {"a": [1, {"b": "x", "c": None, "d": 1.5, "e": True}], "t": (1, [2])}
    copied = json_copy(original)
    assert copied == original
    copied["a"][1]["b"] = "changed"
    copied["t"][1].append(3)
    assert original == {"a": [1, {"b": "x", "c": None, "d": 1.5, "e": True}], "t": (1, [2])}


def test_released_items_cannot_alter_the_source() -> None:
    items = fetch_items(demo_source(), "C-1001", ("transactions",))
    items["transactions"][0]["amount"] = 0
    items["transactions"].clear()
    assert DEMO_CUSTOMERS["C-1001"]["transactions"][0]["amount"] == 285_000


# -- a holder's own data: module:function, a SQL table, and no silent demo default ----------------

import json  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from protocol import InvalidArgument  # noqa: E402
from tests.support.samples import KEYS  # noqa: E402
from verifier import DataUnavailable, Holder, NoDataSource, SqlSource, load_source, open_database  # noqa: E402


def _bank_table(path: Path) -> str:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (customer_id TEXT PRIMARY KEY, balance INTEGER, name TEXT, "
                 "transactions TEXT)")
    conn.execute("INSERT INTO customers VALUES (?, ?, ?, ?)",
                 ("K-1", 1200, "高橋 一郎", json.dumps([{"date": "2026-11-01", "amount": -500}])))
    conn.execute("INSERT INTO customers VALUES ('K-2', 7, NULL, '[]')")
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"  # an absolute path: sqlite:////tmp/...


def test_a_sql_table_serves_exactly_the_granted_columns(tmp_path: Path) -> None:
    source = SqlSource(_bank_table(tmp_path / "bank.db"), table="customers", json_columns=("transactions",))
    got = fetch_items(source, "K-1", ("balance", "transactions"))
    assert got == {"balance": 1200, "transactions": [{"date": "2026-11-01", "amount": -500}]}
    with pytest.raises(DataUnavailable):
        fetch_items(source, "K-404", ("balance",))  # unknown customer
    with pytest.raises(DataUnavailable):
        fetch_items(source, "K-2", ("name",))  # NULL: no partial release
    with pytest.raises(DataUnavailable):
        fetch_items(source, "K-1", ("no_such_column",))
    assert SqlSource(str(tmp_path / "bank.db"), table="customers", columns={"name": "name"})(
        "K-1", ("name",)) == {"name": "高橋 一郎"}


@pytest.mark.parametrize(("url", "table", "key", "error"), [
    ("sqlite:///nowhere/missing.db", "customers", "customer_id", DataUnavailable),
    ("BANK", "customers; DROP TABLE x", "customer_id", InvalidArgument),
    ("BANK", "customers", "id OR 1=1", InvalidArgument),
    ("BANK", "missing_table", "customer_id", DataUnavailable),
    ("mysql://x/y", "customers", "customer_id", InvalidArgument),
])
def test_a_bad_sql_source_fails_at_start(tmp_path: Path, url: str, table: str, key: str, error: type) -> None:
    bank = _bank_table(tmp_path / "bank.db")
    with pytest.raises(error):
        SqlSource(bank if url == "BANK" else url, table=table, key=key)
    assert not (tmp_path / "nowhere").exists()  # a mistyped path creates nothing


def test_a_callable_named_module_colon_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mybank_data.py").write_text(
        "def customers(customer_id, items):\n    return {i: f'{customer_id}:{i}' for i in items}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    source = load_source("mybank_data:customers")
    assert fetch_items(source, "X", ("name",)) == {"name": "X:name"}
    sys.modules.pop("mybank_data", None)


@pytest.mark.parametrize("spec", ["nocolon", "os:", ":f", "no_such_module_xyz:f", "json:no_such_name",
                                  "json:__doc__", "a b:c"])
def test_a_bad_module_function_is_invalid(spec: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        load_source(spec)
    assert err.value.code == "invalid"


def test_a_holder_without_a_source_refuses_to_start(tmp_path: Path) -> None:
    holder = Holder(KEYS.holder, open_database(tmp_path / "v.db"), None)
    with pytest.raises(NoDataSource) as err:
        holder.start()
    assert err.value.code == "no_data_source" and "--demo" in err.value.detail
    from verifier.app import create_app

    with pytest.raises(NoDataSource):
        create_app(holder, follow_feed=False)
    with pytest.raises(NoDataSource):
        fetch_items(None, "C-1001", ("balance",))
    holder.close()
