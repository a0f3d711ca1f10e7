"""Every detector the configuration turns on, loaded and warmed, and the policy checked
against the labels they provide: a label no detector gives stops the gateway."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.adapters.detectors.declared_text import DeclaredTextDetector
from gateway.adapters.detectors.manifest import find_manifests, load_manifest
from gateway.adapters.detectors.ocr import LICENCE_LABEL, OcrDetector
from gateway.adapters.detectors.ocr_gate import OcrBudget
from gateway.adapters.detectors.onnx_classifier import OnnxClassifier
from gateway.adapters.detectors.qr_codes import QrCodeDetector
from gateway.adapters.detectors.subtitle_text import UNREAD_LABEL, SubtitleTextDetector
from gateway.adapters.detectors.text_signals import text_labels
from gateway.adapters.text.domain_terms import DomainTerms
from gateway.adapters.text.live_lists import LiveLists
from gateway.domain.banks import bank_labels
from gateway.domain.errors import ConfigError
from gateway.domain.policy import Policy
from gateway.domain.ports.detection import Detector
from gateway.domain.ports.media import SubtitleReader

logger = logging.getLogger(__name__)

KEYWORDS_FOLDER = "keywords"
# Label kinds OCR gives (VODGATE_OCR=false switches them off).
OCR_KINDS = ("ocr", "licence_number")
BANK_KINDS = ("bank", "rights")
DOMAINS_FOLDER = "domains"
DOMAIN_TERMS_FOLDER = "domain_terms"


@dataclass(frozen=True, slots=True)
class TextScreening:
    policies_dir: Path
    ocr: bool = True
    ocr_threads: int = 2
    budget: OcrBudget = field(default_factory=OcrBudget)


def load_classifiers(
    models_dir: Path, frame_size: int, max_threads: int = 0
) -> list[OnnxClassifier]:
    classifiers = []
    for path in find_manifests(models_dir):
        manifest, model_file = load_manifest(path)
        if manifest.enabled:
            classifier = OnnxClassifier(manifest, model_file, max_threads)
            classifier.warm_up(frame_size)
            classifiers.append(classifier)
    return classifiers


def available_labels(models_dir: Path, text: TextScreening) -> set[str]:
    """The labels a configuration would provide, without loading a model: for reports."""
    labels = {
        label
        for path in find_manifests(models_dir)
        for manifest, _ in (load_manifest(path),)
        if manifest.enabled
        for label in manifest.label_names()
    }
    lists = LiveLists(text.policies_dir / KEYWORDS_FOLDER, text.policies_dir / DOMAINS_FOLDER)
    for kind in ("subtitles", "metadata", *(("ocr",) if text.ocr else ())):
        labels.update(text_labels(lists.snapshot, kind, links=kind != "metadata"))
    labels.update(f"qr:{name}" for name in lists.domain_lists())
    labels.update(text_labels(lists.snapshot, "qr_text", links=False))
    terms = DomainTerms.load(text.policies_dir / DOMAIN_TERMS_FOLDER)
    labels.update(f"qr_domain:{name}" for name in terms.lists)
    labels.add(UNREAD_LABEL)
    if text.ocr:
        labels.add(LICENCE_LABEL)
    labels.update(bank_labels())  # the bank matcher runs wherever there is a database
    return labels


def load_text_detectors(text: TextScreening, subtitles: SubtitleReader) -> list[Detector]:
    lists = LiveLists(text.policies_dir / KEYWORDS_FOLDER, text.policies_dir / DOMAINS_FOLDER)
    detectors: list[Detector] = [
        SubtitleTextDetector(lists, subtitles),
        DeclaredTextDetector(lists),
        QrCodeDetector(lists, DomainTerms.load(text.policies_dir / DOMAIN_TERMS_FOLDER)),
    ]
    if text.ocr:
        ocr = OcrDetector(lists, threads=text.ocr_threads, budget=text.budget)
        ocr.warm_up()
        detectors.append(ocr)
    return detectors


def load_detectors(
    models_dir: Path,
    policy: Policy,
    frame_size: int,
    text: TextScreening | None,
    subtitles: SubtitleReader,
    others: Sequence[Detector] = (),
    *,
    banks: bool = True,
    max_threads: int = 0,
) -> list[Detector]:
    """Blocking (models load): at start-up, in a thread. `others`: detectors built
    elsewhere (the bank matcher, which reads the database), checked with the rest;
    `banks=False`: screening without a database (bank labels are switched off);
    `max_threads`: a cap on each model's threads (0: as its manifest says)."""
    detectors: list[Detector] = [
        *load_classifiers(models_dir, frame_size, max_threads),
        *others,
    ]
    switched_off: tuple[str, ...] = () if banks else BANK_KINDS
    if text is not None:
        detectors += load_text_detectors(text, subtitles)
        if not text.ocr:
            switched_off += OCR_KINDS
    check_policy_labels(policy, detectors, f"{models_dir} or the text lists", switched_off)
    return detectors


def check_policy_labels(
    policy: Policy, detectors: list[Detector], where: str, switched_off: tuple[str, ...] = ()
) -> None:
    """Every policy label some detector gives. Labels of a kind the operator switched off
    (OCR) are allowed and logged: their items fire from their other detectors only."""
    provided = {label for detector in detectors for label in detector.labels}
    missing = policy.labels() - provided
    off = {label for label in missing if label.split(":", 1)[0] in switched_off}
    if off:
        logger.warning("policy.labels_switched_off", extra={"labels": sorted(off)})
    missing -= off
    if missing:
        raise ConfigError(f"the policy names labels no enabled detector in {where} provides: "
                          f"{sorted(missing)}")  # fmt: skip
