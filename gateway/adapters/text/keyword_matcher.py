"""Aho-Corasick over every keyword list at once (pyahocorasick): one pass over a text finds
each list's terms, in normal form on both sides, minus the list's known false friends."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import ahocorasick

from gateway.adapters.text.normalise import normalise_many, normalise_with_map
from gateway.adapters.text.term_lists import TermList

# Hits reported per text: a line that is nothing but terms must not flood the decision.
MAX_HITS_PER_TEXT = 20


@dataclass(frozen=True, slots=True)
class TermHit:
    list_name: str
    term: str  # as the list writes it
    text: str  # the original text it was found in
    normalised: str  # that text in normal form
    span: tuple[int, int]  # where the term sits in `text` (start, end)


class KeywordMatcher:
    def __init__(self, lists: Mapping[str, TermList]) -> None:
        self.lists = dict(lists)
        self._terms = _automaton((name, term) for name, lst in lists.items() for term in lst.terms)
        self._allowed = _automaton(
            (name, term) for name, lst in lists.items() for term in lst.allowed
        )

    @property
    def term_count(self) -> int:
        return sum(len(lst.terms) for lst in self.lists.values())

    def find(self, text: str) -> list[TermHit]:
        if self._terms is None:
            return []
        normal, origin = normalise_with_map(text)
        if not normal:
            return []
        allowed = _spans(self._allowed, normal)
        hits: list[TermHit] = []
        seen: set[tuple[str, str]] = set()
        for end, list_name, term, length in self._terms.iter(normal):
            start = end - length + 1
            if (list_name, term) in seen or any(
                a <= start and end < b for a, b in allowed.get(list_name, ())
            ):
                continue
            seen.add((list_name, term))
            span = (origin[start], origin[end] + 1)
            hits.append(TermHit(list_name, term, text, normal, span))
        return _longest(hits)[:MAX_HITS_PER_TEXT]


def _longest(hits: list[TermHit]) -> list[TermHit]:
    """A term inside a longer term of the same list (赌场 in 线上赌场) is one hit."""
    return [
        hit
        for hit in hits
        if not any(
            other is not hit
            and other.list_name == hit.list_name
            and other.span[0] <= hit.span[0]
            and hit.span[1] <= other.span[1]
            and other.span != hit.span
            for other in hits
        )
    ]


@dataclass(frozen=True, slots=True)
class _Terms:
    """An automaton over normal forms; each match's value indexes `entries`: the key's
    length and every (list, term) sharing that normal form."""

    automaton: ahocorasick.Automaton
    entries: list[tuple[int, list[tuple[str, str]]]]

    def iter(self, normal: str) -> Iterator[tuple[int, str, str, int]]:
        """(end, list, term, length) for every occurrence."""
        for end, index in self.automaton.iter(normal):
            length, owners = self.entries[index]
            for list_name, term in owners:
                yield end, list_name, term, length


def _automaton(entries: Iterable[tuple[str, str]]) -> _Terms | None:
    pairs = list(entries)
    automaton = ahocorasick.Automaton()
    index: dict[str, int] = {}
    table: list[tuple[int, list[tuple[str, str]]]] = []
    for (list_name, term), key in zip(pairs, normalise_many([t for _, t in pairs]), strict=True):
        if not key:  # a term of nothing but punctuation would match everywhere
            continue
        at = index.get(key)
        if at is None:
            at = index[key] = len(table)
            table.append((len(key), []))
            automaton.add_word(key, at)
        table[at][1].append((list_name, term))
    if not table:
        return None
    automaton.make_automaton()
    return _Terms(automaton, table)


def _spans(terms: _Terms | None, normal: str) -> dict[str, list[tuple[int, int]]]:
    spans: dict[str, list[tuple[int, int]]] = {}
    if terms is None:
        return spans
    for end, list_name, _term, length in terms.iter(normal):
        spans.setdefault(list_name, []).append((end - length + 1, end + 1))
    return spans
