"""Load policy files (`policies/*.yaml`) into frozen models; a bad file is a ConfigError."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from gateway.domain.errors import ConfigError
from gateway.domain.licences import LicenceRules
from gateway.domain.policy import Policy

LICENCE_RULES_FILE = "licences.yaml"


def load_licence_rules(policies_dir: Path) -> LicenceRules:
    path = policies_dir / LICENCE_RULES_FILE
    try:
        return LicenceRules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


PROHIBITED_CONTENT_FILE = "prohibited-content.yaml"


def load_content_policy(path: Path) -> Policy:
    try:
        return Policy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
