"""The HTML rendering: the email's HTML part, the file channel's .html and the dry-run preview.

Table layout and inline styles only (no <style>, no scripts), which is what common mail clients
(Outlook, Gmail, Apple Mail) render alike. Every string from a feed goes through escape(). The one
image is the trend chart, a PNG (mail clients do not render SVG): the email attaches it
(``cid:``), the file channel writes it beside the page; its numbers follow it as a table, so the
digest says the same without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from alerts import wording
from alerts.digest import Digest, Entry, Evidence, Group
from alerts.highlight import marked
from alerts.links import article_link, host_of
from alerts.render_text import SNIPPET_LIMIT, TITLE_LIMIT
from alerts.trend import Trend, signed

_FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
_CELL = f"padding:12px 24px;{_FONT}font-size:14px;line-height:1.45;color:#1f2328;"
_MUTED = "color:#57606a;font-size:12px;"
_MARK = "background-color:#fff1a8;font-weight:bold;color:#1f2328;"
_LINK = "color:#0b5cad;text-decoration:underline;font-weight:bold;font-size:15px;"


def esc(text: str) -> str:
    return escape(text, quote=True)


def _row(inner: str, style: str = "") -> str:
    return f'<tr><td style="{_CELL}{style}">{inner}</td></tr>'


def _mark(text: str) -> str:
    return f'<strong style="{_MARK}">{text}</strong>'


def _evidence(evidence: Evidence) -> str:
    label = f'<div style="{_MUTED}margin-top:6px;">{esc(wording.evidence_label(evidence))}</div>'
    snippet = wording.clean(evidence.snippet, SNIPPET_LIMIT)
    if not snippet:
        return label
    return (f'{label}<div style="margin:2px 0 0 0;padding:4px 10px;'
            f'border-left:3px solid #d0d7de;color:#24292f;">'
            f'{marked(snippet, evidence.marks, _mark, esc)}</div>')


def _entry(entry: Entry, digest: Digest) -> str:
    title = esc(wording.clean(entry.article.title, TITLE_LIMIT) or "(untitled)")
    link = article_link(entry.article)
    heading = (f'<a href="{esc(link)}" style="{_LINK}">{title}</a>' if link
               else f'<span style="font-weight:bold;font-size:15px;">{title}</span>')
    meta = esc(wording.source_line(entry, digest, host_of(link)))
    parts = [heading, f'<div style="{_MUTED}margin-top:2px;">{meta}</div>']
    if entry.update:
        parts.append(f'<div style="{_MUTED}margin-top:4px;">'
                     f'{esc(wording.update_line(entry))}</div>')
        return _row("".join(parts), "border-top:1px solid #eaeef2;")
    parts += [_evidence(e) for e in wording.shown_evidence(entry)]
    for line in (wording.more_evidence(entry), wording.also_line(entry)):
        if line:
            parts.append(f'<div style="{_MUTED}margin-top:4px;">{esc(line)}</div>')
    parts += _folded(entry)
    return _row("".join(parts), "border-top:1px solid #eaeef2;")


def _folded(entry: Entry) -> list[str]:
    """The story's other reports, under one "also reported by" line."""
    story = wording.story_line(entry)
    if not story:
        return []
    items = []
    for other in wording.folded_reports(entry):
        label, link = esc(wording.folded_label(other)), article_link(other)
        items.append(f'<li style="margin:1px 0;"><a href="{esc(link)}" style="color:#0b5cad;">'
                     f"{label}</a></li>" if link else f'<li style="margin:1px 0;">{label}</li>')
    more = wording.folded_more(entry)
    if more:
        items.append(f'<li style="margin:1px 0;">{esc(more)}</li>')
    return [f'<div style="{_MUTED}margin-top:4px;">{esc(story)}</div>'
            f'<ul style="{_MUTED}margin:2px 0 0 0;padding-left:20px;">{"".join(items)}</ul>']


def _group(group: Group, digest: Digest) -> list[str]:
    title = esc(wording.group_title(group))
    head = _row(f'<h2 style="margin:0;font-size:17px;color:#1f2328;">{title}</h2>',
                "padding-top:20px;")
    rows = [head, *(_entry(e, digest) for e in group.entries)]
    unlisted = wording.unlisted_line(group)
    if unlisted:
        rows.append(_row(esc(wording.clean(unlisted)), f"{_MUTED}border-top:1px solid #eaeef2;"))
    return rows


