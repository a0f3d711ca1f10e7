"""Model manifests (`models/*/manifest.yaml`): which file, how to feed it, what it says.

An operator adds a model by adding a manifest; no code. Checked at start-up (sha256, input
and output names and shapes); any mismatch is a ConfigError and the gateway does not listen.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.domain.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelSource(_Frozen):
    file: str | None = None  # relative to the manifest's folder
    package: str | None = None  # an installed package that ships the model file...
    resource: str | None = None  # ...and the file's name inside it

    @model_validator(mode="after")
    def _one_source(self) -> ModelSource:
        if (self.file is None) == (self.package is None or self.resource is None):
            raise ValueError("name either `file` or both `package` and `resource`")
        return self


class ModelInput(_Frozen):
    name: str
    height: int = Field(gt=0)
    width: int = Field(gt=0)
    layout: Literal["NHWC", "NCHW"]
    colour_order: Literal["RGB", "BGR"]
    # Frames arrive square at the sampler's size; they are centre-cropped to height x width.
    scale: float = 1.0  # multiply 0..255 pixels by this first (1/255 for 0..1 models)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # per channel, in colour_order
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)


class ModelOutput(_Frozen):
    name: str
    labels: tuple[str, ...]  # one score per label, already probabilities (softmax/sigmoid)


class ModelManifest(_Frozen):
    name: str = Field(pattern=r"^[a-z0-9_.-]+$")
    version: str
    enabled: bool = True
    source: ModelSource
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    input: ModelInput
    output: ModelOutput
    batch_size: int = Field(default=8, ge=1, le=256)
    threads: int = Field(default=2, ge=1, le=64)
    provenance: str
    licence: str

    def label_names(self) -> list[str]:
        return [f"{self.name}:{label}" for label in self.output.labels]


def load_manifest(path: Path) -> tuple[ModelManifest, Path]:
    """The manifest and the resolved model file, whose sha256 has been checked."""
    try:
        manifest = ModelManifest.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    model_file = _resolve(manifest.source, path.parent)
    digest = hashlib.sha256()
    try:
        with model_file.open("rb") as file:
            for block in iter(lambda: file.read(1024 * 1024), b""):
                digest.update(block)
    except OSError as exc:
        raise ConfigError(f"{path}: model file {model_file}: {exc}") from exc
    if digest.hexdigest() != manifest.sha256:
        raise ConfigError(
            f"{path}: {model_file} has sha256 {digest.hexdigest()}, manifest says {manifest.sha256}"
        )
    return manifest, model_file


def _resolve(source: ModelSource, folder: Path) -> Path:
    if source.file is not None:
        return (folder / source.file).resolve()
    package, resource = source.package or "", source.resource or ""  # validated: both set
    try:
        return Path(str(importlib.resources.files(package).joinpath(resource)))
    except ModuleNotFoundError as exc:
        raise ConfigError(f"package {source.package!r} is not installed") from exc


def find_manifests(models_dir: Path) -> list[Path]:
    return sorted(models_dir.glob("*/manifest.yaml"))
