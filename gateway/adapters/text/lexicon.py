"""A keyword list read as a lexicon: terms with a kind, the context that ambiguous terms need,
the innocent compounds that are never hits, and patterns for split and reordered wording.

The file format (policies/keywords/README.md) is line based, so a moderation lead can review
it as text: `[block]`, `[review]`, `[context]`, `[cue]` and `[innocent]` start sections; a
line is a term, where `{a|b}` writes alternatives, `A + B` both word orders and
`A ... B` (`A ...12 B`) the two parts within 8 (12) characters of each other in either order.
Lines before the first section are `[block]` terms: lists written before sections keep
their meaning (the policy's thresholds alone decide).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from gateway.domain.errors import ConfigError

Kind = Literal["block", "review", "context"]
KINDS: tuple[Kind, ...] = ("block", "review", "context")
_KIND: dict[str, Kind] = {kind: kind for kind in KINDS}
SECTIONS = (*KINDS, "cue", "innocent")
# Characters allowed between the two parts of a proximity pattern when the line says none.
DEFAULT_GAP = 8
MAX_GAP = 64
# One line may not expand past this (a typo in braces must not build a huge automaton).
MAX_FORMS_PER_LINE = 5000
MAX_ORDER_WORDS = 4

_SPECIAL = re.compile(r"[\[{}+.…]")  # a line without these is a plain term
_SECTION = re.compile(r"^\[([a-z]+)\]$")
_NEAR = re.compile(r"\s+(?:\.\.\.|…)(\d*)\s+")
_ORDER = re.compile(r"\s+\+\s+")
_CHOICE = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class Pattern:
    """Two parts within `gap` characters of each other, in either order (代开 … 发票)."""

    written: str
    kind: Kind
    first: tuple[str, ...]  # the forms of each part
    second: tuple[str, ...]
    gap: int


@dataclass(frozen=True, slots=True)
class Lexicon:
    name: str
    terms: tuple[tuple[str, Kind], ...] = ()  # every form, expanded, with its kind
    cues: tuple[str, ...] = ()  # words that make a context term a hit
    innocent: tuple[str, ...] = ()  # compounds in which no term of this list is a hit
    patterns: tuple[Pattern, ...] = ()
    lines: dict[str, int] = field(default_factory=dict)  # lines written per section

    def counts(self) -> dict[str, int]:
        """Lines as written per section, and `<kind>_forms`: what they expand to."""
        forms = Counter(kind for _, kind in self.terms)
        forms.update(p.kind for p in self.patterns)
        counts = {section: self.lines.get(section, 0) for section in SECTIONS}
        counts.update({f"{kind}_forms": forms[kind] for kind in KINDS})
        return counts


def parse_lexicon(name: str, lines: Iterable[str], allowed: Iterable[str] = ()) -> Lexicon:
    """`lines` without comments or blank lines (term_lists.read_terms); `allowed`: the
    `<list>.allow.txt` beside it, read as more [innocent] lines."""
    section = "block"
    written: Counter[str] = Counter()
    terms: list[tuple[str, Kind]] = []
    cues: list[str] = []
    innocent: list[str] = []
    patterns: list[Pattern] = []
    for line in itertools.chain(lines, ("[innocent]", *allowed) if allowed else ()):
        if section == "block" and not _SPECIAL.search(line):
            terms.append((line, "block"))  # the usual line, quickly (lists run to millions)
            written[section] += 1
            continue
        header = _SECTION.match(line) if line.startswith("[") else None
        if header:
            section = header.group(1)
            if section not in SECTIONS:
                raise ConfigError(f"{name}: unknown section [{section}] ({', '.join(SECTIONS)})")
            continue
        written[section] += 1
        near = _NEAR.split(line) if "..." in line or "…" in line else [line]
        if len(near) > 1:
            if section not in KINDS or len(near) != 3:
                raise ConfigError(f"{name}: `{line}`: one `...` between two parts, in a kind")
            gap = int(near[1]) if near[1] else DEFAULT_GAP
            if gap > MAX_GAP:
                raise ConfigError(f"{name}: `{line}`: at most {MAX_GAP} characters apart")
            first, second = expand(name, near[0]), expand(name, near[2])
            patterns.append(Pattern(line, _KIND[section], first, second, gap))
            continue
        forms = expand(name, line)
        if section == "cue":
            cues += forms
        elif section == "innocent":
            innocent += forms
        else:
            terms += [(form, _KIND[section]) for form in forms]
    own_cues = set(cues).intersection(form for form, kind in terms if kind == "context")
    if own_cues:  # such a term would confirm itself: a block term in all but name
        raise ConfigError(f"{name}: context terms also written as cues: {sorted(own_cues)}")
    return Lexicon(name, tuple(terms), tuple(cues), tuple(innocent), tuple(patterns), dict(written))


def expand(name: str, line: str) -> tuple[str, ...]:
    """Every form a line writes: `{a|b}` alternatives, `A + B` each word order."""
    if "{" not in line and "}" not in line and "+" not in line:
        return (line,)  # most lines: a plain term
    words = _ORDER.split(line)
    if len(words) > MAX_ORDER_WORDS:
        raise ConfigError(f"{name}: `{line}`: at most {MAX_ORDER_WORDS} words to reorder")
    choices = [_choices(name, line, word) for word in words]
    total = math.factorial(len(words)) * math.prod(len(options) for options in choices)
    if total > MAX_FORMS_PER_LINE:
        raise ConfigError(f"{name}: `{line}` expands past {MAX_FORMS_PER_LINE} forms")
    forms: dict[str, None] = {}  # ordered and without repeats
    for order in itertools.permutations(choices):
        for parts in itertools.product(*order):
            forms["".join(parts)] = None
    return tuple(forms)


def _choices(name: str, line: str, word: str) -> list[str]:
    """The forms of one word: the product of its `{a|b|c}` groups."""
    pieces = _CHOICE.split(word)  # literal, options, literal, options, ..., literal
    if any("{" in p or "}" in p for p in pieces[::2]):
        raise ConfigError(f"{name}: `{line}`: unbalanced braces")
    groups = [
        [piece] if index % 2 == 0 else [option.strip() for option in piece.split("|")]
        for index, piece in enumerate(pieces)
    ]
    return ["".join(parts) for parts in itertools.product(*groups)]
