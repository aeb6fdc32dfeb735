"""The verifier's front door: ``__all__`` is sorted and lists exactly the public names."""

from __future__ import annotations

import verifier
from protocol import error_class


def test_all_is_sorted_and_complete() -> None:
    assert verifier.__all__ == sorted(verifier.__all__)
    public = {name for name in vars(verifier) if not name.startswith("_")} - {"annotations"}
    modules = {name for name in public if type(getattr(verifier, name)).__name__ == "module"}
    assert set(verifier.__all__) == public - modules


def test_own_codes_are_known_to_peers() -> None:
    for code in ("link_code_invalid", "data_unavailable", "records_tampered"):
        assert error_class(code).code == code


def test_every_route_documents_its_errors() -> None:
    from tests.support import samples
    from verifier.app import create_app
    from verifier.holder import Holder
    from verifier.sources import demo_source
    from verifier.store import open_database

    app = create_app(Holder(samples.KEYS.holder, open_database(None), None, source=demo_source()), follow_feed=False)
    paths = app.openapi()["paths"]
    for path, methods in paths.items():
        for method, op in methods.items():
            assert op.get("description") or op.get("summary"), (path, method)
            assert "500" in op["responses"], (path, method)
    for path in ("/v1/data", "/v1/verify"):
        text = str(paths[path]["post"]["responses"])
        for code in ("malformed", "too_large", "bad_signature", "not_subject", "wrong_audience", "replayed",
                     "not_linked", "expired", "not_yet_valid", "items_not_granted", "purpose_not_granted",
                     "revoked", "suspended", "status_unavailable", "status_invalid", "status_rollback"):
            assert f"`{code}`" in text, (path, code)
