"""Plain-text and Markdown renderings of a digest: the email's text part, the dry-run preview,
the stdout channel and the file channel's .md file."""

from __future__ import annotations

from collections.abc import Callable

from alerts import wording
from alerts.digest import Digest, Entry, Evidence
from alerts.highlight import marked
from alerts.links import article_link, host_of, no_link_reason

TITLE_LIMIT = 300
SNIPPET_LIMIT = 400


def _underline(text: str, char: str) -> list[str]:
    return [text, char * min(len(text), 72)]


def _text_evidence(evidence: Evidence) -> str:
    label = wording.clean(wording.evidence_label(evidence))
    snippet = wording.clean(evidence.snippet, SNIPPET_LIMIT)
    if not snippet:
        return label
    return f"{label}: “{marked(snippet, evidence.marks, lambda s: f'*{s}*')}”"


def _text_entry(entry: Entry, digest: Digest) -> list[str]:
    link = article_link(entry.article)
    lines = [f"* {wording.clean(entry.article.title, TITLE_LIMIT) or '(untitled)'}"]
    lines.append(f"  {link}" if link else f"  ({no_link_reason(entry.article)})")
    if entry.update:
        return [*lines, "  " + wording.update_line(entry), ""]
    lines.append("  " + wording.clean(wording.source_line(entry, digest, host_of(link))))
    lines += ["  " + _text_evidence(e) for e in wording.shown_evidence(entry)]
    more = wording.more_evidence(entry)
    if more:
        lines.append("  " + wording.clean(more))
    also = wording.also_line(entry)
    if also:
        lines.append("  " + also)
    story = wording.story_line(entry)
    if story:
        lines.append("  " + story)
        for other in wording.folded_reports(entry):
            other_link = article_link(other)
            lines.append(f"    - {wording.folded_label(other)}"
                         + (f" {other_link}" if other_link else ""))
        more = wording.folded_more(entry)
        if more:
            lines.append(f"    {more}")
    return [*lines, ""]


def _text_section(title: str, items: list[str], underline: str = "-") -> list[str]:
    if not items:
        return []
    return [*_underline(title, underline), *(f"- {wording.clean(i)}" for i in items), ""]


def render_text(digest: Digest) -> str:
    lines = [wording.headline(digest), wording.period(digest)]
    if digest.groups or digest.bursts:
        lines.append(" · ".join(wording.counts(digest)))
    lines.append("")
    lines += _text_section(wording.BURSTS_TITLE, wording.burst_lines(digest), "=")
    lines += _text_section(wording.BACKFILLS_TITLE, wording.backfill_lines(digest), "=")
    for group in digest.groups:
        lines += [*_underline(wording.group_title(group), "="), ""]
        for entry in group.entries:
            lines += _text_entry(entry, digest)
        unlisted = wording.unlisted_line(group)
        if unlisted:
            lines += [wording.clean(unlisted), ""]
    if digest.trend:
        lines += [*_underline(wording.trend_heading(digest.trend), "="), "",
                  *wording.trend_table_lines(digest.trend), ""]
    lines += _text_section("Feeds failing", wording.feed_problems(digest))
    lines += _text_section("Channels failing", wording.channel_problems(digest))
    lines += ["-- ", *wording.FOOTER, wording.label(digest)]
    return "\n".join(lines) + "\n"


_MD_SPECIAL = {ch: "\\" + ch for ch in "\\`*_[]|~#"}
_MD_SPECIAL.update({"<": "&lt;", ">": "&gt;", "&": "&amp;"})


def md_escape(text: str) -> str:
    """Feed text made literal in Markdown: no emphasis, links, images or raw HTML."""
    return "".join(_MD_SPECIAL.get(ch, ch) for ch in text)


def _md_url(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29")


def _md_evidence(evidence: Evidence) -> str:
    label = md_escape(wording.clean(wording.evidence_label(evidence)))
    snippet = wording.clean(evidence.snippet, SNIPPET_LIMIT)
    if not snippet:
        return label
    return f"{label}: “{marked(snippet, evidence.marks, lambda s: f'**{s}**', md_escape)}”"


def _md_entry(entry: Entry, digest: Digest) -> list[str]:
    title = md_escape(wording.clean(entry.article.title, TITLE_LIMIT) or "(untitled)")
    link = article_link(entry.article)
    # Two trailing spaces: a line break, so the source line is not run into the title.
    lines = [(f"- **[{title}]({_md_url(link)})**" if link else f"- **{title}**") + "  ",
             "  " + md_escape(wording.clean(wording.source_line(entry, digest, host_of(link))))]
    if entry.update:
        return [*lines, "  - " + md_escape(wording.update_line(entry))]
    lines += ["  - " + _md_evidence(e) for e in wording.shown_evidence(entry)]
    more = wording.more_evidence(entry)
    if more:
        lines.append("  - " + md_escape(wording.clean(more)))
    also = wording.also_line(entry)
    if also:
        lines.append("  - " + md_escape(also))
    story = wording.story_line(entry)
    if story:
        lines.append("  - " + md_escape(story))
        for other in wording.folded_reports(entry):
            label = md_escape(wording.folded_label(other))
            other_link = article_link(other)
            lines.append(f"    - [{label}]({_md_url(other_link)})" if other_link
                         else f"    - {label}")
        more = wording.folded_more(entry)
        if more:
            lines.append(f"    - {md_escape(more)}")
    return lines


def _md_list(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return ["", f"## {title}", "", *(f"- {md_escape(wording.clean(i))}" for i in items)]


def render_markdown(digest: Digest) -> str:
    esc: Callable[[str], str] = md_escape
    lines = [f"# {esc(wording.headline(digest))}", "", f"*{esc(wording.period(digest))}*"]
    if digest.groups or digest.bursts:
        lines += ["", esc(" · ".join(wording.counts(digest)))]
    lines += _md_list(wording.BURSTS_TITLE, wording.burst_lines(digest))
    lines += _md_list(wording.BACKFILLS_TITLE, wording.backfill_lines(digest))
    for group in digest.groups:
        lines += ["", f"## {esc(wording.group_title(group))}", ""]
        for entry in group.entries:
            lines += _md_entry(entry, digest)
        unlisted = wording.unlisted_line(group)
        if unlisted:
            lines += ["", md_escape(wording.clean(unlisted))]
    lines += _md_list("Feeds failing", wording.feed_problems(digest))
    lines += _md_list("Channels failing", wording.channel_problems(digest))
    lines += ["", "---", "", *(esc(line) + "  " for line in wording.FOOTER),
              esc(wording.label(digest))]
    return "\n".join(lines) + "\n"
