"""One normal form for list terms and for the text screening reads (OCR, subtitles, titles),
so 賭 場, 赌-场, ＢＥＴ and b3t meet their list entry.

Both sides go through `normalise`: NFKC (full-width to half-width), case folded, traditional
to simplified (OpenCC), common digit and letter substitutions, and every character that is not
a letter or a digit dropped (spaces, punctuation, separators). `normalise_with_map` also says
where each normalised character came from, so a hit can be shown in the original text.
"""

from __future__ import annotations

import functools
import unicodedata

import opencc

# Look-alike characters writers use to dodge filters, folded both ways onto one form (the
# same fold on terms and text only makes the classes coarser, never misses).
_LOOKALIKES = str.maketrans(
    {"0": "o", "1": "l", "i": "l", "|": "l", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s",
     "7": "t", "8": "b", "9": "g", "v": "u",
     # What OCR reads for a character drawn in another script or font (賭 read as 睹).
     "睹": "赌"}
)  # fmt: skip
# Unicode categories that never carry meaning for matching: punctuation, separators,
# symbols, marks and controls.
_DROPPED = ("P", "Z", "S", "M", "C")


@functools.cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    return normalise_with_map(text)[0]


def normalise_many(terms: list[str]) -> list[str]:
    """`normalise` for a whole list at once (a million terms load in seconds): NFKC, case
    and OpenCC run once over the joined list, not once per term."""
    joined = "\n".join(term.replace("\n", " ") for term in terms)
    folded = _t2s().convert(unicodedata.normalize("NFKC", joined).casefold()).split("\n")
    if len(folded) != len(terms):  # a conversion that ate a line break: term by term
        return [normalise(term) for term in terms]
    return [_strip(term) for term in folded]


def _strip(folded: str) -> str:
    if folded.isalnum():  # most terms: letters and digits only (checked in C)
        return folded.translate(_LOOKALIKES)
    return "".join(
        char.translate(_LOOKALIKES)
        for char in folded
        if unicodedata.category(char)[0] not in _DROPPED
    )


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """The normal form, and for each of its characters the index in `text` it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        # NFKC may turn one character into several (㈱ -> (株)); each keeps its origin.
        for folded in unicodedata.normalize("NFKC", char).casefold():
            chars.append(folded)
            origin.append(index)
    simplified = _to_simplified("".join(chars))
    kept: list[str] = []
    kept_origin: list[int] = []
    for char, source in zip(simplified, origin, strict=True):
        if unicodedata.category(char)[0] in _DROPPED:
            continue
        kept.append(char.translate(_LOOKALIKES))
        kept_origin.append(source)
    return "".join(kept), kept_origin


def _to_simplified(text: str) -> str:
    """OpenCC over the whole text (phrases convert better), character by character when a
    phrase conversion changed the length (the origin map needs one-to-one)."""
    converted = str(_t2s().convert(text))
    if len(converted) == len(text):
        return converted
    return "".join(
        str(_t2s().convert(char)) if len(_t2s().convert(char)) == 1 else char for char in text
    )
