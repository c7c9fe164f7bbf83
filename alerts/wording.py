"""Words every rendering shares: subject, period, counts, problems, footer. Plain text only; each
renderer escapes these for its medium like anything else."""

from __future__ import annotations

from datetime import datetime

from alerts.digest import ChannelFailure, Digest, Entry, Evidence
from storage.records import FeedState

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LANGUAGES = {"en": "English", "es": "Spanish", "pt": "Portuguese", "fr": "French"}
_SUBJECT_ITEMS = 3
EVIDENCE_LINES = 3     # evidence lines a hit shows; the rest are summed up in one line

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


def short_period(digest: Digest) -> str:
    """The period in few characters, for a subject line: "22-23 Nov 2025", or the hours when it
    lies within one day ("23 Nov 2025, 06:00-07:00 CST"). The body gives it in full."""
    start, end = digest.local(digest.period_start), digest.local(digest.period_end)
    if start.date() == end.date():
        return f"{day(start)}, {start:%H:%M}-{end:%H:%M} {end.tzname() or digest.timezone}"
    if start.year != end.year:
        return f"{day(start)} - {day(end)}"
    if start.month != end.month:
        return f"{start.day} {_MONTHS[start.month - 1]} - {day(end)}"
    return f"{start.day}-{day(end)}"


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
    """The email subject (and Slack's notification text): how many hits of which items, and when.

    ``prefix`` (``[Armswatch]``) names the sender; without one the subject names the product
    itself, so it is never named twice nor left out. ASCII punctuation only: Python's email
    header folding mangles the spaces around non-ASCII characters in long subjects.
    """
    parts = counts(digest)
    shown = ", ".join(parts[:_SUBJECT_ITEMS])
    if len(parts) > _SUBJECT_ITEMS:
        shown += f" +{len(parts) - _SUBJECT_ITEMS} more"
    summary = f"{plural(digest.hit_count, 'new hit')}: {shown}" if shown else "no new hits"
    prefix = prefix.strip()
    if not prefix:
        lead = f"Armswatch {'alert' if digest.immediate else 'digest'} with"
    else:
        lead = f"{prefix} Alert -" if digest.immediate else prefix
    return f"{lead} {summary} ({short_period(digest)})"


def language(code: str | None) -> str:
    if not code:
        return "language unknown"
    return _LANGUAGES.get(code.lower(), code)


def source_line(entry: Entry, digest: Digest, host: str | None) -> str:
    """Source, date and language on one line."""
    source = entry.article.feed + (f" ({host})" if host else "")
    article = entry.article
    return f"{source} · {when(article.published, digest)} · {language(article.language)}"


def _quoted(terms: tuple[str, ...]) -> str:
    return ", ".join(f"“{t}”" for t in terms)


def evidence_label(evidence: Evidence) -> str:
    """What was found where: 'matched “eTrace”, “rastreo” in the summary'."""
    return f"matched {_quoted(evidence.terms)} in the {evidence.field}"


def shown_evidence(entry: Entry) -> tuple[Evidence, ...]:
    """The evidence lines a hit shows, at most EVIDENCE_LINES, in field order: first those that
    show a term not shown yet, so the cap drops repeats of a term before any term itself."""
    chosen: list[int] = []
    seen: set[str] = set()
    for index, found in enumerate(entry.evidence):
        if len(chosen) < EVIDENCE_LINES and not seen.issuperset(found.terms):
            chosen.append(index)
            seen.update(found.terms)
    for index in range(len(entry.evidence)):
        if len(chosen) < EVIDENCE_LINES and index not in chosen:
            chosen.append(index)
    return tuple(entry.evidence[i] for i in sorted(chosen))


def more_evidence(entry: Entry) -> str | None:
    """The evidence beyond EVIDENCE_LINES in one line, each term still with its own field."""
    shown = shown_evidence(entry)
    rest = [found for found in entry.evidence if found not in shown]
    if not rest:
        return None
    by_field: dict[str, list[str]] = {}
    for found in rest:
        by_field.setdefault(found.field, []).extend(found.terms)
    where = "; ".join(f"{_quoted(tuple(terms))} in the {name}" for name, terms in by_field.items())
    count = sum(len(terms) for terms in by_field.values())
    return f"and {count} more {'match' if count == 1 else 'matches'}: {where}"


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
