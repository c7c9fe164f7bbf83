"""Text folding for matching (design §6), and the way back from folded text to the original.

``normalise`` is Unicode NFKC, casefold, accents removed (NFKD, combining marks dropped), every run
of non-alphanumeric characters made one space, stripped. Invisible format characters (soft hyphen,
zero-width space, BOM, ...) are dropped like marks, so "Corta\\u00adfuegos" stays one word.

After the whole-text NFKC every step is a function of one character, so the work is a character
table applied with C-level string operations: the common case (Latin-1 text with a few curly
quotes and dashes) goes through ``bytes.translate``; anything else through ``str.translate`` on a
lazily filled table. Neither path loops over characters in Python.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from bisect import bisect_right

_SENTINEL = 0xFF          # in a translated Latin-1 byte string: "this text needs the full path"
_CHUNK = 1024             # characters per block when mapping folded offsets back to the original
_WORD = re.compile(r"[^\W_]+")   # a run of letters and digits
_SPACES = re.compile("  +")      # a run of spaces that collapsing shortens
_RUN_CACHE_LIMIT = 4096   # distinct non-Latin-1 runs remembered by the encode error handlers
# Punctuation above U+00FF that news text is full of: curly quotes, dashes, ellipsis.
_COMMON_PUNCTUATION = "\u2019\u201c\u201d\u2014\u2013\u2018\u2026"


class _NeedsFullPath(Exception):
    """A non-Latin-1 character folds to a non-ASCII letter: use the str.translate path."""


def _dropped(char: str) -> bool:
    # Combining marks (accents) and invisible format characters vanish without a trace.
    category = unicodedata.category(char)
    return category[0] == "M" or category == "Cf"


def fold_char(char: str, *, keep_case: bool = False) -> str:
    """One character folded: its letters and digits, a space for anything else, "" if dropped."""
    text = unicodedata.normalize("NFKC", char)
    if not keep_case:
        text = text.casefold()
    text = unicodedata.normalize("NFKD", text)
    return "".join(c if c.isalnum() else " " for c in text if not _dropped(c))


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on first use of each code point."""

    def __init__(self, keep_case: bool) -> None:
        super().__init__()
        self.keep_case = keep_case

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code), keep_case=self.keep_case)
        self[code] = folded
        return folded


class _Folding:
    """The tables of one folding (case-folded, or case kept)."""

    def __init__(self, keep_case: bool) -> None:
        self.keep_case = keep_case
        self.table = _FoldTable(keep_case)
        latin1 = bytearray()
        deleted = bytearray()
        for code in range(256):
            folded = self.table[code]
            if folded == "":
                deleted.append(code)
                latin1.append(0x20)
            elif len(folded) == 1 and folded.isascii():
                latin1.append(ord(folded))
            else:                     # "ß" -> "ss", "æ" stays "æ": rare, take the full path
                latin1.append(_SENTINEL)
        self.latin1 = bytes(latin1)
        self.deleted = bytes(deleted)
        self.deleted_codes = tuple(bytes([code]) for code in deleted)  # for a C-speed test
        self.ascii = {code: self.table[code] for code in range(128)}
        self.runs: dict[str, bytes] = {}
        self.error_name = "armswatch.fold" + (".keep_case" if keep_case else "")
        codecs.register_error(self.error_name, self._fold_run)

    def _fold_run(self, error: UnicodeError) -> tuple[bytes, int]:
        # Called by str.encode("latin-1") for each run of characters above U+00FF.
        if not isinstance(error, UnicodeEncodeError):
            raise error
        run = error.object[error.start:error.end]
        folded = self.runs.get(run)
        if folded is None:
            text = run.translate(self.table)
            if not text.isascii():
                raise _NeedsFullPath
            folded = text.encode("ascii")
            if len(self.runs) >= _RUN_CACHE_LIMIT:
                self.runs.clear()
            self.runs[run] = folded
        return folded, error.end

    def apply(self, text: str) -> str:
        return _collapse(self.prefold(text)[0])

    def prefold(self, text: str) -> tuple[str, bool]:
        """The fold before runs of spaces are made one, and whether it keeps positions.

        Positions are kept (one character of the fold for each character of ``text``) unless
        NFKC changes the text, or a character outside Latin-1 other than common punctuation
        goes through the error handler, or one is dropped or folds to two.
        """
        nfkc = unicodedata.normalize("NFKC", text)
        kept = nfkc is text or nfkc == text
        text = nfkc
        if text.isascii():       # str.translate has a fast path for ASCII to ASCII
            return text.translate(self.ascii), kept
        for char in _COMMON_PUNCTUATION:
            if char in text:     # cheaper than one error-handler call per occurrence
                text = text.replace(char, " ")
        try:
            raw = text.encode("latin-1")        # the usual case: Latin-1 once quotes are gone
        except UnicodeEncodeError:
            kept = False
            try:
                raw = text.encode("latin-1", errors=self.error_name)
            except _NeedsFullPath:
                return text.translate(self.table), False
        if any(map(raw.__contains__, self.deleted_codes)):
            folded = raw.translate(self.latin1, self.deleted)
            kept = False
        else:                    # translate without deletions is twice as fast
            folded = raw.translate(self.latin1)
        if _SENTINEL in folded:
            return text.translate(self.table), False
        return folded.decode("ascii"), kept


