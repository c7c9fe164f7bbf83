"""Slack Block Kit messages for a digest, split to stay within Slack's limits (design §11):
50 blocks a message, 3,000 characters a section, about 13,000 characters in all a message.

Everything is sent as mrkdwn. In feed text, &, < and > are escaped (so it can neither link nor
mention <!channel>) and the formatting characters *, _, ~ and ` are replaced by look-alikes,
since mrkdwn has no escape for them: feed text cannot format beyond the emphasis we add.
"""

from __future__ import annotations

from typing import Any

from alerts import wording
from alerts.digest import Digest, Entry, Evidence
from alerts.highlight import marked
from alerts.links import article_link, host_of
from alerts.render_text import SNIPPET_LIMIT, TITLE_LIMIT
from alerts.trend import Trend, signed, sparkline

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_MESSAGE_CHARS = 12000     # Slack refuses somewhat above 13k; keep a margin
_PART_LABEL_RESERVE = 120     # room for the "part i of n" block on every message

Block = dict[str, Any]
Payload = dict[str, Any]


_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Look-alikes: U+2217 asterisk operator, U+02CD low macron, U+223C tilde operator, U+02CB grave.
_FORMATTING = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})


def mrkdwn_escape(text: str) -> str:
    """Text from a feed (or anything not ours) made literal in mrkdwn."""
    return text.translate(_ENTITIES).translate(_FORMATTING)


def _link(url: str, label: str) -> str:
    # safe_url already percent-encoded "|", "<", ">" and spaces; "&" is escaped like any text.
    # A URL keeps its "_" and "*": inside <...|...> Slack takes it as it is.
    return f"<{url.translate(_ENTITIES)}|{label}>"


def _code(text: str) -> str:
    """A command to copy, as inline code: nothing formats inside it but a backtick ends it."""
    return "`" + text.translate(_ENTITIES).replace("`", "\u02cb") + "`"


_MAX_HIT_CHARS = MAX_SECTION_CHARS - 200   # room for a group heading in the same section


def _evidence(evidence: Evidence, label_limit: int, snippet_limit: int) -> list[str]:
    label = mrkdwn_escape(wording.clean(wording.evidence_label(evidence), label_limit))
    snippet = wording.clean(evidence.snippet, snippet_limit) if snippet_limit else ""
    if not snippet:
        return [label]
    return [label + ":", ">" + marked(snippet, evidence.marks, lambda s: f"*{s}*", mrkdwn_escape)]


