"""Aho-Corasick over every keyword list at once (pyahocorasick): one pass over a text finds
each list's terms, cues, innocent compounds and pattern parts, in normal form on both sides;
then the list's rules (lexicon.py) decide which are hits:

- `block` and `review` terms are hits unless inside one of the list's innocent compounds;
- `context` terms only when the same text also holds a cue, another hit of the list or
  another of its context terms;
- a pattern when its two parts are within its gap of each other, in either order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import ahocorasick

from gateway.adapters.text.lexicon import Kind, Lexicon, Pattern, parse_lexicon
from gateway.adapters.text.normalise import normalise_many, normalise_with_map
from gateway.adapters.text.term_lists import TermList
from gateway.domain.errors import ConfigError

# Hits reported per text: a line that is nothing but terms must not flood the decision.
MAX_HITS_PER_TEXT = 20
# Occurrences of one pattern part looked at per text (pairs are checked each with each).
MAX_PART_OCCURRENCES = 64
# A confirmed context term weighs as a block term; a review term weighs less, so a review
# term inside a longer block term is one hit, but a block term inside a review term is not.
_RANK = {"block": 2, "context": 2, "review": 1}
# Roles a form may share with a term of its list (游戏 a cue and part of a block term).
_UNCHECKED = ("cue", "part")


@dataclass(frozen=True, slots=True)
class TermHit:
    list_name: str
    term: str  # the form the list writes (expanded), or the pattern's line
    text: str  # the original text it was found in
    normalised: str  # that text in normal form
    span: tuple[int, int]  # where the match sits in `text` (start, end)
    kind: Kind = "block"

    @property
    def matched(self) -> str:
        """The original characters that matched (evidence), not their normal form."""
        return self.text[self.span[0] : self.span[1]]


# What one normal form means to one list: (list, role, term, pattern, side). The role is a
# Kind, "cue", "innocent" or "part" (one side of the pattern that `pattern` indexes in
# KeywordMatcher._patterns). A plain tuple: a list may hold millions.
_Owner = tuple[str, str, str, int, int]


@dataclass
class _Found:
    """One list's occurrences in one text (normal-form positions, end exclusive)."""

    terms: list[tuple[int, int, str, Kind]] = field(default_factory=list)
    innocent: list[tuple[int, int]] = field(default_factory=list)
    cue: bool = False
    parts: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)

    def innocent_at(self, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.innocent)


class KeywordMatcher:
    def __init__(self, lists: Mapping[str, TermList]) -> None:
        self.lists = dict(lists)
        self.lexicons: dict[str, Lexicon] = {
            name: parse_lexicon(name, lst.terms, lst.allowed) for name, lst in lists.items()
        }
        self._patterns: list[Pattern] = []
        owners: list[tuple[str, _Owner]] = []
        for name, lexicon in self.lexicons.items():
            owners += [(form, (name, kind, form, -1, 0)) for form, kind in lexicon.terms]
            owners += [(form, (name, "cue", form, -1, 0)) for form in lexicon.cues]
            owners += [(form, (name, "innocent", form, -1, 0)) for form in lexicon.innocent]
            for pattern in lexicon.patterns:
                index = len(self._patterns)
                self._patterns.append(pattern)
                for side, forms in enumerate((pattern.first, pattern.second)):
                    owners += [(f, (name, "part", pattern.written, index, side)) for f in forms]
        self._automaton = _automaton(owners)

    @property
    def term_count(self) -> int:
        """Forms matched as terms, and patterns (cues and innocent compounds not counted)."""
        return sum(len(lex.terms) + len(lex.patterns) for lex in self.lexicons.values())

    def find(self, text: str) -> list[TermHit]:
        if self._automaton is None:
            return []
        normal, origin = normalise_with_map(text)
        if not normal:
            return []
        found: dict[str, _Found] = {}
        for start, end, (list_name, role, term, pattern, side) in self._automaton.iter(normal):
            into = found.setdefault(list_name, _Found())
            if role == "innocent":
                into.innocent.append((start, end))
            elif role == "cue":
                into.cue = True
            elif role == "part":
                into.parts.setdefault((pattern, side), []).append((start, end))
            else:
                into.terms.append((start, end, term, _as_kind(role)))
        hits: list[tuple[int, int, str, str, Kind]] = []
        for list_name, into in found.items():
            hits += [(s, e, list_name, t, k) for s, e, t, k in self._hits(into)]
        return [
            TermHit(list_name, term, text, normal, (origin[start], origin[end - 1] + 1), kind)
            for start, end, list_name, term, kind in _longest(hits)[:MAX_HITS_PER_TEXT]
        ]

    def _hits(self, found: _Found) -> Iterator[tuple[int, int, str, Kind]]:
        plain = [t for t in found.terms if not found.innocent_at(t[0], t[1])]
        patterns = list(self._pattern_hits(found))
        confirmed = found.cue or any(k != "context" for *_, k in plain) or bool(patterns)
        # Two different ambiguous words of one list vouch for each other (北京赛车 and pk10).
        contexts = {t[2] for t in plain if t[3] == "context"}
        yield from (t for t in plain if t[3] != "context" or confirmed or len(contexts) > 1)
        yield from patterns

    def _pattern_hits(self, found: _Found) -> Iterator[tuple[int, int, str, Kind]]:
        for (index, side), firsts in found.parts.items():
            seconds = found.parts.get((index, 1))
            if side != 0 or not seconds:
                continue
            pattern = self._patterns[index]
            pair = _nearest(
                [p for p in firsts[:MAX_PART_OCCURRENCES] if not found.innocent_at(*p)],
                [p for p in seconds[:MAX_PART_OCCURRENCES] if not found.innocent_at(*p)],
                pattern.gap,
            )
            if pair is not None:
                yield pair[0], pair[1], pattern.written, pattern.kind


