"""Rich text for the CLI: the notice a user reads before deciding, the consent table, one consent.

Words come in the user's language (``ja`` or ``en``); an unverified requester is always shown
with a red warning, never with a name that looks vouched for.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rich.cells import cell_len
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from . import glossary
from .consents import ConsentView, Review
from .overview import News
from .pull import PullResult
from .receipts import HeldReceipt
from .results import ChangeResult, ConsentDetail
from .rights import RightsView
from .status import PublishResult

__all__ = ["change_text", "consent_table", "console", "detail_view", "news_text", "phrase_notice", "review_panel",
           "short_id", "sync_text", "write_consent_table"]


def _w(lang: str) -> Mapping[str, str]:
    return glossary.words(lang)


def _date(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _width(text: str) -> int:
    """Terminal cells of ``text`` (ASCII, e.g. every id and date, needs no lookup)."""
    return len(text) if text.isascii() else cell_len(text)


def date_text(ts: int) -> str:
    """A time as ``YYYY-MM-DD HH:MM UTC`` (for the CLI's lines)."""
    return _date(ts)


@functools.lru_cache(maxsize=4096)
def _day(ts: int) -> str:
    """The UTC date of ``ts`` (cached: consents given together expire together)."""
    return _date(ts)[:10]


def phrase_notice(lang: str) -> str:
    """What ``init`` says above the recovery phrase."""
    return _w(lang)["phrase"]


def short_id(consent_id: str) -> str:
    """The last 12 characters of a consent id (``show`` accepts them)."""
    return consent_id[-12:]


def review_panel(review: Review) -> Panel:
    """The notice as shown before the user decides."""
    w = _w(review.lang)
    body = Table.grid(padding=(0, 2))
    body.add_column(style="bold")
    body.add_column()
    if review.verified:
        who = Text(review.requester_name, style="bold green")
        who.append(f"  ✔ {w['verified']}", style="green")
    else:
        who = Text(review.claimed_name, style="bold")
        who.append(f"\n⚠ {w['unverified']}", style="bold red")
        if review.trust_note:
            who.append(f"\n  ({review.trust_note})", style="red")
    body.add_row(w["requester"], who)
    body.add_row("", Text(review.requester, style="dim"))
    if review.replacement is not None:
        changed = Text(review.replacement.summary, style="bold")
        for change in review.replacement.changes:
            changed.append(f"\n• {change.text}", style="bold yellow")
        body.add_row("⟳", changed)
    body.add_row(w["holder"], Text(review.holder_name or review.holder_url))
    items = Text()
    for i, item in enumerate(review.items):
        items.append(("\n" if i else "") + f"• {item.label} ({item.id}) — ")
        items.append(w["required"] if item.required else w["optional"],
                     style="bold" if item.required else "cyan")
    body.add_row(w["data_items"], items)
    body.add_row(w["purposes"], Text("\n".join(f"• {p.label}: {p.help}" if p.help else f"• {p.label}"
                                               for p in review.purposes)))
    body.add_row(w["retention"], f"{review.retention_days} {w['days']}")
    body.add_row(w["onward"], Text(w["yes"] if review.onward_sharing else w["no"],
                                   style="bold red" if review.onward_sharing else ""))
    body.add_row(w["validity"], f"{review.validity_days} {w['days']}")
    body.add_row(w["points"], Text("\n".join(f"{n}. {p}" for n, p in enumerate(review.key_points, 1))))
    body.add_row(w["terms"], Text(f"{review.terms_url}\nsha256 {review.terms_sha256}"))
    body.add_row(w["answer_by"], _date(review.expires_at))
    if review.decision != "pending":
        body.add_row(w["decision"], review.decision)
    return Panel(body, title=Text(review.title, style="bold"), border_style="green" if review.verified else "red")


def _table_row(c: ConsentView, w: Mapping[str, str], states: Mapping[str, str], lang: str) -> tuple[str, ...]:
    state = states[c.state] + (f" ({w['pending']})" if c.pending else "") + (
        f" ({w['delivered_no']})" if not c.delivered else "")
    return (short_id(c.id), c.name(lang) + ("" if c.verified else " ⚠"), c.holder_label(lang),
            ",".join(c.items), ",".join(p.removeprefix("dpv:") for p in c.purposes), state,
            _day(c.expires_at) if c.state != "revoked" else "—")


def write_consent_table(consents: Callable[[], Iterable[ConsentView]], lang: str, write: Callable[[str], Any],
                        *, chunk: int = 500) -> int:
    """``list``: one aligned line per consent, streamed to ``write``; the number of consents.

    Plain text rather than a rich table: it stays fast with tens of thousands of consents
    (rich measures every cell; ~1 ms a row) and pipes cleanly into ``grep``.  Widths count
    terminal cells, so Japanese names line up.  Columns are as wide as their widest cell, so
    ``consents`` is called twice: the first pass only measures, the second writes a chunk of
    lines at a time; neither keeps the rows.
    """
    w = _w(lang)
    states = glossary.STATES[lang if lang in glossary.STATES else "en"]
    header = (w["id"], w["requester"], w["holder"], w["data_items"], w["purposes"], w["state"], w["until"])
    widths = [_width(h) for h in header]
    count = 0
    for c in consents():
        count += 1
        widths = [max(width, _width(cell)) for width, cell in zip(widths, _table_row(c, w, states, lang), strict=True)]

    def line(values: tuple[str, ...]) -> str:
        return "  ".join([v + " " * (widths[i] - _width(v)) for i, v in enumerate(values)]).rstrip()

    lines = [line(header), "  ".join("-" * width for width in widths)]
    if not count:
        lines.append(w["no_consents"])
    for c in consents():
        lines.append(line(_table_row(c, w, states, lang)))
        if len(lines) >= chunk:
            write("\n".join(lines) + "\n")
            lines.clear()
    if lines:
        write("\n".join(lines) + "\n")
    return count


def consent_table(consents: Iterable[ConsentView], lang: str) -> str:
    """:func:`write_consent_table` as one string (without the final newline)."""
    rows = list(consents)
    out: list[str] = []
    write_consent_table(lambda: rows, lang, out.append)
    return "".join(out).removesuffix("\n")


def detail_view(detail: ConsentDetail, *, with_credential: bool = True, lang: str | None = None) -> Group:
    """``show``: the notice as it was shown, hashes, status history, receipts, the credential.

    Labels are in ``lang`` (default: the language the notice was shown in); ids, hashes and
    the credential stay as they are.
    """
    c = detail.consent
    w = _w(lang or detail.review.lang)
    states = glossary.STATES[lang or detail.review.lang if (lang or detail.review.lang) in glossary.STATES else "en"]
    parts: list[Any] = [review_panel(detail.review)]
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    facts.add_row(w["consent_id"], c.id)
    facts.add_row(w["request_id"], c.request_cid)
    facts.add_row(w["terms_hash"], detail.terms_sha256)
    facts.add_row(w["state"], states.get(c.state, c.state) + (f" ({w['pending']})" if c.pending else ""))
    facts.add_row(w["granted"], ", ".join(c.items))
    facts.add_row(w["issued"], _date(c.issued_at))
    facts.add_row(w["until"], _date(c.expires_at) if c.state != "revoked" else "—")
    facts.add_row(w["status_list"], f"{c.list_id} #{c.index}")
    facts.add_row(w["delivered"], w["delivered_yes"] if c.delivered else
                  f"{w['delivered_no']} ({c.delivery_error or '-'})")
    parts.append(facts)
    history = Table(title=w["history"])
    for col in (w["state"], w["at"], w["list_iat"], w["reached"]):
        history.add_column(col)
    for e in detail.events:
        history.add_row(states.get(e["status"], e["status"]), _date(e["at"]), str(e["iat"]),
                        _date(e["published_at"]) if e["published_at"] else w["pending"])
    parts.append(history)
    if detail.receipts:
        receipts = Table(title=w["receipts"])
        for col in (w["at"], w["data_user"], w["data_used"], w["purpose"], w["outcome"], w["holder_no"]):
            receipts.add_column(col)
        for r in detail.receipts:
            receipts.add_row(_date(r.at), r.presenter, ", ".join(r.items), r.purpose,
                             f"{w['outcome_refused']}: {r.reason}" if r.refused else w["outcome_released"],
                             str(r.seq))
        parts.append(receipts)
    if detail.rights:
        parts.append(Text("stop-use / erasure requests:", style="bold"))
        parts.append(Text(rights_text(detail.rights)))
    if with_credential:
        parts.append(Text(w["credential"] + ":", style="bold"))
        parts.append(Text(base64.urlsafe_b64encode(detail.credential).rstrip(b"=").decode(), overflow="fold"))
    return Group(*parts)


def news_text(news: News, lang: str) -> str:
    """``news``: what is new since the last visit, one line each (the dashboard's home shows the same)."""
    w = _w(lang)
    if news.empty:
        return w["news_first"] if news.since is None else w["news_nothing"]

    def items(ids: tuple[str, ...]) -> str:
        return w["sep"].join(ids)

    lines = [w["news_title"]]
    lines += [f"- {_date(r.at)}  " + w["news_refused"].format(company=news.company(r.consent_id, lang))
              for r in news.refusals]
    lines += [f"- {_date(r.at)}  " + w["news_used"].format(company=news.company(r.consent_id, lang),
                                                          items=items(r.items)) for r in news.uses]
    lines += ["- " + w["news_ending"].format(company=c.name(lang), date=_date(c.expires_at)[:10])
              + f"  ({short_id(c.id)})" for c in news.ending]
    return "\n".join(lines)


def change_text(result: ChangeResult) -> str:
    """One line about a revoke/suspend/resume (and one about the erasure request sent with it)."""
    if result.published:
        line = f"{result.state}: {result.consent_id} — the registry accepted the new list (iat {result.iat})"
    else:
        line = (f"{result.state}: {result.consent_id} — saved, but PENDING: the registry did not take it "
                f"({result.error}: {result.detail}); run 'copyme wallet sync' later")
    return line if result.rights is None else line + "\n" + rights_text([result.rights])


def rights_text(views: list[RightsView]) -> str:
    """One line per stop-use / erasure request: kind, state, due date, what was erased."""
    if not views:
        return "no stop-use or erasure requests"
    lines = []
    for v in views:
        line = f"#{v.id} {v.kind} for {v.consent_id[:16]}…: {v.state}"
        if v.state == "sent":
            line += f" (not acknowledged yet{': ' + v.send_error if v.send_error else ''}; "
            line += "'copyme wallet rights --follow-up' retries)"
        elif v.state in ("acknowledged", "overdue") and v.due_at:
            line += f", due {_date(v.due_at)}"
        elif v.state == "done" and v.done_at:
            erased = ", ".join(v.erased_items) or "nothing (use stopped)"
            line += f" at {_date(v.done_at)}; erased: {erased} ({v.erased_records} records) — signed completion kept"
        lines.append(line)
    return "\n".join(lines)


def sync_text(results: list[PublishResult]) -> str:
    """One line per published (or still pending) list."""
    if not results:
        return "nothing pending"
    return "\n".join(f"{r.list_id}: " + ("published" if r.accepted else f"still pending ({r.error}: {r.detail})")
                     + f" (iat {r.iat})" for r in results)


def pull_text(results: list[PullResult]) -> str:
    """One line per linked holder: new receipts, or the warning that stopped the pull."""
    if not results:
        return "receipts: no data holder linked"
    return "\n".join(f"receipts from {r.holder_url}: {r.new} new (last #{r.last_seq})" if r.ok
                     else f"receipts from {r.holder_url}: WARNING {r.error}: {r.detail} ({r.new} new before it)"
                     for r in results)


def receipts_text(receipts: list[HeldReceipt], lang: str = "en") -> str:
    """``receipts``: one line per verified receipt, numbered within its consent as the consent's
    page numbers them (the holder's own sequence runs across all of the customer's consents, so
    it skips; it stays in ``--json`` as ``seq``).  ``receipts`` are oldest first."""
    if not receipts:
        return "no receipts"
    counted: dict[str, int] = {}
    lines = []
    for r in receipts:
        counted[r.consent_id] = n = counted.get(r.consent_id, 0) + 1
        lines.append(f"{_date(r.at)}  {short_id(r.consent_id)}  " + (f"refused ({r.reason})" if r.refused else "released")
                     + f"  {r.presenter}  {','.join(r.items)}  {r.purpose}  ({_w(lang)['receipt_no'].format(n=n)})")
    return "\n".join(lines)


def console() -> Console:
    """The CLI's console (plain when not a terminal, so output can be piped)."""
    import sys

    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
