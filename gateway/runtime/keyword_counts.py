"""What the keyword lists in force hold, for `vodgate policy coverage`: per list, the lines
written under each kind and the forms they expand to (blocking: reads every list)."""

from __future__ import annotations

from gateway.adapters.detectors.registry import KEYWORDS_FOLDER
from gateway.adapters.text.lexicon import parse_lexicon
from gateway.adapters.text.term_lists import load_lists
from gateway.runtime.settings import Settings


def keyword_counts(settings: Settings) -> dict[str, dict[str, int]]:
    lists = load_lists(settings.policies_dir / KEYWORDS_FOLDER)
    return {
        name: parse_lexicon(name, lst.terms, lst.allowed).counts() for name, lst in lists.items()
    }
