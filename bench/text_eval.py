"""Text-screening evaluation (issue 27): recall and false positives of on-screen text.

    python bench/text_eval.py [--set heldout|tuning] [--limit N] [--jobs 1] [--json]
                              [--cache DIR] [--only h001,h002] [--duration S] [--misses]
    python bench/text_eval.py --report saved.json [--misses]

Generates the set's clips (tests/text_eval/generate.py; cached in --cache, by default
~/.cache/vodgate/text-eval) and screens each with the screener the integration tests build
(tests/integration/test_text_screening.py::text_screener: the shipped keyword lists and
policy, the real PP-OCRv4 models, a sample every second) through Screener.screen, the public
entry point, so it measures whatever pipeline is in the tree.

A positive clip is a hit when its expected item of 3.1.10.3 is flagged (review or block)
with OCR evidence (a hit labelled ocr:*); a clean clip is a false positive when screening
flags it at all. Prints the confusion table per style, item, flash length, background, face,
resolution and theme, overall recall, recall on 1 s flashes, the clean-clip flag rate and the
seconds spent; --json prints all of it and every clip's outcome as JSON. Progress goes to
stderr. Exit status 1 when a clip could not be made or screened.

Use --set tuning to choose thresholds; the held-out set is for the reported figures only.
--limit N takes the first N clips of the set's seeded shuffled order (a fair sample);
--duration S makes every clip S seconds long (the smoke test); --jobs N screens N at once;
--report FILE prints the tables of a saved --json run again (nothing is screened).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.services.screener import Screener, decision_record  # noqa: E402
from tests.integration.test_text_screening import LICENCE, text_screener  # noqa: E402
from tests.text_eval.generate import (  # noqa: E402
    GENERATOR_VERSION,
    SEEDS,
    Clip,
    clips,
    default_cache,
    make,
)

FLAGGED = ("review", "block")
OCR_LOGGER = "gateway.adapters.detectors.ocr"


class OcrFrames(logging.Handler):
    """The OCR pass logs the frames it read and skipped (when it does: optional)."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, int] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "ocr.frames":
            self.last = {
                "read": getattr(record, "read", -1),
                "skipped": getattr(record, "skipped", -1),
            }


def judge(clip: Clip, record: Any) -> dict[str, Any]:
    """The clip's outcome from its DecisionRecord."""
    hits = [h for h in record.hits or () if h.verdict in FLAGGED]
    ocr = [h for h in hits if h.label.startswith("ocr:")]
    expected = [h for h in ocr if h.item == clip.expected]
    seen = sorted(f.timestamp_s for h in expected for f in h.frames)
    window = (clip.start_s - 0.5, clip.start_s + clip.flash_s + 0.5)
    return {
        "verdict": record.verdict,
        "flagged": record.verdict in FLAGGED,
        "hit": bool(expected) if clip.positive else None,
        # the expected item's OCR evidence lies within the flash (not elsewhere in the clip)
        "at_flash": any(window[0] <= t <= window[1] for t in seen) if clip.positive else None,
        "ocr_items": sorted({h.item for h in ocr}),
        "labels": sorted({f"{h.label}:{h.verdict}" for h in hits}),
        "terms": sorted({f.term or "" for h in ocr for f in h.frames}),
        "read": sorted({f.text or "" for h in ocr for f in h.frames}),
        "seen_s": seen[:5],
        "frames_sampled": (record.sampling.frames if record.sampling else None),
    }


