"""A release cut short after one of its stages, to decompose the data gate's cost (bench only).

    stage "lane":    the ``POST /v1/data`` lane reads the body and answers a constant (no check at all)
    stage "decode":  + the presentation's strict decode and its Ed25519 signature check
    stage "decide":  + every check of spec 7.3 and the data source's copy (no record, no commit)
    stage "release": the whole release (the product as served)

Each stage replaces ``Holder.release_async`` on one holder object with a function that stops
after the stage; the answers of the cut-short stages are the same small JSON object, so the
HTTP work after the handler is that of a tiny answer (a release's answer is a few hundred bytes).
Used by ``bench/_serve.py --stage`` (timed) and ``bench/_gate_count.py`` (instructions).
"""

from __future__ import annotations

from typing import Any

STAGES = ("lane", "decode", "decide", "release")


class _Constant:
    def to_json(self) -> dict[str, Any]:
        return {"stage": "cut short"}


_CONSTANT = _Constant()


def cut_short(holder: Any, stage: str) -> None:
    """Make ``holder`` (a :class:`verifier.holder.Holder`) stop every release after ``stage``."""
    if stage not in STAGES:
        raise SystemExit(f"--stage is one of {', '.join(STAGES)}")
    if stage == "release":
        return
    from protocol import Presentation
    from verifier.replay import Claims

    async def after_stage(data: bytes, now: int | None = None) -> Any:
        if stage == "decode":
            Presentation.decode(data)
        elif stage == "decide":
            decided = holder._decide(data, holder.now(now), Claims(holder.db, holder.replay, holder.nonces))
            assert decided.error is None, decided.error
        return _CONSTANT

    holder.release_async = after_stage
