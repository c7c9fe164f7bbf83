"""Words every rendering shares: subject, period, counts, problems, footer. Plain text only; each
renderer escapes these for its medium like anything else."""

from __future__ import annotations

from datetime import datetime

from alerts.digest import ChannelFailure, Digest, Entry
from storage.records import FeedState

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LANGUAGES = {"en": "English", "es": "Spanish", "pt": "Portuguese", "fr": "French"}
_SUBJECT_ITEMS = 3

FOOTER = (
    "To change what Armswatch watches, edit config/watchlist.toml.",
    'Try a change first with: armswatch watch test "text of an article"',
)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def day(moment: datetime) -> str:
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def when(moment: datetime, digest: Digest) -> str:
    local = digest.local(moment)
    return f"{day(local)} {local:%H:%M}"


def period(digest: Digest) -> str:
    start, end = digest.local(digest.period_start), digest.local(digest.period_end)
    zone = end.tzname() or digest.timezone
    if start.date() == end.date():
        return f"{day(start)}, {start:%H:%M}–{end:%H:%M} {zone}"
    return f"{day(start)} {start:%H:%M} – {day(end)} {end:%H:%M} {zone}"


def counts(digest: Digest) -> list[str]:
    return [f"{g.item} {len(g.entries)}" for g in digest.groups]


def headline(digest: Digest) -> str:
    """The title line: what kind of message and how many hits."""
    if digest.immediate:
        names = ", ".join(g.item for g in digest.groups) or "high priority"
        return f"Armswatch alert: {names} — {plural(digest.hit_count, 'new hit')}"
    if digest.hit_count == 0:
        return "Armswatch digest: no new hits"
    return f"Armswatch digest: {plural(digest.hit_count, 'new hit')}"


def subject(digest: Digest, prefix: str = "") -> str:
    parts = counts(digest)
    shown = ", ".join(parts[:_SUBJECT_ITEMS])
    if len(parts) > _SUBJECT_ITEMS:
        shown += f" +{len(parts) - _SUBJECT_ITEMS} more"
    text = headline(digest)
    if shown and not digest.immediate:
        text += f" ({shown})"
    text += f" · {period(digest)}"
    return f"{prefix} {text}".strip() if prefix else text


def language(code: str | None) -> str:
    if not code:
        return "language unknown"
    return _LANGUAGES.get(code.lower(), code)


def source_line(entry: Entry, digest: Digest, host: str | None) -> str:
    """Source, date, language and what matched, on one line."""
    source = entry.article.feed + (f" ({host})" if host else "")
    terms = ", ".join(f"“{t}”" for t in entry.terms)
    return (f"{source} · {when(entry.article.published, digest)} · "
            f"{language(entry.article.language)} · matched {terms} in the {entry.field}")


def also_line(entry: Entry) -> str | None:
    return f"Also matches: {', '.join(entry.also)}" if entry.also else None


def feed_problem(feed: FeedState, digest: Digest) -> str:
    error = feed.error or feed.status
    text = f"{feed.name}: {error}"
    if feed.failing_since is not None:
        text += f" — failing since {when(feed.failing_since, digest)}"
    if feed.error_count > 1:
        text += f" ({plural(feed.error_count, 'failed check')})"
    return text


def channel_problem(failure: ChannelFailure, digest: Digest) -> str:
    return (f"Channel {failure.channel}: {failure.error} — "
            f"{plural(failure.attempts, 'failed attempt')} since {when(failure.since, digest)}")


def label(digest: Digest) -> str:
    ident = f"digest {digest.digest_id}" if digest.digest_id is not None else "preview"
    return f"Armswatch {ident} for channel {digest.channel}"


def group_title(item: str, kind: str, count: int) -> str:
    return f"{item} ({kind}) — {plural(count, 'hit')}"


_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def clean(text: str, limit: int | None = None) -> str:
    """Feed text on one line: control and bidi-override characters dropped, whitespace collapsed,
    cut at ``limit`` characters with an ellipsis."""
    kept = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or (ch.isprintable() and ch not in _BIDI_CONTROLS))
    line = " ".join(kept.split())
    if limit is not None and len(line) > limit:
        line = line[: max(limit - 1, 0)].rstrip() + "…"
    return line