async def evaluate(
    screener: Screener,
    selected: Sequence[Clip],
    cache: Path,
    jobs: int,
    progress: Callable[[str], None],
) -> list[dict[str, Any]]:
    ocr_frames = OcrFrames()
    logger = logging.getLogger(OCR_LOGGER)
    logger.addHandler(ocr_frames)
    logger.setLevel(logging.INFO)
    gate = asyncio.Semaphore(jobs)
    done = 0

    async def one(clip: Clip) -> dict[str, Any]:
        nonlocal done
        outcome: dict[str, Any] = {**clip.summary(), "error": None}
        async with gate:
            started = time.perf_counter()
            try:
                path, made = await asyncio.to_thread(make, clip, cache)
                outcome["generate_s"] = round(time.perf_counter() - started, 2)
                outcome["cached"] = not made
                started = time.perf_counter()
                ocr_frames.last = None
                result = await screener.screen(path, None, LICENCE)
                outcome["screen_s"] = round(time.perf_counter() - started, 2)
                outcome.update(judge(clip, decision_record(result)))
                outcome["ocr_frames"] = ocr_frames.last if jobs == 1 else None
            except Exception as exc:  # a clip that fails is reported, the rest go on
                outcome["error"] = f"{type(exc).__name__}: {exc}"
        done += 1
        progress(f"[{done:3d}/{len(selected)}] {line(outcome)}")
        return outcome

    try:
        return list(await asyncio.gather(*(one(c) for c in selected)))
    finally:
        logger.removeHandler(ocr_frames)


def line(o: dict[str, Any]) -> str:
    what = f"{o['expected'] or 'clean'}/{o['theme']}"
    head = (
        f"{o['name']} {o['style']:<9} {what:<30} {o['flash_s']}s@{o['start_s']:<5} "
        f"{o['background']:<8} {o['font']:<17} {o['resolution']}"
    )
    if o["error"]:
        return f"{head}: ERROR {o['error']}"
    cached = " (cached)" if o["cached"] else ""
    timing = f"gen {o['generate_s']:.1f}s{cached}, screen {o['screen_s']:.1f}s"
    if o.get("ocr_frames"):
        timing += f", OCR read {o['ocr_frames']['read']} skipped {o['ocr_frames']['skipped']}"
    if o["hit"] is None:
        verdict = f"FALSE FLAG {o['labels']}" if o["flagged"] else "clean pass"
    else:
        verdict = f"HIT {o['labels']}" if o["hit"] else f"miss ({o['verdict']} {o['labels']})"
    return f"{head}: {timing} -> {verdict}"


