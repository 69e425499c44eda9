"""The dashboard widgets as dbt exposures, read from their YAML (no dbt parse needed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestration.quality.widgets import MARTS_YML

EXPOSURES_YML = MARTS_YML.parent / "_referrals_overview__exposures.yml"
_REF = re.compile(r"""^ref\(\s*['"](\w+)['"]\s*\)$""")


@dataclass(frozen=True)
class Exposure:
    name: str
    label: str
    marts: tuple[str, ...]
    """`depends_on`, in the file's order: the first is the widget's own mart."""


def read_exposures(path: Path = EXPOSURES_YML) -> tuple[Exposure, ...]:
    exposures = []
    for e in yaml.safe_load(path.read_text())["exposures"]:
        marts = tuple(_REF.match(ref.strip()).group(1) for ref in e["depends_on"])
        exposures.append(Exposure(e["name"], e["label"], marts))
    return tuple(exposures)
