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


# DuckDB's memory limit and spill folder (issue 12): memory stays bounded at any input size, the
# excess spills to disk under the warehouse folder (DuckDB's default, <warehouse>.tmp beside the
# file, unless REFERRAL_INSIGHTS_DUCKDB_SPILL_DIR says otherwise). The limit defaults to a quarter
# of the machine's memory, at most 2.5 GiB, so that a refresh's process tree (Dagster + dbt) stays
# within ~4 GB at 3M referrals; it applies to ingestion and to dbt.
DUCKDB_MEMORY_LIMIT_ENV = "REFERRAL_INSIGHTS_DUCKDB_MEMORY_LIMIT"
DUCKDB_SPILL_DIR_ENV = "REFERRAL_INSIGHTS_DUCKDB_SPILL_DIR"


def duckdb_memory_limit() -> str:
    configured = os.environ.get(DUCKDB_MEMORY_LIMIT_ENV)
    if configured:
        return configured
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return f"{min(2560 * 2**20, total // 4) // 2**20}MB"


def configure_duckdb(con) -> None:
    """Apply the memory limit (and a configured spill folder) to a fresh DuckDB connection:
    instance-wide settings, set by statement so that every connection opens the file with the
    same configuration."""
    con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
    spill = os.environ.get(DUCKDB_SPILL_DIR_ENV)
    if spill:
        Path(spill).mkdir(parents=True, exist_ok=True)
        con.execute("set temp_directory = ?", [str(Path(spill).resolve())])
