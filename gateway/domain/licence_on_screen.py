"""The licence number a video shows on screen (clause 3.1.10.1): read in its opening and
closing seconds and compared with the `licence_number` the customer declared. A different
number on screen sends the video to a human; none shown says nothing either way."""

from __future__ import annotations

import re
import unicodedata

# A licence cue (许可证, 許可證, 证号, AVSP), a few separators, then the number itself.
_SHOWN = re.compile(
    r"(?:许可证|許可證|证号|證號|avsp)(?:号|號|编号|編號)?\s*[:：]?\s*"
    r"([0-9a-z][0-9a-z-]{3,30}[0-9a-z])",
    re.IGNORECASE,
)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _bare(number: str) -> str:
    """A number compared without its separators or case (0108-2026 is 01082026)."""
    return re.sub(r"[^0-9a-z]", "", _folded(number))


def shown_numbers(text: str) -> list[str]:
    return [match.group(1) for match in _SHOWN.finditer(_folded(text))]


def differs(declared: str, shown: str) -> bool:
    return _bare(declared) != _bare(shown)
