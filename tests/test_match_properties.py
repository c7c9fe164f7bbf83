"""Properties of normalisation and matching, checked on generated text (hypothesis)."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.matching.normalise import normalise, normalise_keep_case
from monitor.matching.watchlist import WatchList
from monitor.settings.config import WatchItem

ACCENTED = {"a": "áàâä", "e": "éèêë", "i": "íìîï", "o": "óòôö", "u": "úùûü", "n": "ñ", "c": "ç"}

word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8)
filler = st.lists(st.sampled_from(["el", "la", "de", "news", "report", "año", "said", "¿qué?",
                                   "—", "2025", "U.S.", "«cita»", "and", "x"]), max_size=8)
separator = st.sampled_from([" ", ", ", " — ", "\n", " (", ") ", ": ", "… ", " «", "» "])


@st.composite
def terms(draw: st.DrawFn) -> str:
    """A lower- or mixed-case term of one to three words, sometimes hyphenated."""
    words = draw(st.lists(word, min_size=1, max_size=3))
    joiners = draw(st.lists(st.sampled_from([" ", "-"]), min_size=len(words) - 1,
                            max_size=len(words) - 1))
    term = words[0] + "".join(j + w for j, w in zip(joiners, words[1:], strict=True))
    return term.capitalize() if draw(st.booleans()) else term


@st.composite
def case_and_accent_changes(draw: st.DrawFn, text: str) -> str:
    out = []
    for char in text:
        choice = draw(st.integers(0, 4))
        if choice == 1:
            char = char.upper()
        elif choice == 2:
            char = char.lower()
        elif choice == 3 and char.lower() in ACCENTED:
            char = draw(st.sampled_from(ACCENTED[char.lower()]))
        elif choice == 4 and char.isalpha():
            char = unicodedata.normalize("NFD", char) + "\u0301"     # a combining accent on top
        out.append(char)
    return "".join(out)


def watchlist_of(term: str) -> WatchList:
    return WatchList([WatchItem(name="item", kind="program", terms=(term,))])


def reference_normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(c for c in text if unicodedata.category(c)[0] != "M"
                   and unicodedata.category(c) != "Cf")
    return re.sub(r"[\W_]+", " ", text).strip()


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    kept = normalise_keep_case(text)
    assert normalise_keep_case(kept) == kept


@given(st.text())
def test_normalise_follows_the_definition(text: str) -> None:
    assert normalise(text) == reference_normalise(text)


@given(st.text(alphabet=st.characters(max_codepoint=0x2FFF)))
def test_normalise_keeps_words_and_single_spaces(text: str) -> None:
    folded = normalise(text)
    assert "  " not in folded and folded == folded.strip()
    assert all(w.isalnum() for w in folded.split(" ") if w)


@settings(max_examples=150)
@given(terms(), filler, filler, separator, separator, st.data())
def test_matching_ignores_case_and_accents(term: str, before: list[str], after: list[str],
                                           left: str, right: str, data: st.DataObject) -> None:
    text = " ".join(before) + left + term + right + " ".join(after)
    changed = data.draw(case_and_accent_changes(text))
    wl = watchlist_of(term)
    found = [(m.item, m.term, m.field) for m in wl.match(text, "")]
    assert found == [("item", term, "title")]
    assert [(m.item, m.term, m.field) for m in wl.match(changed, "")] == found


@settings(max_examples=150)
@given(terms(), word, word, st.sampled_from(["both", "before", "after"]))
def test_a_term_inside_a_longer_word_never_matches(term: str, prefix: str, suffix: str,
                                                   where: str) -> None:
    # A hyphen in the text is a word break, so a hyphenated term is glued in its joined form.
    glued = term.replace("-", "")
    text = (prefix if where != "after" else "") + glued + (suffix if where != "before" else "")
    assert watchlist_of(term).match(text, text, text) == []
    assert watchlist_of(term).match(f"({term})", "") != []      # and the term alone does


@settings(max_examples=100)
@given(st.lists(word, min_size=1, max_size=3), filler)
def test_hyphenated_terms_match_joined_and_spaced(words: list[str], rest: list[str]) -> None:
    if len(words) == 1:
        words = [words[0], words[0]]
    wl = watchlist_of("-".join(words))
    tail = " ".join(rest)
    for spelled in ("".join(words), " ".join(words), "-".join(words).upper()):
        assert [m.term for m in wl.match(f"{spelled} {tail}", "")] == ["-".join(words)]
