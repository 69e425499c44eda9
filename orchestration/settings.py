"""Where things live. Paths come from the environment (the CLI flags set the same variables),
so the UI, the schedule, the sensor and the CLI all resolve them the same way."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

RAW_DIR_ENV = "REFERRAL_INSIGHTS_RAW_DIR"
WAREHOUSE_ENV = "REFERRAL_INSIGHTS_WAREHOUSE"
# the dbt target (profiles.yml output) the refresh builds with; profiles.yml reads it too
DBT_TARGET_ENV = "REFERRAL_INSIGHTS_DBT_TARGET"
DEFAULT_RAW_DIR = PROJECT_ROOT / "data" / "raw"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse" / "referral_insights.duckdb"


def raw_dir() -> Path:
    return Path(os.environ.get(RAW_DIR_ENV) or DEFAULT_RAW_DIR).resolve()


def warehouse_path() -> Path:
    """Absolute: dbt runs with the dbt project as working directory."""
    return Path(os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE).resolve()
