"""The filters of `armswatch hits`, as a person types them, resolved to what is stored.

A misspelt filter must never look like "no coverage": an item or language is matched ignoring
case and accents ("Mérida Initiative" is "Merida Initiative", "español" is "es"), and one that
means nothing known is refused with what it might have meant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from difflib import get_close_matches

from monitor.matching import normalise
from monitor.settings import parse_duration

# The names people type for the languages of our feeds, by ISO 639-1 code, as shown in messages;
# any other code is accepted when articles in it are stored.
LANGUAGE_NAMES = {"en": ("English", "inglés"), "es": ("Spanish", "español", "castellano")}
# A --since date may be a little ahead of UTC (a reader in UTC+14 writing today's date).
_AHEAD = timedelta(days=1)


class FilterError(ValueError):
    """A filter that means nothing stored or known; the message says what might be meant."""


def resolve_item(name: str, known: Iterable[str]) -> str:
    """The known item `name` means (same words, ignoring case, accents and punctuation)."""
    by_key: dict[str, str] = {}
    for item in known:
        by_key.setdefault(normalise(item), item)
    wanted = normalise(name)
    if wanted in by_key:
        return by_key[wanted]
    if not by_key:
        raise FilterError(f'no watch item is named "{name}": no hits are stored yet and the '
                          "watch list cannot be read")
    picks = [by_key[key] for key in _alike(wanted, by_key)]
    hint = (f"did you mean {_either(picks)}?" if picks
            else f"the items are: {', '.join(sorted(by_key.values(), key=str.casefold))}")
    raise FilterError(f'no watch item is named "{name}"; {hint}')


def resolve_feed(name: str, known: Iterable[str]) -> str:
    """The stored feed `name` means (same words, ignoring case, accents and punctuation)."""
    by_key = {normalise(feed): feed for feed in known}
    wanted = normalise(name)
    if wanted in by_key:
        return by_key[wanted]
    picks = [by_key[key] for key in _alike(wanted, by_key)]
    hint = (f"did you mean {_either(picks)}?" if picks
            else f"the feeds are: {', '.join(sorted(by_key.values(), key=str.casefold))}"
            if by_key else "no feed has been polled yet")
    raise FilterError(f'no feed is named "{name}"; {hint}')


def resolve_language(text: str, stored: Callable[[], Sequence[str]]) -> str:
    """The language code `text` means: a code or a name (English, español, …) of a language
    of our feeds, or the code of a language stored. `stored` is asked only when needed."""
    by_key = {normalise(code): code for code in LANGUAGE_NAMES}
    labels = {normalise(code): code for code in LANGUAGE_NAMES}   # what a suggestion shows
    for code, names in LANGUAGE_NAMES.items():
        by_key.update((normalise(name), code) for name in names)
        labels.update((normalise(name), f"{name} ({code})") for name in names)
    wanted = normalise(text)
    if wanted in by_key:
        return by_key[wanted]
    codes = {normalise(code): code for code in stored()}
    if wanted in codes:
        return codes[wanted]
    labels.update({key: code for key, code in codes.items() if key not in labels})
    picks = [labels[key] for key in _alike(wanted, labels)]
    hint = f"did you mean {_either(picks)}? " if picks else ""
    choices = ", ".join(sorted(set(LANGUAGE_NAMES) | set(codes.values())))
    spelt = ", ".join(name for names in LANGUAGE_NAMES.values() for name in names)
    raise FilterError(f'"{text}" is not the language of any stored hit; {hint}'
                      f"{'U' if hint else 'u'}se a code ({choices}) or a name ({spelt})")


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """'7d', '2w' → that long ago; '2026-11-01' or a full ISO time → that moment (UTC when no
    zone is given). FilterError for anything else, or a moment out of range."""
    now = now or datetime.now(UTC)
    try:
        return now - parse_duration(text)
    except ValueError as exc:
        if text.strip()[:1].isdigit() and not any(c in text for c in "-:T"):
            raise FilterError(str(exc)) from None   # meant as a duration: say what is wrong
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FilterError(f'"{text}" is neither a duration (12h, 7d, 2w) nor a date '
                          "(2026-11-01)") from None
    if len(text.strip()) <= 10:
        moment = datetime.combine(date.fromisoformat(text.strip()), time())
    try:
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise FilterError(f'"{text}" is out of range') from None
    if moment > now + _AHEAD:
        raise FilterError(f'"{text}" is in the future')
    return moment


def _alike(wanted: str, by_key: dict[str, str]) -> list[str]:
    """Keys that contain `wanted` as words, then those spelt closest to it (at most three)."""
    within = [key for key in by_key if wanted and f" {wanted} " in f" {key} "]
    close = get_close_matches(wanted, list(by_key), n=3, cutoff=0.6)
    return list(dict.fromkeys(within + close))[:3]


def _either(keys: Sequence[str]) -> str:
    quoted = [f'"{key}"' for key in keys]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
