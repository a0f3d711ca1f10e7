"""Links in text (OCR, subtitles, QR payloads): the hosts they name, reduced to registrable
domains (the Public Suffix List that ships with `publicsuffixlist`; nothing fetched), and
checked against domain lists (`policies/domains/<list>.txt`, one domain a line)."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from gateway.adapters.text.normalise import skeleton
from gateway.adapters.text.term_lists import TermList

# A host with at least one dot and a final label of letters, with or without a scheme;
# Chinese text writes the dot as 。 now and then.
_HOST = re.compile(
    r"((?:https?|ftp)://)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62})"
    r"(?![a-z0-9-])"
)
MAX_LINKS_PER_TEXT = 20


@dataclass(frozen=True, slots=True)
class Link:
    host: str
    domain: str  # registrable: the part a registrant owns (bet365.com.cn)
    span: tuple[int, int]  # where the host sits in the folded text


@dataclass(frozen=True, slots=True)
class DomainHit:
    list_name: str
    entry: str  # the list's entry that matched (the domain or a parent of it)
    link: Link


@functools.cache
def _suffixes() -> PublicSuffixList:
    # Unknown top-level labels are not domains here: OCR reads "file.mp4" and "v1.2" too.
    return PublicSuffixList(accept_unknown=False)


def find_links(text: str) -> list[Link]:
    # Invisible characters and look-alike letters would split or disguise a host
    # (`bеt365.com` with a Cyrillic е).
    folded = skeleton(text).replace("。", ".")
    links = []
    for match in _HOST.finditer(folded):
        host = match.group(2)
        # Behind a scheme a name is a link whatever its suffix (http://xpj8888-bet.top/,
        # a suffix newer than the shipped list); without one, `file.mp4` is not.
        domain = registrable_domain(host, any_suffix=match.group(1) is not None)
        if domain is not None:
            links.append(Link(host, domain, match.span(2)))
            if len(links) >= MAX_LINKS_PER_TEXT:
                break
    return links


def registrable_domain(host: str, *, any_suffix: bool = False) -> str | None:
    """None for a host that is not a name under a public suffix (an IP, `localhost`, `com`);
    with any_suffix, a last label the list does not know counts as a suffix."""
    host = host.strip(".").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    domain = _suffixes().privatesuffix(host, accept_unknown=any_suffix)
    return str(domain) if domain else None


class DomainLists:
    def __init__(self, lists: Mapping[str, TermList]) -> None:
        self.lists = dict(lists)
        self._entries: dict[str, list[str]] = {}
        for name, lst in lists.items():
            for entry in lst.terms:
                self._entries.setdefault(entry.strip(".").lower(), []).append(name)

    def check(self, link: Link) -> list[DomainHit]:
        """Lists naming the host or any parent of it down to the registrable domain."""
        labels = link.host.split(".")
        candidates = [
            ".".join(labels[i:])
            for i in range(len(labels))
            if len(".".join(labels[i:])) >= len(link.domain)
        ]
        return [
            DomainHit(name, candidate, link)
            for candidate in candidates
            for name in self._entries.get(candidate, ())
        ]