def table(outcomes: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """One row of figures per value of the clips' `key` (the row's "value")."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in outcomes:
        groups[str(o[key] if o[key] is not None else "clean")].append(o)
    return [{"value": name, **figures(groups[name])} for name in sorted(groups)]


def figures(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [o for o in outcomes if not o["error"]]
    pos = [o for o in ok if o["hit"] is not None]
    neg = [o for o in ok if o["hit"] is None]
    hits = sum(1 for o in pos if o["hit"])
    flagged = sum(1 for o in neg if o["flagged"])
    return {
        "positives": len(pos),
        "hits": hits,
        "misses": len(pos) - hits,
        "recall": round(hits / len(pos), 4) if pos else None,
        "clean": len(neg),
        "flagged": flagged,
        "flag_rate": round(flagged / len(neg), 4) if neg else None,
        "errors": len(outcomes) - len(ok),
    }


def report(outcomes: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    ok = [o for o in outcomes if not o["error"]]
    one_s = [o for o in ok if o["hit"] is not None and o["flash_s"] == 1.0]
    keys = ("style", "expected", "flash_s", "background", "font", "resolution", "theme")
    return {
        **meta,
        "overall": figures(outcomes),
        "recall_1s_flash": (
            round(sum(1 for o in one_s if o["hit"]) / len(one_s), 4) if one_s else None
        ),
        "hits_away_from_flash": sum(1 for o in ok if o["hit"] and not o["at_flash"]),
        "tables": {("item" if k == "expected" else k): table(outcomes, k) for k in keys},
        "seconds": {
            **meta["seconds"],
            "generate": round(sum(o.get("generate_s", 0) for o in outcomes), 1),
            "screen": round(sum(o.get("screen_s", 0) for o in ok), 1),
        },
        "clips": outcomes,
    }


def pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.1%}"


def render_text(r: dict[str, Any], misses: bool) -> str:
    o = r["overall"]
    out = [
        f"text eval: set {r['set']} (seed {r['seed']}, generator v{r['generator_version']}), "
        f"{o['positives'] + o['clean'] + o['errors']} clips: {o['positives']} positive, "
        f"{o['clean']} clean, {o['errors']} errors",
        f"screener: {r['screener']}",
    ]
    for name, rows in r["tables"].items():
        out.append("")
        out.append(
            f"{'by ' + name:<22}{'pos':>5}{'hit':>5}{'miss':>5}  {'recall':>6}"
            f"{'clean':>7}{'flag':>5}  {'rate':>6}"
        )
        for row in rows:
            out.append(
                f"  {row['value']:<20}{row['positives']:>5}{row['hits']:>5}{row['misses']:>5}  "
                f"{pct(row['recall'])}{row['clean']:>7}{row['flagged']:>5}  {pct(row['flag_rate'])}"
            )
    s = r["seconds"]
    out += [
        "",
        f"overall recall          {o['hits']}/{o['positives']} = {pct(o['recall']).strip()}",
        f"recall on 1 s flashes   {pct(r['recall_1s_flash']).strip()}",
        f"clean clips flagged     {o['flagged']}/{o['clean']} = {pct(o['flag_rate']).strip()}",
        f"hits away from the flash {r['hits_away_from_flash']}",
        f"seconds                 {s['total']:.0f} total: screener start-up {s['start_up']:.1f}, "
        f"clips made {s['generate']:.0f}, screening {s['screen']:.0f}",
    ]
    flagged = [c for c in r["clips"] if c["hit"] is None and c.get("flagged")]
    if flagged:
        out += ["", "clean clips flagged:"]
        out += [f"  {c['name']} {c['style']} {c['text']!r} -> {c['labels']}" for c in flagged]
    errors = [c for c in r["clips"] if c["error"]]
    if errors:
        out += ["", "errors:"] + [f"  {c['name']}: {c['error']}" for c in errors]
    if misses:
        missed = [c for c in r["clips"] if c["hit"] is False]
        out += ["", "positive clips missed:"]
        out += [
            f"  {c['name']} {c['style']} {c['flash_s']}s@{c['start_s']} {c['background']} "
            f"{c['font']} {c['resolution']} {c['text']!r} -> {c['verdict']} {c['labels']}"
            for c in missed
        ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=sorted(SEEDS), default="heldout")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--only", default=None, help="comma-separated clip names")
    parser.add_argument("--duration", type=float, default=None, help="every clip this long")
    parser.add_argument("--misses", action="store_true", help="list the positives missed")
    parser.add_argument(
        "--report", type=Path, default=None, help="print the tables of a saved --json run"
    )
    args = parser.parse_args(argv)
    if args.report:
        print(render_text(json.loads(args.report.read_text(encoding="utf-8")), args.misses))
        return 0
    started = time.perf_counter()
    selected = clips(args.set, duration_s=args.duration)
    if args.only:
        names = set(args.only.split(","))
        selected = [c for c in selected if c.name in names]
    if args.limit is not None:
        selected = selected[: args.limit]

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    progress(f"text eval: {len(selected)} clips of set {args.set}, cache {args.cache}")
    screener = text_screener()
    start_up = time.perf_counter() - started
    outcomes = asyncio.run(evaluate(screener, selected, args.cache, max(1, args.jobs), progress))
    meta = {
        "set": args.set,
        "seed": SEEDS[args.set],
        "generator_version": GENERATOR_VERSION,
        "screener": "tests.integration.test_text_screening.text_screener",
        "duration_override_s": args.duration,
        "jobs": args.jobs,
        "seconds": {
            "start_up": round(start_up, 1),
            "total": round(time.perf_counter() - started, 1),
        },
    }
    result = report(outcomes, meta)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(render_text(result, args.misses))
    return 1 if result["overall"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
