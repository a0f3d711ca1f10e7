"""One normal form for list terms and for the text screening reads (OCR, subtitles, titles,
QR payloads), so 賭 場, 赌-场, ＢＥＴ, b3t, bеt (Cyrillic е) and 赌ㅤ场 (a Hangul filler) meet
their list entry.

Both sides go through `normalise`: NFKC (full-width to half-width), case folded, traditional
to simplified (OpenCC), invisible and filler code points dropped, non-CJK look-alike letters
folded onto Latin (TR39, `confusables.py`), common digit and letter substitutions, and every
character that is not a letter or a digit dropped (spaces, punctuation, separators).
`normalise_with_map` also says where each normalised character came from, so a hit can be
shown in the original text.
"""

from __future__ import annotations

import functools
import unicodedata

import opencc

from gateway.adapters.text.confusables import fold_table, fold_text

# Look-alike characters writers use to dodge filters, folded both ways onto one form (the
# same fold on terms and text only makes the classes coarser, never misses).
_LOOKALIKES = {"i": "l", "v": "u",
               # What OCR reads for a character drawn in another script or font (賭 read as 睹).
               "睹": "赌"}  # fmt: skip
# Digits written for letters (b3t, 8o6o): folded only inside a run of Latin letters and
# digits that has a letter. A number alone stays a number: 第12837句 must not read as
# 第l2bet句 and meet the casino brand 12bet, nor a price or a date any Latin term.
_DIGITS_FOR_LETTERS = str.maketrans(
    {"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
)
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
# Unicode categories that never carry meaning for matching: punctuation, separators,
# symbols, marks and controls.
_DROPPED = ("P", "Z", "S", "M", "C")


@functools.cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@functools.cache
def _fold() -> dict[int, str | None]:
    """Invisible code points, look-alike letters and digit substitutions in one table."""
    lookalikes = str.maketrans(_LOOKALIKES)
    table = {
        cp: None if to is None else to.translate(lookalikes) for cp, to in fold_table().items()
    }
    table.update(lookalikes)
    return table


@functools.cache
def _substitutions() -> dict[int, str]:
    return str.maketrans(_LOOKALIKES)


def normalise(text: str) -> str:
    return normalise_with_map(text)[0]


def normalise_many(terms: list[str]) -> list[str]:
    """`normalise` for a whole list at once (a million terms load in seconds): NFKC, case
    and OpenCC run once over the joined list, not once per term."""
    joined = "\n".join(term.replace("\n", " ") for term in terms)
    folded = _t2s().convert(_nfkc_folded(joined)).split("\n")
    if len(folded) != len(terms):  # a conversion that ate a line break: term by term
        return [normalise(term) for term in terms]
    return [_strip(term) for term in folded]


def _strip(folded: str) -> str:
    """A term after _nfkc_folded and OpenCC: substitutions, and what is not a letter or a
    digit dropped."""
    if folded.isalnum():  # most terms: letters and digits only (checked in C)
        return _digits_in_words(folded.translate(_substitutions()))
    table = _fold()
    return _digits_in_words(
        "".join(
            table.get(ord(char), char) or ""
            for char in folded
            if ord(char) in table or unicodedata.category(char)[0] not in _DROPPED
        )
    )


def _digits_in_words(text: str) -> str:
    """Digits folded to the letters they stand for, in each run of Latin letters and digits
    that holds a letter; one for one, so positions keep their origins."""
    if not any(char in _LETTERS for char in text):
        return text
    out: list[str] = []
    start = 0
    while start < len(text):
        end = start
        while end < len(text) and text[end] in _WORD_CHARS:
            end += 1
        if end == start:
            out.append(text[start])
            start += 1
            continue
        run = text[start:end]
        out.append(run.translate(_DIGITS_FOR_LETTERS) if _LETTERS.intersection(run) else run)
        start = end
    return "".join(out)


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """The normal form, and for each of its characters the index in `text` it came from."""
    chars: list[str] = []
    origin: list[int] = []
    table = _fold()
    for index, char in enumerate(text):
        # NFKC may turn one character into several (㈱ -> (株)); each keeps its origin.
        # Look-alikes fold before case (see _nfkc_folded).
        for nfkc in unicodedata.normalize("NFKC", char):
            for folded in (table.get(ord(nfkc), nfkc) or "").casefold():
                chars.append(folded)
                origin.append(index)
    simplified = _to_simplified("".join(chars))
    kept: list[str] = []
    kept_origin: list[int] = []
    for char, source in zip(simplified, origin, strict=True):
        if ord(char) in table:
            to = table[ord(char)] or ""  # a fold may give several letters (ꜳ -> aa)
            kept.extend(to)
            kept_origin.extend([source] * len(to))
        elif unicodedata.category(char)[0] not in _DROPPED:
            kept.append(char)
            kept_origin.append(source)
    return _digits_in_words("".join(kept)), kept_origin


def skeleton(text: str) -> str:
    """Text for finding links: NFKC, case, invisible code points dropped and look-alike
    letters folded onto Latin, but punctuation and digits kept (`bеt365。com` with a
    Cyrillic е -> `bet365。com`)."""
    return _nfkc_folded(text)


def _nfkc_folded(text: str) -> str:
    """NFKC, look-alikes folded, then case: the fold comes first because TR39 maps capitals
    (Greek Τ looks like T, its lower case τ like no Latin letter)."""
    return fold_text(fold_text(unicodedata.normalize("NFKC", text)).casefold())


def _to_simplified(text: str) -> str:
    """OpenCC over the whole text (phrases convert better), character by character when a
    phrase conversion changed the length (the origin map needs one-to-one)."""
    converted = str(_t2s().convert(text))
    if len(converted) == len(text):
        return converted
    return "".join(
        str(_t2s().convert(char)) if len(_t2s().convert(char)) == 1 else char for char in text
    )
