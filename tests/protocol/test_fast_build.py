"""The objects on the verify path have two builders that give one answer: a fast one, a careful one.

``ConsentCredential.from_signed_claims`` and ``Presentation.from_claims`` first try
``_from_well_formed_claims``, which checks everything inline and fills the dataclasses without
``__init__``; when it declines, the careful path (claim readers, then dataclass validation)
names the first problem.  Here every claim of a valid object is removed or replaced, one at a
time and at random, and both paths must build equal objects, or the fast one must decline and
the careful one refuse.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import ConsentCredential, CopyMeError, Presentation, cbor
from protocol import credential as credential_module
from protocol import presentation as presentation_module
from tests.support import samples
from tests.support.claims import GONE, put
from tests.support.samples import KEYS

CLAIMS = cbor.decode(samples.credential().to_payload())
PRESENTATION_CLAIMS = cbor.decode(samples.presentation().to_payload())
SIGNER = KEYS.user.did


def _fast(claims: Any, signer: str | None) -> Any:
    if signer is None:
        return presentation_module._from_well_formed_claims(Presentation, claims)
    return credential_module._from_well_formed_claims(ConsentCredential, claims, signer)


def _careful(claims: Any, signer: str | None) -> Any:
    module: Any = presentation_module if signer is None else credential_module
    fast = module._from_well_formed_claims
    module._from_well_formed_claims = lambda *args: None
    try:
        built = (Presentation.from_claims(claims) if signer is None
                 else ConsentCredential.from_signed_claims(claims, signer))
    except CopyMeError as err:
        return ("refused", type(err).__name__, err.code, err.field)
    finally:
        module._from_well_formed_claims = fast
    return ("built", built, vars(built))


def assert_same(claims: Any, signer: str | None = SIGNER) -> Any:
    """Build ``claims`` both ways (a Presentation when ``signer`` is None); fail unless they agree."""
    fast = _fast(claims, signer)
    careful = _careful(claims, signer)
    if fast is None:
        assert careful[0] == "refused", "the fast path declined an object the careful one builds"
    else:
        assert careful[0] == "built", f"fast path accepted what the careful one refuses: {careful}"
        assert fast == careful[1] and vars(fast) == careful[2] and type(fast) is type(careful[1])
        if signer is not None:
            assert type(fast.status) is type(careful[1].status) and vars(fast.status) == vars(careful[1].status)
    return careful


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a claims tree: map entries and list elements, containers included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _replaced(path: tuple[Any, ...], new: Any, original: Any = CLAIMS) -> Any:
    claims = copy.deepcopy(original)
    put(claims, path, new)
    return claims


PATHS = list(_paths(CLAIMS))
PRESENTATION_PATHS = list(_paths(PRESENTATION_CLAIMS))
ODD_VALUES: list[Any] = [
    GONE, None, True, False, 0, 1, -1, 6, 36500, 36501, 2**32, 2**32 + 1, 2**40, 2**40 + 1, "", "ja", "ja\n", "x",
    "dpv:Marketing", "transactions", "Transactions", "https://registry.example/v1/lists/x", "ftp://x", b"",
    b"\x00" * 16, b"\x00" * 32, b"\x01\x51\x12\x20" + b"\x00" * 32, b"\x01\x51\x12\x21" + b"\x00" * 32, [], {},
    ["transactions", "transactions"], ["dpv:Marketing"], ["balance", 1], {1: 1, -1: 6, -2: b"\x00" * 32},
    KEYS.holder.did, "did:key:z6Mk", b"\x00" * 8, b"\x00" * 7, b"\x00" * 64, b"\x00" * 65, b"\x00" * 16384,
    b"\x00" * 16385, ["transactions"] * 33, [f"item{i}" for i in range(32)], [f"item{i}" for i in range(33)],
]


def test_valid_objects_are_built_alike() -> None:
    assert assert_same(CLAIMS)[0] == "built"
    assert assert_same(PRESENTATION_CLAIMS, None)[0] == "built"
    assert assert_same({**PRESENTATION_CLAIMS, "nonce": b"n" * 8}, None)[0] == "built"


@pytest.mark.parametrize("path", PATHS, ids=repr)
def test_each_consent_claim_removed_or_replaced(path: tuple[Any, ...]) -> None:
    for new in ODD_VALUES:
        assert_same(_replaced(path, new))


@pytest.mark.parametrize("path", [*PRESENTATION_PATHS, ("nonce",)], ids=repr)
def test_each_presentation_claim_removed_or_replaced(path: tuple[Any, ...]) -> None:
    for new in ODD_VALUES:
        if path == ("nonce",) and new is GONE:
            continue
        assert_same(_replaced(path, new, PRESENTATION_CLAIMS), None)


def test_other_claims_and_signers() -> None:
    assert_same({**CLAIMS, "extra": 1, 99: [1]})  # claims nobody reads are ignored alike
    for signer in ("did:key:nonsense", KEYS.requester.did, "", "did:web:example.com"):
        assert_same(CLAIMS, signer)
    assert_same({})
    # expiry one second after not-before is the least allowed; equal is refused
    assert assert_same({**CLAIMS, 4: CLAIMS[5] + 1})[0] == "built"
    assert assert_same({**CLAIMS, 4: CLAIMS[5]})[0] == "refused"


_odd = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**41), 2**41), st.binary(max_size=40), st.text(max_size=12),
              st.sampled_from([v for v in ODD_VALUES if v is not GONE])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.integers(-3, 3), st.text(max_size=3)),
                                                                          inner, max_size=4)),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(presentation=st.booleans(), data=st.data())
def test_random_changes_are_judged_alike(presentation: bool, data: st.DataObject) -> None:
    paths = PRESENTATION_PATHS if presentation else PATHS
    changes = data.draw(st.lists(st.tuples(st.sampled_from(paths), st.one_of(st.just(GONE), _odd)),
                                 min_size=1, max_size=3))
    claims = copy.deepcopy(PRESENTATION_CLAIMS if presentation else CLAIMS)
    for path, new in changes:
        try:
            put(claims, path, new)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or replaced this place
    assert_same(claims, None if presentation else SIGNER)
