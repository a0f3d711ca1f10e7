"""Which code points text screening drops or folds before matching: invisible and filler
characters, and letters that look like Latin ones (Cyrillic е, Greek ο, Cherokee Ꭺ, small
capitals, accented letters) folded onto the Latin letter they imitate.

Look-alikes come from Unicode TR39's confusables.txt as shipped by `confusable-homoglyphs`
(nothing fetched). Only letters and digits outside the CJK blocks are folded: a Chinese,
Japanese or Korean character never changes, so ordinary CJK text cannot start to match.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from importlib import resources

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) plus the braille blank:
# what renders as nothing, used to split a term so that it no longer matches. The Hangul
# fillers (U+115F, U+1160, U+3164, U+FFA0) are letters (Lo), so dropping punctuation alone
# kept them.
INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, (non-)joiners, direction marks
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates
    (0x2800, 0x2800),  # braille pattern blank
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (BOM)
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors 17-256
)

# Blocks whose characters are never folded (Hangul jamo, CJK radicals to Yi, Hangul
# syllables, compatibility ideographs and forms, half- and full-width forms, kana
# supplements, the supplementary ideograph planes).
CJK_RANGES = (
    (0x1100, 0x11FF),
    (0x2E80, 0xA4CF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x16FE0, 0x18AFF),
    (0x1B000, 0x1B2FF),
    (0x20000, 0x3FFFF),
)

# Non-CJK code points looked at for accents and digits besides TR39's own entries: the
# alphabetic blocks below the CJK ones and the Latin/Cyrillic/Cherokee extensions after Yi.
_SCANNED = (range(0x80, 0x2E80), range(0xA4D0, 0xAC00))


_SMALL_CAPITAL = "LATIN LETTER SMALL CAPITAL "


def is_cjk(code_point: int) -> bool:
    return any(low <= code_point <= high for low, high in CJK_RANGES)


def invisible_code_points() -> list[int]:
    return [cp for low, high in INVISIBLE_RANGES for cp in range(low, high + 1)]


@functools.cache
def latin_lookalikes() -> dict[str, str]:
    """TR39: each non-ASCII letter or digit that is confusable with ASCII letters or digits,
    and those (Cyrillic е -> e, Greek Ο -> O, ꜳ -> aa), plus the small letters of such
    capitals."""
    data = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text()
    table: dict[str, list[dict[str, str]]] = json.loads(data)
    folds: dict[str, str] = {}
    for char, alternatives in table.items():
        if len(char) != 1 or char.isascii() or is_cjk(ord(char)):
            continue
        if unicodedata.category(char)[0] not in "LN":  # symbols and marks stay dropped
            continue
        ascii_forms = [a["c"] for a in alternatives if a["c"].isascii() and a["c"].isalnum()]
        if ascii_forms:
            folds[char] = ascii_forms[0]
    # Matching ignores case, so a small letter whose capital imitates a Latin capital is read
    # as that letter too (Greek τ for Τ, Cyrillic к for К): TR39 compares shapes, not cases.
    for char, to in list(folds.items()):
        small = char.lower()
        if len(small) == 1 and small != char and small not in folds and to.isalpha():
            folds[small] = to.lower()
    return folds


def fold(char: str) -> str:
    """One non-CJK letter or digit in its folded form: accents off, TR39 look-alikes onto
    ASCII, decimal digits of any script onto 0-9, lower case. Unchanged when none applies."""
    if char.isascii() or is_cjk(ord(char)):
        return char
    category = unicodedata.category(char)
    if category == "Nd":
        return str(unicodedata.digit(char))
    if category[0] not in "LN":
        return char
    lookalikes = latin_lookalikes()
    if char in lookalikes:
        return lookalikes[char].casefold()
    small_capital = unicodedata.name(char, "").removeprefix(_SMALL_CAPITAL)
    if len(small_capital) == 1:  # ʙᴇᴛ: TR39 leaves most small capitals out
        return small_capital.casefold()
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    if not base or base == char:
        return char
    return "".join(lookalikes.get(c, c) for c in base).casefold()


@functools.cache
def fold_table() -> dict[int, str | None]:
    """str.translate table: invisible code points to nothing, foldable letters and digits to
    their folded form (only entries that change something)."""
    table: dict[int, str | None] = dict.fromkeys(invisible_code_points())
    candidates = {cp for block in _SCANNED for cp in block}
    candidates.update(ord(char) for char in latin_lookalikes())
    for cp in sorted(candidates):
        if cp in table or is_cjk(cp):
            continue
        char = chr(cp)
        folded = fold(char)
        if folded != char and folded.isalnum():
            table[cp] = folded
    return table


@functools.cache
def _foldable() -> re.Pattern[str]:
    """Characters that may need folding: not ASCII, not CJK, or invisible. A class of a few
    ranges, so the regex engine skips ordinary Chinese and English text at C speed (a class
    of every table entry is thousands of ranges, scanned per character)."""
    invisible = invisible_code_points()
    plain = [(0, 0x7F), *CJK_RANGES]
    kept: list[tuple[int, int]] = []  # ASCII and CJK minus the invisible code points
    for low, high in plain:
        start = low
        for cp in (p for p in invisible if low <= p <= high):
            if start < cp:
                kept.append((start, cp - 1))
            start = cp + 1
        if start <= high:
            kept.append((start, high))
    return re.compile(
        "[^" + "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in kept) + "]"
    )


def fold_text(text: str) -> str:
    """`text` with fold_table applied (invisible code points dropped, look-alikes folded)."""
    table = fold_table()
    return _foldable().sub(lambda m: _apply(table, m.group()), text)


def _apply(table: dict[int, str | None], char: str) -> str:
    return table.get(ord(char), char) or ""
