"""Resources: the warehouse (DuckDB), the landing zone and dbt, configured from the environment."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr

from orchestration import settings, warehouse
from orchestration.dbt_parse_state import DBT_EXECUTABLE
from orchestration.defs.dbt_project import LocalDbtCliResource, dbt_project


class LandingZone(dg.ConfigurableResource):
    """The raw dir files land in (raw-contract.md); ingestion reads nothing outside it."""

    raw_dir: str

    @property
    def path(self) -> Path:
        return Path(self.raw_dir).resolve()


class Warehouse(DuckDBResource):
    """The DuckDB warehouse, held by one run at a time.

    A run (whatever started it: the CLI, the UI, a schedule, the sensor, a backfill) creates the
    warehouse folder if it is missing and holds `<warehouse>.refresh.lock` from its first step to
    its last, the lock the CLI refresh takes: a run started while another process writes the
    warehouse waits for it instead of failing on DuckDB's file lock. Connections wait only for
    DuckDB's lock; a missing or unreadable file fails at once (dagster-duckdb's own resource
    retries every I/O error for ~100 s).
    """

    lock_timeout_seconds: float = Field(
        default=3600.0,
        description="How long a run waits for another refresh of the same warehouse to finish "
        "before it fails.",
    )
    _run_lock: ExitStack | None = PrivateAttr(default=None)

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        return False  # ours, not dagster-duckdb's (Dagster's usage statistics tell them apart)

    @property
    def path(self) -> Path:
        return Path(self.database).resolve()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        path = warehouse.prepare(self.path)
        stack = ExitStack()
        stack.enter_context(
            warehouse.hold(path, self.lock_timeout_seconds, on_wait=context.log.warning)
        )
        self._run_lock = stack

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_lock is not None:
            self._run_lock.close()
            self._run_lock = None

    @contextmanager
    def get_connection(self):
        # no configuration beyond the user's: the CLI and the quality step open the same file
        # in this process, and DuckDB refuses a second configuration of an open file
        con: duckdb.DuckDBPyConnection = warehouse.connect(self.path, dict(self.connection_config))
        try:
            yield con
        finally:  # also when the step fails: a connection left open would lock out dbt
            con.close()


def build_resources() -> dict:
    return {
        # One writer at a time: DuckDB locks the file; runs use the in-process executor and hold
        # the refresh lock (Warehouse), queued runs wait in Dagster's run queue (dagster.yaml).
        # DuckDB's memory limit and spill folder are set by statement where the work is heavy
        # (settings.configure_duckdb): one file opened with two configurations in one process
        # is an error.
        "warehouse": Warehouse(database=dg.EnvVar(settings.WAREHOUSE_ENV)),
        "landing_zone": LandingZone(raw_dir=dg.EnvVar(settings.RAW_DIR_ENV)),
        "dbt": LocalDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    }