def _collapse(text: str) -> str:
    # Runs of two or more spaces are few (after ", " or " — "): splitting at them makes a
    # piece per run, not per word as str.split() would, and each piece keeps at most a space
    # at either end. Twice as fast as replace("  ", " ") until none is left, and than a regex.
    if "  " not in text:
        return text.strip(" ")
    return " ".join(filter(None, [piece.strip(" ") for piece in text.split("  ")]))


_FOLDED = _Folding(keep_case=False)
_KEEP_CASE = _Folding(keep_case=True)


def normalise(text: str) -> str:
    """Fold text for matching: NFKC, casefold, no accents, words separated by single spaces."""
    return _FOLDED.apply(text)


def normalise_mapped(text: str) -> tuple[str, str | None]:
    """``normalise(text)``, and the fold before spaces were collapsed when it keeps positions
    (else None): what ``OffsetMap`` needs to map positions back without folding again."""
    prefolded, kept = _FOLDED.prefold(text)
    return _collapse(prefolded), prefolded if kept else None


def normalise_keep_case(text: str) -> str:
    """As ``normalise`` but keeping letter case: to tell "IBIS" (the system) from "ibis"."""
    return _KEEP_CASE.apply(text)


class OffsetMap:
    """Maps positions in ``normalise(text)`` back to positions in ``text``.

    When the caller passes the folded text (``normalise_mapped``) and folding kept one character
    per character, as for most news in Latin scripts, positions map directly (``_DirectMap``).
    Otherwise the text is cut into blocks at spaces; blocks are folded at C speed, only as far
    as the positions asked for, to learn where each lands in the folded text, and only a block
    that holds a wanted position is mapped character by character. Built only for a field that
    matched, so the hot path never pays for it.
    """

    def __init__(self, text: str, folded: str | None = None,
                 unfolded: str | None = None) -> None:
        self.text = text
        # normalise(text) and its fold before spaces were collapsed, when the caller has them
        # (normalise_mapped): they make the direct map.
        self.folded = folded
        self._unfolded = unfolded
        self._direct: _DirectMap | None = None
        self._direct_tried = False
        self._next = 0                     # where the first block not yet folded starts
        self._length = 0                   # folded length of the blocks folded so far
        self._starts: list[int] = []       # folded start of each non-empty block
        self._blocks: list[tuple[int, int, str]] = []   # (original start, original end, folded)
        self._maps: dict[int, list[int] | None] = {}
        self._words: dict[int, list[tuple[int, int]]] = {}

    def original(self, position: int) -> int:
        """Index in the original text of the character that produced folded ``position``."""
        direct = self._direct_original(position)
        if direct is not None:
            return direct
        self._fold_up_to(position)
        if not self._blocks:
            return 0
        index = max(0, bisect_right(self._starts, position) - 1)
        start, end, folded = self._blocks[index]
        local = min(max(position - self._starts[index], 0), len(folded) - 1)
        found = self._by_words(index, local)
        if found is not None:
            return start + found
        mapping = self._block_map(index)
        if mapping is None:       # folding a block char by char disagreed: estimate instead
            return start + (local * (end - start)) // max(len(folded), 1)
        return start + mapping[local]

    def _by_words(self, index: int, local: int) -> int | None:
        """The usual case, at C speed: the n-th folded word is the n-th word of the original."""
        start, end, folded = self._blocks[index]
        if index not in self._words:
            self._words[index] = [m.span() for m in _WORD.finditer(self.text, start, end)]
        words = self._words[index]
        if len(words) != folded.count(" ") + 1:
            return None
        first = folded.rfind(" ", 0, local) + 1
        last = folded.find(" ", local)
        last = len(folded) if last < 0 else last
        word_start, word_end = words[folded.count(" ", 0, local)]
        if (word_end - word_start != last - first
                or normalise(self.text[word_start:word_end]) != folded[first:last]):
            return None
        return word_start - start + (local - first)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [a, b) of the folded span [start, end), with trailing dropped marks."""
        first = self.original(start)
        last = self.original(max(end - 1, start)) + 1
        while last < len(self.text) and _FOLDED.table[ord(self.text[last])] == "":
            last += 1             # keep a combining accent with its letter
        return first, max(last, first)

    def _direct_original(self, position: int) -> int | None:
        direct, folded = self._direct_map(), self.folded
        if direct is None or folded is None or not 0 <= position < len(folded):
            return None
        found = direct.original(position)
        # A check that costs nothing: the character found folds to the one asked about.
        if found < len(self.text) and direct.unfolded[found] == folded[position] != " ":
            return found
        return None

    def _direct_map(self) -> _DirectMap | None:
        """The fast map, for text whose fold keeps positions (most Latin-script news)."""
        if not self._direct_tried:
            self._direct_tried = True
            if self.folded is not None:
                unfolded = self._unfolded
                if unfolded is None:
                    prefolded, kept = _FOLDED.prefold(self.text)
                    unfolded = prefolded if kept else None
                if unfolded is not None:
                    self._direct = _DirectMap(unfolded)
        return self._direct

    def _fold_up_to(self, position: int) -> None:
        text = self.text
        while self._next < len(text) and (not self._starts or self._length <= position):
            cut = text.find(" ", self._next + _CHUNK)
            start, end = self._next, (len(text) if cut < 0 else cut + 1)
            self._next = end
            folded = normalise(text[start:end])
            if not folded:
                continue
            if self._starts:
                self._length += 1      # the space that joins two blocks
            self._starts.append(self._length)
            self._blocks.append((start, end, folded))
            self._length += len(folded)

    def _block_map(self, index: int) -> list[int] | None:
        if index not in self._maps:
            start, end, folded = self._blocks[index]
            chars, mapping = _fold_with_positions(self.text[start:end])
            self._maps[index] = mapping if chars == folded else None
        return self._maps[index]


class _DirectMap:
    """Folded → original positions when folding kept one character per character.

    Then ``normalise(text)`` is ``unfolded`` with its runs of spaces made one and its ends
    stripped, so a folded position moves only by what the runs before it lost; runs of two or
    more spaces are few (after ", " or " — "), found at C speed, and looked up by bisection.
    """

    def __init__(self, unfolded: str) -> None:
        self.unfolded = unfolded
        self.lead = len(unfolded) - len(unfolded.lstrip(" "))
        self._points: list[int] = []      # folded position just after each shortened run
        self._shifts: list[int] = []      # characters removed before that position
        self._removed = self.lead
        self._runs = _SPACES.finditer(unfolded, self.lead)   # read only as far as needed
        self._done = False

    def original(self, position: int) -> int:
        while not self._done and (not self._points or self._points[-1] <= position):
            run = next(self._runs, None)
            if run is None:
                self._done = True
                break
            self._removed += run.end() - run.start() - 1
            self._points.append(run.end() - self._removed)
            self._shifts.append(self._removed)
        index = bisect_right(self._points, position) - 1
        return position + (self._shifts[index] if index >= 0 else self.lead)


def _fold_with_positions(text: str) -> tuple[str, list[int]]:
    """Fold text as ``normalise`` does, remembering each folded character's source index."""
    out: list[str] = []
    positions: list[int] = []
    pending_space = False
    table = _FOLDED.table
    for index, char in enumerate(text):
        for folded in table[ord(char)]:
            if folded == " ":
                pending_space = bool(out)
                continue
            if pending_space:
                out.append(" ")
                positions.append(index)
                pending_space = False
            out.append(folded)
            positions.append(index)
    return "".join(out), positions
