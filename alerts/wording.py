"""Words every rendering shares: subject, period, counts, problems, footer. Plain text only; each
renderer escapes these for its medium like anything else."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from alerts.caps import BURST_ITEMS_NAMED, Burst
from alerts.digest import ChannelFailure, Digest, Entry, Evidence, Group
from alerts.trend import Trend, signed
from storage.records import Article, FeedState

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LANGUAGES = {"en": "English", "es": "Spanish", "pt": "Portuguese", "fr": "French"}
_SUBJECT_ITEMS = 3
EVIDENCE_LINES = 3     # evidence lines a hit shows; the rest are summed up in one line
# Any one field from a feed is cut to a length a reader can take in (a 6 MB link or error text
# must not make a 6 MB digest).
FEED_NAME_LIMIT = 100
ERROR_LIMIT = 300
FEEDS_LISTED = 10      # failing feeds named in a digest; `armswatch feeds` lists them all
HITS_LIMIT = 100_000   # the most `armswatch hits --limit` takes
BURSTS_TITLE = "Bursts, not listed"
TREND_TITLE = "Articles per week"
BACKFILLS_TITLE = "Found among stored articles, not listed"
SEE_THEM = "see them with: "   # precedes the command in every left-out line

FOOTER = (
    "To change what Armswatch watches, edit config/watchlist.toml.",
    'Try a change first with: armswatch watch test "text of an article"',
)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count:,} {word}s"


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
    return ([f"{g.item} {g.total:,}" for g in digest.groups]
            + [f"burst from {clean(b.feed, FEED_NAME_LIMIT)} {b.hits:,}" for b in digest.bursts])


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
    source = clean(entry.article.feed, FEED_NAME_LIMIT) + (f" ({host})" if host else "")
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


FOLDED_LISTED = 10     # a story's other reports linked under it; the rest are counted


def language_counts(articles: Sequence[Article]) -> str:
    """"EN 3 · ES 1": reports per language, most first."""
    counts = Counter((a.language or "?").upper() for a in articles)
    return " · ".join(f"{code} {n}" for code, n in sorted(counts.items(),
                                                         key=lambda c: (-c[1], c[0])))


def story_line(entry: Entry) -> str | None:
    """"also reported by 4 outlets · EN 3 · ES 1", when the story has other reports."""
    if not entry.others:
        return None
    outlets = len({a.feed for a in entry.others})
    return f"also reported by {plural(outlets, 'outlet')} · {language_counts(entry.others)}"


def folded_reports(entry: Entry) -> list[Article]:
    """The other reports linked under an entry (the first FOLDED_LISTED of them)."""
    return list(entry.others[:FOLDED_LISTED])


def folded_label(article: Article) -> str:
    return f"{clean(article.feed, FEED_NAME_LIMIT)}: {clean(article.title, 200) or '(untitled)'}"


def folded_more(entry: Entry) -> str | None:
    left = len(entry.others) - FOLDED_LISTED
    return f"and {plural(left, 'more report')}" if left > 0 else None


def update_line(entry: Entry) -> str:
    """The one line of a story told of in a digest sent before: what it gained."""
    return (f"Update to a story sent before: {plural(entry.reports, 'more report')} · "
            f"{language_counts([entry.article, *entry.others])}")


def feed_problem(feed: FeedState, digest: Digest) -> str:
    error = clean(feed.error or feed.status, ERROR_LIMIT)
    text = f"{clean(feed.name, FEED_NAME_LIMIT)}: {error}"
    if feed.failing_since is not None:
        text += f" — failing since {when(feed.failing_since, digest)}"
    if feed.error_count > 1:
        text += f" ({plural(feed.error_count, 'failed check')})"
    return text


def feed_problems(digest: Digest) -> list[str]:
    """The failing feeds, at most FEEDS_LISTED of them, each line capped."""
    lines = [feed_problem(f, digest) for f in digest.failing_feeds[:FEEDS_LISTED]]
    more = len(digest.failing_feeds) - FEEDS_LISTED
    if more > 0:
        lines.append(f"and {plural(more, 'more failing feed')}: see them with `armswatch feeds`")
    return lines


def channel_problem(failure: ChannelFailure, digest: Digest) -> str:
    error = clean(failure.error, ERROR_LIMIT)
    if failure.failed:
        return (f"Channel {failure.channel}: {plural(failure.failed, 'digest')} refused for good "
                f"and marked failed (the last: {error}); `armswatch digest failed` lists "
                f"{'it' if failure.failed == 1 else 'them'}")
    return (f"Channel {failure.channel}: {error} — "
            f"{plural(failure.attempts, 'failed attempt')} since {when(failure.since, digest)}")


def channel_problems(digest: Digest) -> list[str]:
    return [channel_problem(f, digest) for f in digest.failing_channels]


def hits_command(count: int, since: datetime | None, *, item: str | None = None,
                 feed: str | None = None) -> str:
    """The `armswatch hits` command that lists hits a digest left out."""
    words = ["armswatch", "hits"]
    if feed is not None:
        words += ["--feed", shlex.quote(clean(feed, FEED_NAME_LIMIT))]
    if item is not None:
        words += ["--item", shlex.quote(item)]
    if since is not None:
        words += ["--since", f"{since:%Y-%m-%d}"]
    return " ".join([*words, "--limit", str(min(max(count, 1), HITS_LIMIT))])


def unlisted_line(group: Group) -> str | None:
    """What the caps left out of a group, and how to see it."""
    if not group.unlisted:
        return None
    command = hits_command(group.total, group.since, item=group.item)
    return (f"{plural(group.unlisted, f'more {group.item} hit')} not listed here; "
            f"{SEE_THEM}{command}")


def burst_line(burst: Burst, digest: Digest) -> str:
    """One feed's burst in one line: how many hits of which items, when, and how to see them."""
    named = [f"{item} {count:,}" for item, count in burst.items[:BURST_ITEMS_NAMED]]
    if len(burst.items) > BURST_ITEMS_NAMED:
        named.append(f"+{len(burst.items) - BURST_ITEMS_NAMED} more items")
    first, last = digest.local(burst.first_seen), digest.local(burst.last_seen)
    seen = when(burst.first_seen, digest)
    if last != first:
        seen += f"–{last:%H:%M}" if last.date() == first.date() else f" – {when(last, digest)}"
    command = hits_command(burst.hits, burst.since, feed=burst.feed)
    return (f"{clean(burst.feed, FEED_NAME_LIMIT)} produced {plural(burst.hits, 'hit')} "
            f"({', '.join(named)}), first seen {seen}: an unusual burst, not listed; "
            f"{SEE_THEM}{command}")


