"""Framework-free glue for the thin HTTP and CLI layers: one mapping from errors to the outside.

Every service maps a :class:`CopyMeError` to ``(http_status, {"error": code, "detail": ...})``
through :func:`error_response`, every client turns such a body back into the same class
through :func:`error_from_response`, and every CLI prints one line and exits through
:func:`cli_exit`.  Keeping this in the protocol package (without importing FastAPI or typer)
means the four packages spell errors identically without depending on each other.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from .errors import CopyMeError, Unavailable, error_class

__all__ = ["cli_exit", "error_from_response", "error_response"]


def error_response(err: CopyMeError) -> tuple[int, dict[str, str]]:
    """The HTTP status and JSON body for ``err``."""
    return err.http_status, err.to_dict()


def error_from_response(status: int, body: bytes) -> CopyMeError:
    """Rebuild the error a peer service reported; unparsable bodies become ``unavailable``."""
    try:
        data: Any = json.loads(body)
        code, detail = data["error"], data.get("detail", "")
        if not isinstance(code, str) or not isinstance(detail, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return Unavailable(f"peer answered HTTP {status} without a CopyMe error body")
    cls = error_class(code)
    err = cls(detail)
    if cls is CopyMeError:
        err.code = code  # type: ignore[misc]  # keep a newer peer's code visible
    return err


def cli_exit(err: CopyMeError, *, as_json: bool = False) -> NoReturn:
    """Print ``err`` as one line (or its JSON body) on stderr and exit with its status."""
    if as_json:
        print(json.dumps(err.to_dict(), ensure_ascii=False), file=sys.stderr)
    else:
        print(f"error: {err.code}: {err.detail}", file=sys.stderr)
    raise SystemExit(err.exit_status)
