"""A trend as data (design §15): articles per item per ISO week, with what every rendering says
about it — a sparkline, this week's count and the change from last week. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from storage.trends import WeekCount, week_label

CHART_WEEKS = 12                  # weeks a digest's chart and numbers cover
_BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Series:
    item: str
    counts: tuple[int, ...]       # articles, one per week of the trend, oldest first
    stories: tuple[int, ...] = ()  # the stories they belong to, the same weeks

    @property
    def this_week(self) -> int:
        return self.counts[-1] if self.counts else 0

    @property
    def stories_this_week(self) -> int:
        return self.stories[-1] if self.stories else 0

    @property
    def last_week(self) -> int:
        return self.counts[-2] if len(self.counts) > 1 else 0

    @property
    def change(self) -> int:
        return self.this_week - self.last_week

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Trend:
    mondays: tuple[date, ...]     # the weeks' Mondays (UTC), oldest first; the last is this week
    series: tuple[Series, ...]    # in the order asked for

    @property
    def weeks(self) -> tuple[str, ...]:
        return tuple(week_label(monday) for monday in self.mondays)

    @property
    def this_week(self) -> str:
        return self.weeks[-1] if self.mondays else ""

    def __bool__(self) -> bool:
        return bool(self.series and self.mondays)


def trend_of(counts: Sequence[WeekCount]) -> Trend:
    """The counts of ``storage.trends.weekly_counts`` (items in order, weeks oldest first)."""
    mondays = tuple(sorted({c.monday for c in counts}))
    by_item: dict[str, dict[date, WeekCount]] = {}
    for count in counts:
        by_item.setdefault(count.item, {})[count.monday] = count
    none = {m: WeekCount("", m, 0, 0) for m in mondays}
    return Trend(mondays, tuple(
        Series(item, tuple(weeks.get(m, none[m]).articles for m in mondays),
               tuple(weeks.get(m, none[m]).stories for m in mondays))
        for item, weeks in by_item.items()))


def sparkline(counts: Sequence[int]) -> str:
    """One block character per week, scaled to the largest count. A week with none is the
    lowest block and any article at least the second, so "nothing" and "a little" differ."""
    top = max(counts, default=0)
    last = len(_BARS) - 1
    return "".join(_BARS[0] if n <= 0 else _BARS[max(1, min(last, round(n * last / top)))]
                   for n in counts)


def signed(change: int) -> str:
    """A change as people write it: +3, −2 (a minus sign), ±0."""
    if change > 0:
        return f"+{change}"
    return f"\u2212{-change}" if change < 0 else "\u00b10"


def summary_line(series: Series) -> str:
    """``Mission Firewall ▁▃█  5 this week (+3)``: the one line Slack and the text part give."""
    return (f"{series.item} {sparkline(series.counts)}  {series.this_week} this week "
            f"({signed(series.change)} from last week)")