def _as_kind(role: str) -> Kind:
    return "review" if role == "review" else "context" if role == "context" else "block"


def _nearest(
    firsts: list[tuple[int, int]], seconds: list[tuple[int, int]], gap: int
) -> tuple[int, int] | None:
    """The earliest span holding one part of each side, apart by at most `gap`
    characters in either order, neither overlapping the other."""
    best: tuple[int, int] | None = None
    for a in firsts:
        for b in seconds:
            left, right = (a, b) if a[0] <= b[0] else (b, a)
            if 0 <= right[0] - left[1] <= gap:
                span = (left[0], max(left[1], right[1]))
                best = span if best is None or span < best else best
    return best


def _longest(
    hits: list[tuple[int, int, str, str, Kind]],
) -> list[tuple[int, int, str, str, Kind]]:
    """A hit inside a longer (or the same) hit of its list that weighs as much is one hit
    (赌场 in 线上赌场); then each term once per text, in reading order."""
    kept: list[tuple[int, int, str, str, Kind]] = []
    for hit in sorted(hits, key=lambda h: (h[0] - h[1], -_RANK[h[4]], h[0])):
        start, end, list_name, term, kind = hit
        if any(
            o[2] == list_name and o[0] <= start and end <= o[1] and _RANK[o[4]] >= _RANK[kind]
            for o in kept
        ) or any(o[2] == list_name and o[3] == term for o in kept):
            continue
        kept.append(hit)
    return sorted(kept, key=lambda h: (h[0], h[1], h[2]))


@dataclass(frozen=True, slots=True)
class _Automaton:
    """An automaton over normal forms; each match's value indexes `entries`: the key's
    length and every owner sharing that normal form."""

    automaton: ahocorasick.Automaton
    entries: list[tuple[int, list[_Owner]]]

    def iter(self, normal: str) -> Iterator[tuple[int, int, _Owner]]:
        """(start, end exclusive, owner) for every occurrence."""
        for end, index in self.automaton.iter(normal):
            length, owners = self.entries[index]
            for owner in owners:
                yield end - length + 1, end + 1, owner


def _automaton(entries: Iterable[tuple[str, _Owner]]) -> _Automaton | None:
    pairs = list(entries)
    automaton = ahocorasick.Automaton()
    index: dict[str, int] = {}
    table: list[tuple[int, list[_Owner]]] = []
    for (_form, owner), key in zip(pairs, normalise_many([f for f, _ in pairs]), strict=True):
        if not key:  # a term of nothing but punctuation would match everywhere
            continue
        at = index.get(key)
        if at is None:
            at = index[key] = len(table)
            table.append((len(key), [owner]))
            automaton.add_word(key, at)
        elif owner not in table[at][1]:
            _one_kind(table[at][1], owner, key)
            table[at][1].append(owner)
    if not table:
        return None
    automaton.make_automaton()
    return _Automaton(automaton, table)


def _one_kind(owners: list[_Owner], owner: _Owner, key: str) -> None:
    """A form written under two kinds of one list (or as a term and an innocent compound)
    is a mistake the list's reviewer must settle."""
    list_name, role, term, _, _ = owner
    if role in _UNCHECKED:
        return
    for other_list, other_role, other_term, _, _ in owners:
        if other_list == list_name and other_role not in (*_UNCHECKED, role):
            raise ConfigError(
                f"{list_name}: `{other_term}` [{other_role}] and `{term}` [{role}] are the "
                f"same term ({key})"
            )
