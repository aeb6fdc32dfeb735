"""StatusWatcher against a REAL registry: trust only lists signed by the key the consent names."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.registry_client import RegistryClient
from issuer import IssuerStorage, StatusWatcher, build_request, open_store, publish, receive_consent
from issuer.status_watch import registry_base
from protocol import InvalidArgument, KeyPair, Status, StatusList, StatusListToken
from registry.app import create_app as registry_app
from tests.support.samples import KEYS
from tests.support.servers import SlowServer, serve

from .conftest import GOOD_ARGS, grant


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    with serve(registry_app(tmp_path / "registry", heartbeat=1.0)) as url:
        yield url


@pytest.fixture
def store(tmp_path: Path, backend: str | None) -> Iterator[IssuerStorage]:
    """The issuer's store, once as its SQLite file and once on PostgreSQL."""
    s = open_store(backend or tmp_path / "issuer.db")
    yield s
    s.close()


def put_list(registry: str, signer: KeyPair, status: Status = Status.VALID, index: int = 5,
             list_id: str | None = None, iat: int | None = None) -> str:
    list_id = list_id or secrets.token_hex(16)
    uri = f"{registry}/v1/lists/{list_id}"
    lst = StatusList()
    lst.set(index, status)
    token = StatusListToken.create(uri=uri, status_list=lst, signer=signer.did, now=iat).sign(signer)
    with RegistryClient(registry) as client:
        client.publish(list_id, token)
    return uri


def consent_on(store: IssuerStorage, uri: str, index: int = 5) -> str:
    request = build_request(requester=KEYS.requester, **GOOD_ARGS)
    publish(store, request, account="alice", base_url="https://kakeibo.example")
    return receive_consent(store, grant(request, uri=uri, index=index), requester=KEYS.requester.did).id


def test_registry_base() -> None:
    assert registry_base("http://127.0.0.1:8600/v1/lists/abc") == "http://127.0.0.1:8600"


@pytest.mark.parametrize(("status", "state"), [(Status.VALID, "valid"), (Status.REVOKED, "revoked"),
                                                (Status.SUSPENDED, "suspended"), (Status.APPLICATION, "invalid")])
def test_states_from_a_verified_list(registry: str, store: IssuerStorage, status: Status, state: str) -> None:
    consent_id = consent_on(store, put_list(registry, KEYS.status, status))
    assert StatusWatcher(store, registries=[registry]).refresh(consent_id) == state
    assert store.consent(consent_id).state == state


def test_list_signed_by_another_key_is_not_trusted(registry: str, store: IssuerStorage) -> None:
    uri = put_list(registry, KEYS.stranger, Status.VALID)  # the registry pins the stranger's key
    consent_id = consent_on(store, uri)
    assert StatusWatcher(store, registries=[registry]).refresh(consent_id) == "unknown"
    assert store.consent(consent_id).state_detail == "status_invalid"


def test_unreachable_registry_and_missing_list_are_unknown(registry: str, store: IssuerStorage) -> None:
    down = consent_on(store, "http://127.0.0.1:9/v1/lists/" + "a" * 32)
    missing = consent_on(store, f"{registry}/v1/lists/" + "b" * 32)
    watcher = StatusWatcher(store, registries=[registry, "http://127.0.0.1:9"])
    assert watcher.refresh(down) == "unknown" and store.consent(down).state_detail == "unavailable"
    assert watcher.refresh(missing) == "unknown" and store.consent(missing).state_detail == "not_found"


def test_index_outside_the_list_is_unknown(registry: str, store: IssuerStorage) -> None:
    consent_id = consent_on(store, put_list(registry, KEYS.status), index=10**6)
    assert StatusWatcher(store, registries=[registry]).refresh(consent_id) == "unknown"
    assert store.consent(consent_id).state_detail == "status_invalid"


def test_feed_delivers_a_revocation_and_resumes_after_restart(registry: str, store: IssuerStorage) -> None:
    list_id = secrets.token_hex(16)
    now = int(time.time())
    uri = put_list(registry, KEYS.status, list_id=list_id, iat=now)
    consent_id = consent_on(store, uri)
    watcher = StatusWatcher(store, registries=[registry])
    watcher.follow(registry_base(uri))
    try:
        _wait(store, consent_id, "valid")
        put_list(registry, KEYS.status, Status.REVOKED, list_id=list_id, iat=now + 1)
        _wait(store, consent_id, "revoked")
        # the watcher stores its feed position right after applying the event: wait for it too
        deadline = time.monotonic() + 10.0
        while store.get_meta(f"last_event:{registry}") is None:
            assert time.monotonic() < deadline, "the feed position was never stored"
            time.sleep(0.02)
    finally:
        watcher.stop()
    # while nobody watches, the user resumes; a new watcher catches up from where it stopped
    put_list(registry, KEYS.status, Status.VALID, list_id=list_id, iat=now + 2)
    again = StatusWatcher(store, registries=[registry])
    again.follow_all()
    try:
        _wait(store, consent_id, "valid")
    finally:
        again.stop()


