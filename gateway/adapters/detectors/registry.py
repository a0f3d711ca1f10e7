"""Load every enabled model manifest and check the policy against what they provide."""

from __future__ import annotations

from pathlib import Path

from gateway.adapters.detectors.manifest import find_manifests, load_manifest
from gateway.adapters.detectors.onnx_classifier import OnnxClassifier
from gateway.domain.errors import ConfigError
from gateway.domain.policy import Policy


def load_classifiers(models_dir: Path, policy: Policy, frame_size: int) -> list[OnnxClassifier]:
    classifiers = []
    for path in find_manifests(models_dir):
        manifest, model_file = load_manifest(path)
        if manifest.enabled:
            classifier = OnnxClassifier(manifest, model_file)
            classifier.warm_up(frame_size)
            classifiers.append(classifier)
    provided = {label for c in classifiers for label in c.labels}
    missing = policy.labels() - provided
    if missing:
        raise ConfigError(
            f"the policy names labels no enabled model in {models_dir} provides: {sorted(missing)}"
        )
    return classifiers
