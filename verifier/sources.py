"""Where released data comes from: any callable ``(customer_id, items) -> {item: value}``.

The verifier never reads data before a grant is verified, and releases only the items the grant
names: keys the source returns beyond them are dropped, and a missing one is ``data_unavailable``
rather than a partial answer.  :func:`demo_source` serves a few fictional customers of a
fictional bank for the demo and the tests; :func:`load_source` finds a holder's own callable
from ``module:function``, and :class:`verifier.SqlSource` reads a table of its own database.

Writing a source (the whole contract)::

    def customers(customer_id: str, items: tuple[str, ...]) -> Mapping[str, Any]:
        row = my_bank.lookup(customer_id)          # any I/O: it runs on a worker thread
        return {item: row[item] for item in items if item in row}

* called only after a grant was verified, with the linked customer id and the granted items;
* return a mapping with each item's JSON-serialisable value; leave out what you do not have
  (the release is then refused with ``data_unavailable``, never partial);
* raise :class:`verifier.DataUnavailable` for an unknown customer or a backend that is down;
  any other exception also becomes ``data_unavailable`` (its text is not passed on).

Run it with ``copyme verifier serve --source mybank.data:customers``.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Mapping
from typing import Any

from protocol.errors import CopyMeError, InvalidArgument

from .errors import DataUnavailable, NoDataSource

__all__ = ["DEMO_CUSTOMERS", "DataSource", "demo_source", "fetch_items", "json_copy", "load_source"]

#: ``source(customer_id, items)`` returns each requested item's value (JSON-serialisable).
#: A source that answers from memory, never waiting on I/O, may say so with an attribute
#: ``nonblocking = True``: the service then serves its releases on the event loop instead of a
#: worker thread (see :meth:`verifier.Holder.release_async`).
DataSource = Callable[[str, tuple[str, ...]], Mapping[str, Any]]


def _tx(date: str, description: str, amount: int, balance: int) -> dict[str, Any]:
    return {"date": date, "description": description, "amount": amount, "balance": balance}


#: Fictional customers of さくら銀行 (Sakura Bank).  Amounts in yen.
DEMO_CUSTOMERS: dict[str, dict[str, Any]] = {
    "C-1001": {
        "name": "山田 花子", "name_en": "Hanako Yamada", "birthdate": "1990-04-12",
        "address": "東京都千代田区丸の内1-1-1", "email": "hanako@example.jp", "phone": "03-0000-1001",
        "account_number": "普通 1234567", "balance": 482_350,
        "transactions": [
            _tx("2026-10-25", "給与 サクラ商事", 285_000, 512_870),
            _tx("2026-10-27", "家賃 コーポ丸の内", -98_000, 414_870),
            _tx("2026-11-02", "コンビニ ファミリーストア", -1_520, 413_350),
            _tx("2026-11-05", "電気料金 東都電力", -7_000, 406_350),
            _tx("2026-11-10", "振込 ヤマダ タロウ", 76_000, 482_350),
        ],
    },
    "C-1002": {
        "name": "佐藤 健", "name_en": "Ken Sato", "birthdate": "1985-11-03",
        "address": "大阪府大阪市北区梅田2-2-2", "email": "ken.sato@example.jp", "phone": "06-0000-1002",
        "account_number": "普通 2345678", "balance": 1_203_900,
        "transactions": [
            _tx("2026-10-20", "給与 ナニワ工業", 410_000, 1_318_400),
            _tx("2026-10-28", "クレジットカード", -84_500, 1_233_900),
            _tx("2026-11-08", "ATM 出金", -30_000, 1_203_900),
        ],
    },
    "C-1003": {
        "name": "鈴木 美咲", "name_en": "Misaki Suzuki", "birthdate": "2001-07-30",
        "address": "福岡県福岡市中央区天神3-3-3", "email": "misaki@example.jp", "phone": "092-000-1003",
        "account_number": "普通 3456789", "balance": 65_210,
        "transactions": [
            _tx("2026-10-25", "アルバイト代 テンジン書店", 92_000, 118_210),
            _tx("2026-11-01", "携帯電話料金", -5_000, 113_210),
            _tx("2026-11-12", "学費 振込", -48_000, 65_210),
        ],
    },
}


_IMMUTABLE = (str, int, float, bool, type(None))


def json_copy(value: Any) -> Any:
    """A copy of JSON-shaped data (dicts, lists, scalars), so a caller cannot alter the source.

    About 4x cheaper than ``copy.deepcopy`` on a customer's transactions, which pays for a memo
    and reduction protocol that plain JSON data never needs; anything else falls back to it.
    """
    kind = type(value)
    if kind is dict:
        return {k: json_copy(v) for k, v in value.items()}
    if kind is list:
        return [json_copy(v) for v in value]
    if kind is tuple:
        return tuple(json_copy(v) for v in value)
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


def demo_source(customers: Mapping[str, Mapping[str, Any]] | None = None) -> DataSource:
    """A data source over ``customers`` (default :data:`DEMO_CUSTOMERS`)."""
    table = DEMO_CUSTOMERS if customers is None else customers

    def source(customer_id: str, items: tuple[str, ...]) -> dict[str, Any]:
        record = table.get(customer_id)
        if record is None:
            raise DataUnavailable(f"no customer {customer_id!r} in the data source")
        return {item: json_copy(record[item]) for item in items if item in record}

    source.nonblocking = True  # type: ignore[attr-defined]  # a dict lookup: safe on the event loop
    return source


def load_source(spec: str) -> DataSource:
    """The callable named ``module:function`` (e.g. ``mybank.data:customers``), imported.

    ``invalid`` if the spec is malformed, the module cannot be imported or the name is not a
    callable.  The module is imported from ``sys.path`` (run the service from your project's
    folder, or install your package).
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr or not all(part.isidentifier() for part in [*module_name.split("."), *attr.split(".")]):
        raise InvalidArgument(f"a data source is given as module:function, not {spec!r}", field="source")
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise InvalidArgument(f"cannot import the data source module {module_name!r}: {err}", field="source") from None
    for part in attr.split("."):
        found = getattr(found, part, None)
    if not callable(found):
        raise InvalidArgument(f"{spec!r} is not a callable (customer_id, items) -> mapping", field="source")
    source: DataSource = found
    return source


def fetch_items(source: DataSource | None, customer_id: str, items: tuple[str, ...]) -> dict[str, Any]:
    """Exactly ``items`` of the customer's data, or ``data_unavailable`` (never a partial answer)."""
    if source is None:
        raise NoDataSource("this holder has no data source: pass source=... (or demo_source() for the demo)")
    try:
        data = source(customer_id, items)
    except CopyMeError:
        raise
    except Exception as err:  # a source is the deployer's code: its failures must not leak
        raise DataUnavailable(f"the data source failed ({type(err).__name__})") from None
    if not isinstance(data, Mapping):
        raise DataUnavailable("the data source did not return a mapping")
    missing = [i for i in items if i not in data]
    if missing:
        raise DataUnavailable(f"the data source has no {', '.join(missing)} for this customer")
    return {item: data[item] for item in items}