def test_a_list_on_an_untrusted_registry_is_never_fetched(registry: str, store: IssuerStorage) -> None:
    with SlowServer(gap=0.5) as elsewhere:
        consent_id = consent_on(store, f"{elsewhere.url}/v1/lists/" + "c" * 32)
        watcher = StatusWatcher(store, registries=[registry])
        started = time.monotonic()
        assert watcher.refresh(consent_id) == "unknown"
        assert store.consent(consent_id).state_detail == "status_untrusted"
        watcher.follow(elsewhere.url)
        watcher.follow_all()
        time.sleep(0.3)
        watcher.stop()
        assert time.monotonic() - started < 2.0 and elsewhere.connections == 0
    assert StatusWatcher(store).refresh(consent_id) == "unknown"  # no registry configured: nothing is trusted


def _wait(store: IssuerStorage, consent_id: str, state: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while store.consent(consent_id).state != state:
        assert time.monotonic() < deadline, store.consent(consent_id)
        time.sleep(0.02)


def test_registries_the_pinned_councils_trust_list_names_are_trusted(tmp_path: Path, store: IssuerStorage) -> None:
    """As the data holder does (spec 3.5): with a pinned council, a registry its signed trust list
    names is trusted too — only while named, only by that council's list, and across a restart."""
    council_app = registry_app(tmp_path / "council-registry", council_key=KEYS.council, heartbeat=1.0)
    with serve(council_app) as registry, serve(registry_app(tmp_path / "other", heartbeat=1.0)) as other:
        now = int(time.time())
        list_id = secrets.token_hex(16)
        consent_id = consent_on(store, put_list(other, KEYS.status, list_id=list_id, iat=now))
        council = council_app.state.registry

        unpinned = StatusWatcher(store, registries=[registry])
        assert not unpinned.council.refresh()  # no council pinned: no trust list is read
        assert unpinned.refresh(consent_id) == "unknown"
        assert store.consent(consent_id).state_detail == "status_untrusted"

        council.trust_add_registry(other)
        foreign = StatusWatcher(store, registries=[registry], council=KEYS.stranger.did)
        assert not foreign.council.refresh()  # the list is signed by another council: it names nothing
        assert foreign.allowed_registries() == (registry,) and foreign.refresh(consent_id) == "unknown"

        watcher = StatusWatcher(store, registries=[registry], council=KEYS.council.did, trust_refresh=0.2)
        assert watcher.council.refresh()
        assert watcher.allowed_registries() == (registry, other)
        assert watcher.refresh(consent_id) == "valid"

        watcher.follow_all()  # keeps the list fresh and follows the named registry's change feed
        try:
            put_list(other, KEYS.status, Status.REVOKED, list_id=list_id, iat=now + 1)
            _wait(store, consent_id, "revoked")
            council.trust_remove_registry(other)
            deadline = time.monotonic() + 10.0
            while other in watcher.allowed_registries():
                assert time.monotonic() < deadline, "the council's new list was never read"
                time.sleep(0.05)
            assert watcher.refresh(consent_id) == "unknown"
            assert store.consent(consent_id).state_detail == "status_untrusted"
        finally:
            watcher.stop()

        council.trust_add_registry(other)
        assert StatusWatcher(store, registries=[registry], council=KEYS.council.did).council.refresh()
    # a restart with the registries down: the stored list still names the other registry
    restarted = StatusWatcher(store, registries=[registry], council=KEYS.council.did)
    assert restarted.allowed_registries() == (registry, other)
    later = StatusWatcher(store, registries=[registry], council=KEYS.council.did, now=lambda: now + 400 * 86400)
    assert later.allowed_registries() == (registry,)  # an expired list names nothing


def test_a_council_did_must_be_a_did(store: IssuerStorage) -> None:
    with pytest.raises(InvalidArgument) as caught:
        StatusWatcher(store, registries=["http://127.0.0.1:9"], council="not-a-did")
    assert caught.value.field == "council"
