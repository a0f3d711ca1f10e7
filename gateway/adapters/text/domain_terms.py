"""Domain-name tokens: an unlisted domain whose name carries a listed token (bet365,
amcasino888, xpj8888-bet) is worth a reviewer's look though no domain list names it.

Lists are `policies/domain_terms/<list>.txt`, one token a line, `#` comments: `bet` matches a
whole token of a label (labels split into letter runs and digit runs: `xpj8888-bet` is xpj,
8888, bet), `*casino*` matches inside a letter run (`amcasino`). Tokens are ASCII letters and
digits, lower case; the public suffix (`.com.cn`) is never read."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.adapters.text.links import Link
from gateway.adapters.text.term_lists import list_files, read_terms
from gateway.domain.errors import ConfigError

_TOKEN = re.compile(r"^(\*?)([a-z0-9]{2,40})(\*?)$")
_RUNS = re.compile(r"[a-z]+|[0-9]+")
# Letters of a domain name read: a registrable domain is at most 253; subdomains add little.
MAX_NAME_CHARS = 253


@dataclass(frozen=True, slots=True)
class TokenList:
    name: str
    whole: frozenset[str]  # equal to a letter or digit run
    inside: tuple[str, ...]  # anywhere inside a letter run


@dataclass(frozen=True, slots=True)
class NameHit:
    list_name: str
    token: str  # as the list writes it
    link: Link


class DomainTerms:
    def __init__(self, lists: Mapping[str, TokenList], digest: str = "") -> None:
        self.lists = dict(lists)
        self.digest = digest  # changes with the files: part of the detector's state

    @classmethod
    def load(cls, folder: Path) -> DomainTerms:
        """Blocking (reads files): at start-up. A missing folder is no lists."""
        lists: dict[str, TokenList] = {}
        digest = hashlib.sha256()
        for name, path in list_files(folder).items():
            whole: set[str] = set()
            inside: list[str] = []
            for term in read_terms(path):
                match = _TOKEN.match(term.lower())
                if match is None or (match.group(1) != match.group(3)):
                    raise ConfigError(f"{path}: {term!r} is not a token or *token*")
                if match.group(1):
                    inside.append(match.group(2))
                else:
                    whole.add(match.group(2))
            lists[name] = TokenList(name, frozenset(whole), tuple(inside))
            digest.update(f"{name}:{sorted(whole)}:{inside}".encode())
        return cls(lists, digest.hexdigest()[:16])

    def check(self, link: Link) -> list[NameHit]:
        """The lists whose tokens the host's name carries (the labels left of the public
        suffix: a subdomain's name counts, `casino.example.com` as well as `x.casino.com`)."""
        suffix_len = len(link.domain) - len(link.domain.split(".", 1)[0])
        name = link.host[: len(link.host) - suffix_len][:MAX_NAME_CHARS]
        runs = _RUNS.findall(name)
        hits = []
        for lst in self.lists.values():
            token = next((r for r in runs if r in lst.whole), None)
            if token is None:
                token = next(
                    (f"*{t}*" for t in lst.inside for r in runs if r.isalpha() and t in r), None
                )
            if token is not None:
                hits.append(NameHit(lst.name, token, link))
        return hits