def _problems(title: str, lines: list[str]) -> str:
    items = "".join(f'<li style="margin:2px 0;">{esc(wording.clean(line))}</li>' for line in lines)
    return _row(f'<h2 style="margin:0 0 6px 0;font-size:15px;color:#9a3412;">{esc(title)}</h2>'
                f'<ul style="margin:0;padding-left:20px;">{items}</ul>',
                "background-color:#fff7ed;border-top:1px solid #fed7aa;")


def _header(digest: Digest) -> str:
    counts = " · ".join(wording.counts(digest))
    inner = (f'<h1 style="margin:0 0 4px 0;font-size:20px;color:#1f2328;">'
             f'{esc(wording.headline(digest))}</h1>'
             f'<div style="{_MUTED}">{esc(wording.period(digest))}</div>')
    if counts:
        inner += f'<div style="margin-top:6px;">{esc(counts)}</div>'
    return _row(inner, "padding-top:20px;border-bottom:2px solid #0b5cad;")


def _footer(digest: Digest) -> str:
    lines = "<br>".join(esc(line) for line in (*wording.FOOTER, wording.label(digest)))
    return _row(lines, f"{_MUTED}border-top:1px solid #d0d7de;padding-bottom:20px;")


@dataclass(frozen=True)
class ChartImage:
    """Where the rendering finds the trend chart (``cid:...`` or a file name), and its alt text."""

    src: str
    alt: str
    width: int = 600


_NUMBER = f"padding:3px 4px;text-align:right;border-bottom:1px solid #eaeef2;{_FONT}"


def _trend(trend: Trend, chart: ChartImage | None) -> str:
    heading = (f'<h2 style="margin:0 0 8px 0;font-size:17px;color:#1f2328;">'
               f"{esc(wording.trend_heading(trend))}</h2>")
    image = (f'<img src="{esc(chart.src)}" alt="{esc(chart.alt)}" width="{chart.width}" '
             f'style="display:block;width:100%;max-width:{chart.width}px;height:auto;'
             f'border:0;margin:0 0 10px 0;">' if chart is not None else "")
    weeks = "".join(f'<th scope="col" style="{_NUMBER}{_MUTED}">{esc(w.rpartition("-")[2])}</th>'
                    for w in trend.weeks)
    head = (f'<tr><th scope="col" style="{_NUMBER}text-align:left;">Item</th>{weeks}'
            f'<th scope="col" style="{_NUMBER}">Change</th></tr>')
    body = "".join(
        f'<tr><th scope="row" style="{_NUMBER}text-align:left;font-weight:normal;">'
        f"{esc(wording.clean(s.item))}</th>"
        + "".join(f'<td style="{_NUMBER}">{n}</td>' for n in s.counts)
        + f'<td style="{_NUMBER}font-weight:bold;">{esc(signed(s.change))}</td></tr>'
        for s in trend.series)
    table = (f'<table cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;'
             f'font-size:12px;width:100%;"><caption style="text-align:left;{_MUTED}'
             f'padding-bottom:4px;">Articles per ISO week (published, UTC)</caption>'
             f"{head}{body}</table>")
    return _row(heading + image + table, "padding-top:20px;")


def render_html(digest: Digest, chart: ChartImage | None = None) -> str:
    """The digest as a page; ``chart`` places the trend chart above its numbers."""
    rows = [_header(digest)]
    if digest.bursts:
        rows.append(_problems(wording.BURSTS_TITLE, wording.burst_lines(digest)))
    if digest.backfills:
        rows.append(_problems(wording.BACKFILLS_TITLE, wording.backfill_lines(digest)))
    for group in digest.groups:
        rows += _group(group, digest)
    if not digest.groups and not digest.bursts and not digest.backfills:
        rows.append(_row("Nothing new matched the watch list in this period."))
    if digest.trend:
        rows.append(_trend(digest.trend, chart))
    if digest.failing_feeds:
        rows.append(_problems("Feeds failing", wording.feed_problems(digest)))
    if digest.failing_channels:
        rows.append(_problems("Channels failing", wording.channel_problems(digest)))
    rows.append(_footer(digest))
    table = "\n".join(rows)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(wording.subject(digest))}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background-color:#f3f4f6;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="background-color:#f3f4f6;"><tr><td align="center" style="padding:16px 8px;">\n'
        '<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" '
        'style="width:100%;max-width:640px;background-color:#ffffff;border:1px solid #d0d7de;">\n'
        f"{table}\n</table>\n</td></tr></table>\n</body>\n</html>\n"
    )