def _hit_lines(entry: Entry, digest: Digest, title_limit: int, snippet_limit: int,
               with_link: bool = True) -> str:
    title = mrkdwn_escape(wording.clean(entry.article.title, title_limit) or "(untitled)")
    link = article_link(entry.article)
    source = wording.clean(wording.source_line(entry, digest, host_of(link)), title_limit)
    shown = link if with_link else None
    lines = [f"*{_link(shown, title)}*" if shown else f"*{title}*", mrkdwn_escape(source)]
    if entry.update:
        return "\n".join([*lines, f"_{mrkdwn_escape(wording.update_line(entry))}_"])
    for evidence in wording.shown_evidence(entry):
        lines += _evidence(evidence, title_limit, snippet_limit)
    for line, style in ((wording.more_evidence(entry), ""), (wording.also_line(entry), "_"),
                        (wording.story_line(entry), "_")):
        if line:
            lines.append(f"{style}{mrkdwn_escape(wording.clean(line, title_limit))}{style}")
    if entry.others:
        # The other reports, folded into one line of links (titles shortened with the rest).
        links = []
        for other in wording.folded_reports(entry):
            label = mrkdwn_escape(wording.clean(wording.folded_label(other), title_limit // 2))
            url = article_link(other) if with_link else None
            links.append(_link(url, label) if url else label)
        more = wording.folded_more(entry)
        lines.append(" · ".join(links + ([mrkdwn_escape(more)] if more else [])))
    return "\n".join(lines)


def hit_text(entry: Entry, digest: Digest) -> str:
    """One hit as mrkdwn, short enough to share a section with its group's heading."""
    title_limit, snippet_limit = TITLE_LIMIT, SNIPPET_LIMIT
    while title_limit >= 20:
        # Escaping can grow text fivefold ("&" -> "&amp;"): shrink until it fits.
        text = _hit_lines(entry, digest, title_limit, snippet_limit)
        if len(text) <= _MAX_HIT_CHARS:
            return text
        title_limit, snippet_limit = title_limit // 2, snippet_limit // 2
    # Only a monstrous URL gets here: show the hit without its link rather than cut the link.
    return _hit_lines(entry, digest, title_limit, snippet_limit, with_link=False)


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _sections(heading: str, pieces: list[str]) -> list[Block]:
    """Pieces joined into as few sections as fit, the heading on the first."""
    blocks: list[Block] = []
    current = heading
    for piece in pieces:
        candidate = f"{current}\n\n{piece}" if current else piece
        if len(candidate) > MAX_SECTION_CHARS and current:
            blocks.append(_section(current))
            current = piece
        else:
            current = candidate
    if current:
        blocks.append(_section(current))
    return blocks


def _problem_blocks(title: str, lines: list[str]) -> list[Block]:
    return _bulleted(title, [mrkdwn_escape(wording.clean(line, 500)) for line in lines])


def _with_command(line: str) -> str:
    """A left-out line with its command as inline code."""
    words, marker, command = wording.clean(line, 1000).partition(wording.SEE_THEM)
    return mrkdwn_escape(words + marker) + (_code(command) if command else "")


def _bulleted(title: str, texts: list[str]) -> list[Block]:
    pieces = [f"• {text}" for text in texts]
    blocks: list[Block] = []
    current = f":warning: *{title}*"
    for piece in pieces:
        if len(current) + 1 + len(piece) > MAX_SECTION_CHARS:
            blocks.append(_section(current))
            current = piece
        else:
            current = f"{current}\n{piece}"
    blocks.append(_section(current))
    return blocks


def trend_lines(trend: Trend) -> list[str]:
    """One line per program: its sparkline, this week's count, the change from last week."""
    return [f"{mrkdwn_escape(wording.clean(s.item, 150))} {_code(sparkline(s.counts))} "
            f"*{s.this_week}* this week ({signed(s.change)} from last week)"
            for s in trend.series]


def digest_blocks(digest: Digest) -> list[Block]:
    """All blocks of the digest, in reading order, before splitting into messages."""
    intro = wording.clean(" · ".join([wording.period(digest), *wording.counts(digest)]), 1000)
    headline = wording.clean(wording.headline(digest), 500)
    blocks: list[Block] = [_section(f"*{mrkdwn_escape(headline)}*"),
                           _context(mrkdwn_escape(intro))]
    if digest.bursts:
        blocks += _bulleted(wording.BURSTS_TITLE,
                            [_with_command(line) for line in wording.burst_lines(digest)])
    if digest.backfills:
        blocks += _bulleted(wording.BACKFILLS_TITLE,
                            [_with_command(line) for line in wording.backfill_lines(digest)])
    for group in digest.groups:
        heading = f"*{mrkdwn_escape(wording.clean(wording.group_title(group), 150))}*"
        unlisted = wording.unlisted_line(group)
        blocks += _sections(heading, [hit_text(e, digest) for e in group.entries]
                            + ([f"_{_with_command(unlisted)}_"] if unlisted else []))
    if not digest.groups and not digest.bursts and not digest.backfills:
        blocks.append(_section("Nothing new matched the watch list in this period."))
    if digest.trend:
        heading = f"*{mrkdwn_escape(wording.trend_heading(digest.trend))}*"
        # Single lines, one block: a short list, read as one (a section takes 3,000 characters).
        blocks.append(_section("\n".join([heading, *trend_lines(digest.trend)])[
            :MAX_SECTION_CHARS]))
    if digest.failing_feeds:
        blocks += _problem_blocks("Feeds failing", wording.feed_problems(digest))
    if digest.failing_channels:
        blocks += _problem_blocks("Channels failing", wording.channel_problems(digest))
    footer = "\n".join([*wording.FOOTER, wording.label(digest)])
    blocks.append(_context(mrkdwn_escape(footer)))
    return blocks


def block_chars(block: Block) -> int:
    """Characters of text in a block, as Slack counts them towards a message's size."""
    if "text" in block:
        return len(block["text"]["text"])
    return sum(len(element["text"]) for element in block.get("elements", []))


def _split(blocks: list[Block], budget: int) -> list[list[Block]]:
    messages: list[list[Block]] = [[]]
    used = 0
    for block in blocks:
        size = block_chars(block)
        if messages[-1] and (len(messages[-1]) >= MAX_BLOCKS - 1 or used + size > budget):
            messages.append([])
            used = 0
        messages[-1].append(block)
        used += size
    return messages


def render_slack(digest: Digest) -> list[Payload]:
    """Webhook payloads, in order; more than one when the digest exceeds one message's limits."""
    fallback = mrkdwn_escape(wording.clean(wording.subject(digest), 200))
    budget = MAX_MESSAGE_CHARS - len(fallback) - _PART_LABEL_RESERVE
    messages = _split(digest_blocks(digest), budget)
    payloads: list[Payload] = []
    for number, blocks in enumerate(messages, start=1):
        text = fallback
        if len(messages) > 1:
            part = f"part {number} of {len(messages)}"
            label = wording.clean(f"{wording.label(digest)}, {part}", _PART_LABEL_RESERVE // 2)
            blocks = [*blocks, _context(mrkdwn_escape(label))]
            text = f"{fallback} ({part})"
        payloads.append({"text": text, "blocks": blocks})
    return payloads
