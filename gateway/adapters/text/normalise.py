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
     "7": "t", "8": "b", "9": "g", "v": "u"}
)  # fmt: skip
# Unicode categories that never carry meaning for matching: punctuation, separators,
# symbols, marks and controls.
_DROPPED = ("P", "Z", "S", "M", "C")


@functools.cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    return normalise_with_map(text)[0]


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
