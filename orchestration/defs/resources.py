"""Resources: the warehouse (DuckDB), the landing zone and dbt, configured from the environment."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import settings
from orchestration.defs.dbt_project import DBT_EXECUTABLE, LocalDbtCliResource, dbt_project


class LandingZone(dg.ConfigurableResource):
    """The raw dir files land in (raw-contract.md); ingestion reads nothing outside it."""

    raw_dir: str

    @property
    def path(self) -> Path:
        return Path(self.raw_dir).resolve()


def build_resources() -> dict:
    warehouse = dg.EnvVar(settings.WAREHOUSE_ENV)
    return {
        # One writer at a time: DuckDB locks the file; runs use the in-process executor.
        # Memory limit and spill folder are set per connection where the work is heavy
        # (settings.configure_duckdb): the same file opened with two configurations in one
        # process is an error.
        "warehouse": DuckDBResource(database=warehouse),
        "landing_zone": LandingZone(raw_dir=dg.EnvVar(settings.RAW_DIR_ENV)),
        "dbt": LocalDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    }
