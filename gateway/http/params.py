"""Numbers in paths and query strings: ASCII digits only.

`str.isdigit()` also accepts "²" and "٣" (which `int()` refuses, or reads as 3): a 500, or
another item than the one named. Only 0-9, at most 18 of them (fits a BIGINT)."""

from __future__ import annotations

import re

_ASCII_NUMBER = re.compile(r"[0-9]{1,18}")


def ascii_number(raw: str) -> int | None:
    """The number `raw` spells in ASCII digits, or None."""
    return int(raw) if _ASCII_NUMBER.fullmatch(raw) else None
