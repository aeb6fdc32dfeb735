"""Shared web and CLI glue for every CopyMe party, written once so that copies cannot drift.

``protocol`` stays framework-free; this package sits beside it and may use FastAPI, uvicorn and
httpx.  ``wallet``, ``issuer``, ``verifier`` and ``registry`` import it (never each other);
``protocol`` never does.

- :mod:`common.web`: one error contract (``{"error": code, "detail": ...}`` for unknown routes,
  wrong methods, bad JSON, too-large bodies, unexpected errors, hang-ups), body caps, and the
  plain-ASGI lane for a hot binary route.
- :mod:`common.peer`: :class:`PeerClient`, requests to peers with an overall deadline.
- :mod:`common.registry_client`, :mod:`common.holder_client`: the registry's and the data holder's
  clients, on top of it.
- :mod:`common.home`: the home-folder convention and private (0700/0600) state.
- :mod:`common.hosts`: loopback and ``Host`` header checks.
- :mod:`common.process`: serving an app (in one process or several workers), and child services.
- :mod:`common.periodic`: a piece of work run now and every so often in a background thread.
- :mod:`common.trust_list`: a council's signed trust list, fetched and verified for every party.
"""

from __future__ import annotations

from .errors import Internal, MethodNotAllowed
from .holder_client import MAX_HOLDER_ANSWER, MAX_RECEIPTS_ANSWER, HolderClient
from .home import home_folder, make_private, private_file, private_folder
from .hosts import LOOPBACK_NAMES, host_header_is_loopback, is_loopback_host, is_loopback_url
from .peer import DEFAULT_DEADLINE, PeerClient, PeerResponse
from .periodic import Periodic
from .process import Child, run_server, serve_workers, worker_config
from .registry_client import EventStream, FetchResult, ListEvent, RegistryClient, check_trusted_list_uri
from .trust_list import CouncilTrustList
from .web import (
    DEFAULT_BODY_LIMIT,
    BinaryLane,
    BodyCap,
    LastResort,
    install_error_contract,
    read_capped,
    read_json_object,
)

__all__ = [
    "BinaryLane",
    "BodyCap",
    "Child",
    "CouncilTrustList",
    "DEFAULT_BODY_LIMIT",
    "DEFAULT_DEADLINE",
    "EventStream",
    "FetchResult",
    "HolderClient",
    "Internal",
    "LOOPBACK_NAMES",
    "LastResort",
    "ListEvent",
    "MAX_HOLDER_ANSWER",
    "MAX_RECEIPTS_ANSWER",
    "MethodNotAllowed",
    "PeerClient",
    "PeerResponse",
    "Periodic",
    "RegistryClient",
    "check_trusted_list_uri",
    "home_folder",
    "host_header_is_loopback",
    "install_error_contract",
    "is_loopback_host",
    "is_loopback_url",
    "make_private",
    "private_file",
    "private_folder",
    "read_capped",
    "read_json_object",
    "run_server",
    "serve_workers",
    "worker_config",
]
