"""A real registry and a real verifier as separate processes, with linked users and signed lists.

The holder's key is the fixed-seed ``KEYS.holder`` of ``tests.support.samples`` (written into its
home folder before the first start), so credentials can be made before the service is up; each
user DID is linked to a demo customer through the verifier library with a real link proof.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from _harness import ROOT, Service

from common.registry_client import RegistryClient
from protocol import ConsentCredential, KeyPair, LinkProof, Presentation, StatusList, StatusListToken, StatusRef
from tests.support import samples
from tests.support.samples import KEYS
from verifier.holder import KEY_FILE, Holder

CUSTOMERS = ("C-1001", "C-1002", "C-1003")


class World:
    """Registry + verifier processes under ``tmp``."""

    def __init__(self, tmp: Path, database: str | None = None) -> None:
        self.tmp = tmp
        self.database = database  # the verifier's --db (a postgresql:// URL), else its SQLite file
        self.registry: Service | None = None
        self.verifier: Service | None = None
        self.verifier_home = tmp / "bank"
        self.profile: Path | None = None

    # -- services ---------------------------------------------------------------------------

    def start_registry(self) -> str:
        self.registry = Service.cli("registry", "serve", "--home", str(self.tmp / "registry"),
                                    "--log-level", "warning", timeout=120.0).start()
        return self.registry.url

    def prepare_holder(self, users: list[KeyPair]) -> None:
        """Write the holder key and link each user to a demo customer (before the service starts)."""
        self.verifier_home.mkdir(parents=True, exist_ok=True)
        key_file = self.verifier_home / KEY_FILE
        if not key_file.exists():
            key_file.write_text(KEYS.holder.seed.hex() + "\n")
        holder = Holder.open(self.verifier_home, database=self.database)
        try:
            now = int(time.time())
            for i, user in enumerate(users):
                if holder.links.customer_for(user.did) is not None:
                    continue
                code = holder.new_link_code(CUSTOMERS[i % len(CUSTOMERS)], now=now)
                proof = LinkProof(user=user.did, holder=KEYS.holder.did, code=code, issued_at=now).sign(user)
                holder.link(proof, now=now)
        finally:
            holder.close()

    def start_verifier(self, *, feed: bool = True, max_staleness: int | None = None,
                       profile: Path | None = None, workers: int = 1, synchronous: str = "normal",
                       stage: str | None = None) -> str:
        """The verifier as ``copyme verifier serve`` (feed on) or ``bench/_serve.py`` (options;
        ``stage``: releases cut short after that stage, see ``bench/_stages.py``)."""
        assert self.registry is not None
        if feed and max_staleness is None and profile is None and stage is None:
            extra = ["--db", self.database, "--workers", str(workers)] if self.database else []
            self.verifier = Service.cli("verifier", "serve", "--home", str(self.verifier_home),
                                        "--registry", self.registry.url, "--demo", "--synchronous", synchronous,
                                        *extra, timeout=120.0)
        else:
            args = [str(ROOT / "bench" / "_serve.py"), "verifier", "--home", str(self.verifier_home),
                    "--registry", self.registry.url, "--synchronous", synchronous]
            if not feed:
                args.append("--no-feed")
            if max_staleness is not None:
                args += ["--max-staleness", str(max_staleness)]
            if profile is not None:
                args += ["--profile", str(profile)]
            if stage is not None:
                args += ["--stage", stage]
            self.verifier = Service(args)
        self.verifier.start()
        return self.verifier.url

    def stop(self) -> None:
        for service in (self.verifier, self.registry):
            if service is not None:
                service.stop()

    # -- objects ----------------------------------------------------------------------------

    def list_uri(self, list_id: str) -> str:
        assert self.registry is not None
        return f"{self.registry.url}/v1/lists/{list_id}"

    def publish(self, list_id: str, size: int = 16384, revoked: tuple[int, ...] = (), ttl: int = 3600) -> None:
        lst = StatusList(size)
        for index in revoked:
            lst.set(index, 1)
        token = StatusListToken.create(uri=self.list_uri(list_id), status_list=lst, signer=KEYS.status.did,
                                       ttl=ttl, now=int(time.time())).sign(KEYS.status)
        assert self.registry is not None
        RegistryClient(self.registry.url).publish(list_id, token)

    def credential(self, user: KeyPair, list_id: str, index: int) -> bytes:
        now = int(time.time())
        request = samples.signed_request(KEYS, now)
        return ConsentCredential.grant(request, user=user.did, items=("transactions", "balance"),
                                       status=StatusRef(self.list_uri(list_id), index, KEYS.status.did),
                                       now=now).sign(user)


def presentations(credentials: list[bytes], n: int) -> list[bytes]:
    """``n`` fresh, single-use presentations cycling over ``credentials``, signed now."""
    now = int(time.time())
    return [Presentation(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=credentials[i % len(credentials)],
                         items=("transactions",), purpose="dpv:ServiceProvision", issued_at=now,
                         presentation_id=secrets.token_bytes(16)).sign(KEYS.requester) for i in range(n)]


def users(n: int) -> list[KeyPair]:
    """``n`` fixed-seed user keys (distinct from the sample keys)."""
    return [KeyPair.from_seed(bytes([0x40 + i]) * 32) for i in range(n)]


def setup_gate(tmp: Path, *, profile: Path | None = None, n_users: int = 3,
               synchronous: str = "normal", stage: str | None = None) -> tuple[World, list[bytes]]:
    """A registry with one all-valid list, a verifier with ``n_users`` linked users; their credentials."""
    world = World(tmp)
    world.start_registry()
    people = users(n_users)
    world.prepare_holder(people)
    list_id = "bench-gate-" + secrets.token_hex(8)
    world.publish(list_id)
    creds = [world.credential(user, list_id, 100 + i) for i, user in enumerate(people)]
    world.start_verifier(profile=profile, synchronous=synchronous, stage=stage)
    return world, creds


__all__ = ["CUSTOMERS", "World", "presentations", "setup_gate", "users"]

