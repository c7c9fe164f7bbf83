"""Properties the existing property tests leave out (test_match_properties.py, test_parse.py):
accented and capitalised *terms* (not only text), words glued to a term with accented or
non-Latin letters, and canonical URLs of realistic shape with tracking parameters added.
"""

from __future__ import annotations

import random
import unicodedata
from urllib.parse import parse_qsl, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from monitor.feeds.urls import canonical_url
from monitor.matching.watchlist import WatchList
from monitor.settings.config import WatchItem

LETTERS = "abcdefghijklmnopqrstuvwxyzáéíóúñüç"
word = st.text(alphabet=LETTERS, min_size=2, max_size=8)
# Letters that can be glued to a term: accented, ligatures, ß (casefolds to "ss"), digits.
glue = st.text(alphabet=LETTERS + "àèßøæœ0123456789", min_size=1, max_size=4)
TRACKING = ["utm_source=rss", "UTM_Medium=feed", "utm_campaign=a%20b", "fbclid=IwAR0", "gclid=",
            "mc_cid=1", "_ga=2.1"]


def watchlist_of(term: str) -> WatchList:
    return WatchList([WatchItem(name="item", kind="program", terms=(term,))])


def without_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")


@settings(max_examples=150)
@given(st.lists(word, min_size=1, max_size=3), st.booleans())
def test_an_accented_term_matches_its_text_in_any_case_with_or_without_accents(
        words: list[str], capitalised: bool) -> None:
    term = " ".join(words)
    term = term.capitalize() if capitalised else term
    wl = watchlist_of(term)
    plain = without_accents(term)
    for spelled in (term, plain, plain.upper(), term.upper(), term.lower(),
                    unicodedata.normalize("NFD", term), unicodedata.normalize("NFC", term)):
        assert [m.term for m in wl.match(f"«{spelled}», dijo", "")] == [term], spelled


@settings(max_examples=150)
@given(st.lists(word, min_size=1, max_size=2), glue, glue,
       st.sampled_from(["both", "before", "after"]))
def test_a_term_glued_to_other_letters_never_matches(words: list[str], prefix: str,
                                                     suffix: str, where: str) -> None:
    term = " ".join(words)
    text = (prefix if where != "after" else "") + term + (suffix if where != "before" else "")
    assert watchlist_of(term).match(text, text, text) == []


@settings(max_examples=200)
@given(urls())
def test_canonicalising_a_real_url_twice_changes_nothing(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@settings(max_examples=200)
@given(urls().filter(lambda u: "?" not in u and "#" not in u),
       st.lists(st.sampled_from(TRACKING), min_size=1, max_size=3),
       st.lists(st.sampled_from(["page=2", "id=7", "q=misi%C3%B3n"]), max_size=2, unique=True),
       st.randoms(use_true_random=False))
def test_tracking_parameters_never_change_the_canonical_url(
        url: str, tracking: list[str], kept: list[str], rng: random.Random) -> None:
    mixed = tracking + kept
    rng.shuffle(mixed)
    canonical = canonical_url(f"{url}?{'&'.join(mixed)}")
    assert canonical == canonical_url(f"{url}?{'&'.join(p for p in mixed if p in kept)}")
    assert [name for name, _ in parse_qsl(urlsplit(canonical).query)] == [
        p.split("=")[0] for p in mixed if p in kept]
    assert canonical_url(canonical) == canonical
