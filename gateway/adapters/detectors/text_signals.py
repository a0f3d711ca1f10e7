"""Text read anywhere (a frame, a subtitle cue, a declared title, a QR code) judged the same
way: list terms become `<source>:<list>` signals, links to listed domains `link:<list>`.
A `review` term's signal can send to review but never block (Signal.review_only)."""

from __future__ import annotations

from gateway.adapters.text.links import find_links
from gateway.adapters.text.live_lists import ListSnapshot
from gateway.domain.policy import Signal


def text_signals(
    lists: ListSnapshot,
    text: str,
    *,
    detector: str,
    kind: str,
    timestamp_s: float,
    score: float = 1.0,
    box: tuple[int, int, int, int] | None = None,
    end_s: float | None = None,
    source: str | None = None,
    links: bool = True,
) -> list[Signal]:
    """`kind` names the labels (`ocr:gambling`); `source` where the text was (default the
    kind; a declared field's name for metadata)."""
    source = source or kind
    signals = [
        Signal(
            detector,
            f"{kind}:{hit.list_name}",
            timestamp_s,
            score,
            text=text,
            box=box,
            term=hit.term,
            normalised=hit.normalised,
            span=hit.span,
            end_s=end_s,
            source=source,
            review_only=hit.kind == "review",
        )
        for hit in lists.keywords.find(text)
    ]
    for link in find_links(text) if links else ():
        signals.extend(
            Signal(
                detector,
                f"link:{hit.list_name}",
                timestamp_s,
                score,
                text=text,
                box=box,
                term=hit.entry,
                normalised=link.host,
                end_s=end_s,
                source=source,
            )
            for hit in lists.domains.check(link)
        )
    return signals


def text_labels(lists: ListSnapshot, kind: str, links: bool = True) -> list[str]:
    labels = [f"{kind}:{name}" for name in lists.keywords.lists]
    if links:
        labels += [f"link:{name}" for name in lists.domains.lists]
    return labels
