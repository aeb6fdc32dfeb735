"""The README's "For companies: add the CopyMe button" example runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from protocol import ConsentCredential, RequestMismatch, StatusRef, parse_deep_link
from tests.support import samples
from tests.support.samples import KEYS, LIST_URI

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("<!-- section: issuer -->"):text.index("<!-- /section: issuer -->")]
    assert "## For companies: add the CopyMe button" in section
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the issuer section has no python example"
    return blocks[0]


def test_readme_example_runs_and_receives_a_consent() -> None:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(example(), str(README), "exec"), namespace)  # noqa: S102 - our own README
    request, button, store = namespace["request"], namespace["button"], namespace["store"]
    assert parse_deep_link(button.deep_link) == button.request_url
    assert button.request_url == "https://kakeibo.example/r/" + request.request_id.hex()
    assert "<svg" in namespace["html"]
    # a wallet answers; the example's callback keeps it for account "user-42"
    body = ConsentCredential.grant(request, user=KEYS.user.did, status=StatusRef(LIST_URI, 1, KEYS.status.did)).sign(KEYS.user)
    consent_id = namespace["callback"](body)
    assert [c.id for c in store.consents("user-42")] == [consent_id]
    # and refuses what does not answer it
    other = ConsentCredential.grant(samples.signed_request(),
                                    user=KEYS.user.did, status=StatusRef(LIST_URI, 2, KEYS.status.did)).sign(KEYS.user)
    try:
        namespace["callback"](other)
    except RequestMismatch as err:
        assert err.code == "request_mismatch"
    else:  # pragma: no cover
        raise AssertionError("a consent to another request was accepted")
    assert callable(namespace["transactions"])
    store.close()