def burst_lines(digest: Digest) -> list[str]:
    return [burst_line(b, digest) for b in digest.bursts]


def backfill_lines(digest: Digest) -> list[str]:
    """One line per item a backfill gave hits among stored articles (design §14), however
    many: they are last weeks' news, found because the watch list changed."""
    return [f"new watch item {b.item} matched {plural(b.articles, 'stored article')} — "
            f"{SEE_THEM}{hits_command(b.articles, b.since, item=b.item)}"
            for b in digest.backfills]


def label(digest: Digest) -> str:
    ident = f"digest {digest.digest_id}" if digest.digest_id is not None else "preview"
    return f"Armswatch {ident} for channel {digest.channel}"


def group_title(group: Group) -> str:
    title = f"{group.item} ({group.kind}) — {plural(group.total, 'hit')}"
    return title + (f", the newest {len(group.entries)} listed" if group.unlisted else "")


# Escape sequences, removed whole (the text an OSC 8 hyperlink wraps stays): CSI (colours, cursor
# moves, screen clears); OSC (window title, hyperlinks, clipboard), DCS, SOS, PM and APC up to
# their terminator, the line's end or the text's; any other ESC sequence. 7-bit and 8-bit forms.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|(?=\n)|\Z)"
    r"|\x1b[ -/]*[0-~]?")
# What is left of C0 and C1 but the line break (a tab becomes a space), DEL, and the
# bidirectional controls that make text display in another order than it reads ("Trojan Source").
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                      "\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` safe to write to a terminal: escape sequences and control characters removed,
    tabs made spaces; line breaks stay."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text).replace("\t", " "))


def clean(text: str, limit: int | None = None) -> str:
    """Feed text on one line: escape sequences, control and bidi-override characters dropped
    (as ``printable``), whitespace collapsed, cut at ``limit`` characters with an ellipsis."""
    if limit is not None:
        # Only the start can be shown: a 6 MB field is not scanned whole (a generous margin
        # for the whitespace and control characters that are dropped).
        text = text[: limit * 4 + 64]
    kept = "".join(ch for ch in printable(text) if ch.isspace() or ch.isprintable())
    line = " ".join(kept.split())
    if limit is not None and len(line) > limit:
        line = line[: max(limit - 1, 0)].rstrip() + "…"
    return line


def trend_heading(trend: Trend) -> str:
    weeks = trend.weeks
    return f"{TREND_TITLE}, {weeks[0]} to {weeks[-1]} ({weeks[-1]}: this week, so far)"


def trend_table_lines(trend: Trend) -> list[str]:
    """The trend's numbers as a plain-text table, one row per item, a column per week (its
    number, W47), then the change from last week."""
    width = max(len(s.item) for s in trend.series)
    weeks = [w.rpartition("-")[2] for w in trend.weeks]
    lines = [" " * width + "".join(f"{w:>5}" for w in weeks) + "  change"]
    for series in trend.series:
        cells = "".join(f"{n:>5}" for n in series.counts)
        lines.append(f"{clean(series.item):<{width}}{cells}  {signed(series.change)}")
    return lines
