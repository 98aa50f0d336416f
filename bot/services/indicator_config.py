"""The indicator's configuration: which resources count in which family, and the targets."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import ROOT

DEFAULT_CONFIG = ROOT / "data" / "indicators.yml"


@dataclass(frozen=True)
class Target:
    per: str  # "month" or "year"
    years: tuple[int, ...]  # Y1, Y2, ...


@dataclass(frozen=True)
class Config:
    families: dict[str, tuple[str, ...]]
    targets: dict[str, Target]


@lru_cache(maxsize=8)
def load_config(path: str | Path = "") -> Config:
    """Read once per process: every event is counted under it."""
    data = yaml.safe_load(Path(path or DEFAULT_CONFIG).read_text(encoding="utf-8"))
    targets = {
        name: Target(spec["per"], tuple(int(v) for v in spec["years"]))
        for name, spec in (data.get("targets") or {}).items()
    }
    if any(t.per not in ("month", "year") for t in targets.values()):
        raise ValueError("a target's `per` must be month or year")
    families = {name: tuple(patterns) for name, patterns in data["families"].items()}
    return Config(families, targets)


def families_of(resource: str, config: Config) -> list[str]:
    """The families a resource counts in (`*` in a pattern matches any text)."""
    return [
        name
        for name, patterns in config.families.items()
        if any(fnmatchcase(resource, p) for p in patterns)
    ]


def config_key(config: Config, start: str) -> str:
    """What the counters depend on: the family mapping and the reporting year's first month."""
    body = json.dumps([sorted(config.families.items()), start])
    return hashlib.sha256(body.encode()).hexdigest()[:16]
